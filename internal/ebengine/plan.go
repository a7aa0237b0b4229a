package ebengine

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/ebproject"
	"github.com/elbow-lb/elbow/internal/instanceproxy"
)

// ProxyPort is where Beanstalk's nginx listens on each instance, and so the
// default process's port: "The default process is a listener on port 80 of
// the reverse proxy" (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/environments-cfg-alb.html).
const ProxyPort = 80

// unprivilegedProxyPort is nginx's port where elbow may not bind port 80.
const unprivilegedProxyPort = 10080

// Plan is a project made ready to run: the engine's spec, the config's
// instance port set to it, and what elbow says about it at start.
type Plan struct {
	Spec Spec
	// Application is config.yml's application_name, "" without one.
	Application string
	// Notices are events for the start ("WARN: ..."): what elbow does not
	// apply, files Beanstalk would ignore, nginx missing, port changes.
	Notices []Event
}

// NewPlan makes the spec of project p for config c (the result of
// p.Apply), and sets c's instance port to the instances' proxy (or the
// app's own port without one).
func NewPlan(p *ebproject.Project, c *config.Config, logDir, runDir string) (Plan, error) {
	appPort, _ := p.AppPort()
	s := Spec{
		ProjectDir: p.Dir, RunDir: runDir, LogDir: logDir, Platform: p.Platform,
		Network: c.Instances.Network, Processes: p.Processes, HasProcfile: p.HasProcfile,
		Build: p.Build, Commands: p.ContainerCommands, Files: p.Files, Hooks: p.Hooks,
		AppPort: appPort, Proxy: "nginx", NginxConf: p.NginxConf, NginxConfD: p.NginxConfD,
	}
	var plan Plan
	note := func(sev, format string, a ...any) {
		plan.Notices = append(plan.Notices, Event{Severity: sev, Message: fmt.Sprintf(format, a...)})
	}
	for _, w := range p.Warnings {
		note("WARN", "%s (Beanstalk ignores the whole file, and so does elbow)", w)
	}
	for _, n := range p.NotApplied {
		note("WARN", "Not applied: %s (%s): %s", n.What, n.Source, n.Reason)
	}
	if p.Platform == "" {
		return plan, errors.New("elbow cannot tell the project's platform: name it in .elasticbeanstalk/config.yml (default_platform: \"Python 3.11 running on 64bit Amazon Linux 2023\", \"Node.js 20 ...\" or \"Go 1 ...\"), or add requirements.txt, package.json or application.go")
	}
	if _, ok := p.Web(); !ok {
		return plan, errors.New("the project has no web process: add a Procfile with a web: line")
	}
	if v, ok := p.Setting("aws:elasticbeanstalk:environment:proxy", "ProxyServer"); ok && v.Value == "none" {
		s.Proxy = "none"
	}
	static := map[string]string{}
	for _, st := range p.Settings {
		if st.Namespace == "aws:elasticbeanstalk:environment:proxy:staticfiles" {
			static[st.Option] = st.Value
		}
	}
	if len(static) > 0 {
		s.StaticFiles = static
	}
	if s.Proxy == "nginx" {
		if _, ok := instanceproxy.Available(); !ok {
			s.Proxy = "none"
			note("WARN", "nginx is not installed (apt-get install nginx): each instance's web process is reached directly on port %d, not through Beanstalk's nginx, so the health checker's requests reach the app with their Host port and no nginx access log is kept", appPort)
		}
	}
	s.InstancePort = appPort
	if s.Proxy == "nginx" {
		s.InstancePort = ProxyPort
		if c.Instances.Network != "vpc" && !canBind(ProxyPort) {
			s.InstancePort = unprivilegedProxyPort
			note("INFO", "elbow cannot bind port %d here (not root, or taken on this machine's loopback): each instance's nginx listens on port %d instead, and the health checks go there", ProxyPort, unprivilegedProxyPort)
		}
	}
	c.Instances.Port = s.InstancePort
	for i := range c.TargetGroups {
		if c.TargetGroups[i].Name == c.Instances.TargetGroup {
			c.TargetGroups[i].Port = s.InstancePort
		}
	}
	if s.RunDir == "" {
		s.RunDir = filepath.Join(p.Dir, ".elbow", "eb")
	}
	plan.Spec = s
	if p.EB != nil {
		plan.Application = p.EB.ApplicationName
	}
	return plan, nil
}

// canBind tells whether port can be bound on the loopback addresses
// instances use.
func canBind(port int) bool {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.2:%d", port))
	if err != nil {
		return !errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EADDRINUSE) && !strings.Contains(err.Error(), "permission denied")
	}
	ln.Close()
	return true
}
