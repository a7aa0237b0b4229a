package ebengine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/instanceproxy"
	"github.com/elbow-lb/elbow/internal/vpc"
)

// Instance is the instance the engine deploys on.
type Instance struct {
	ID string
	IP netip.Addr
	// Leader runs the leader_only container commands; Beanstalk picks one
	// instance per deployment.
	Leader bool
}

// errDeployFailed ends a deployment whose step failed; the event and the
// log already say why.
var errDeployFailed = errors.New("instance deployment failed")

type engine struct {
	spec    Spec
	inst    Instance
	log     *engineLog
	logDir  string // LogDir/<id>
	stage   string // RunDir/<id>/staging
	current string // RunDir/<id>/current
	env     []string
	now     func() time.Time
}

// Run deploys the project on inst and then keeps its processes running
// until ctx ends. A failed step ends the deployment with Beanstalk's
// events; Run then waits for ctx without starting anything, as a failed
// instance stays up on Beanstalk, failing its health checks.
func Run(ctx context.Context, spec Spec, inst Instance, stdout io.Writer) error {
	e := &engine{
		spec: spec, inst: inst, now: time.Now,
		logDir:  filepath.Join(spec.LogDir, inst.ID),
		stage:   filepath.Join(spec.RunDir, inst.ID, "staging"),
		current: filepath.Join(spec.RunDir, inst.ID, "current"),
	}
	if err := os.MkdirAll(e.logDir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(e.logDir, "eb-engine.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	e.log = &engineLog{file: f, stdout: stdout, now: e.now}
	e.log.info("Starting EBPlatform-PlatformEngine on instance %s (%s)", inst.ID, inst.IP)
	if err := e.deploy(ctx); err != nil {
		if !errors.Is(err, errDeployFailed) {
			e.log.errorf("%v", err)
			e.log.event("ERROR", "Instance deployment failed. For details, see 'eb-engine.log'.")
		}
		<-ctx.Done()
		return nil
	}
	<-ctx.Done()
	e.log.info("Stopping the instance's processes")
	return nil
}

func (e *engine) deploy(ctx context.Context) error {
	e.env = e.baseEnv()
	e.log.info("Executing instruction: StageApplication")
	if err := os.RemoveAll(e.stage); err != nil {
		return err
	}
	if err := copyTree(e.spec.ProjectDir, e.stage); err != nil {
		return fmt.Errorf("staging the application: %w", err)
	}
	e.log.info("Executing instruction: RunAppDeployPreBuildHooks")
	if err := e.hooks("prebuild", e.stage); err != nil {
		return err
	}
	if err := e.writeFiles(); err != nil {
		return err
	}
	if len(e.spec.Build) > 0 {
		e.log.info("Executing instruction: RunBuildfile")
		for _, b := range e.spec.Build {
			if err := e.step("Buildfile "+b.Name, []string{"/bin/sh", "-c", b.Command}, e.stage, e.env); err != nil {
				return err
			}
		}
	}
	e.log.info("Executing instruction: PostBuildEbExtension")
	if err := e.containerCommands(); err != nil {
		return err
	}
	e.log.info("Executing instruction: RunAppDeployPreDeployHooks")
	if err := e.hooks("predeploy", e.stage); err != nil {
		return err
	}
	if err := os.RemoveAll(e.current); err != nil {
		return err
	}
	if err := os.Rename(e.stage, e.current); err != nil {
		return fmt.Errorf("flipping the staged application to current: %w", err)
	}
	e.log.info("Executing instruction: StartAppServer")
	appAddr, err := e.startProcesses(ctx)
	if err != nil {
		return err
	}
	if e.spec.Proxy == "nginx" {
		e.log.info("Executing instruction: start proxy with new configuration")
		if err := e.startNginx(ctx, appAddr); err != nil {
			return err
		}
	}
	e.log.info("Executing instruction: RunAppDeployPostDeployHooks")
	if err := e.hooks("postdeploy", e.current); err != nil {
		return err
	}
	if e.spec.HasProcfile {
		e.log.event("INFO", "Instance deployment used the commands in your 'Procfile' to initiate startup of your application.")
	}
	e.log.event("INFO", "Instance deployment completed successfully.")
	return nil
}

// baseEnv is what hooks, commands and processes get: the instance's
// environment (environment properties, HOST, the metadata endpoint in
// loopback mode) with PORT the app's port, as Beanstalk gives hooks
// "all environment properties plus HOME, PATH, PORT".
func (e *engine) baseEnv() []string {
	return setEnv(os.Environ(), "PORT", strconv.Itoa(e.spec.AppPort))
}

// step runs one build step and turns a failure into Beanstalk's events.
func (e *engine) step(what string, argv []string, dir string, env []string) error {
	e.log.info("Running %s: %s", what, strings.Join(argv, " "))
	code, last, err := e.runStep(argv, dir, env)
	if err == nil && code == 0 {
		return nil
	}
	if err != nil {
		e.log.errorf("%s could not run: %v", what, err)
	} else {
		e.log.errorf("%s failed with exit status %d: %s", what, code, last)
	}
	e.log.event("ERROR", "Instance deployment failed. For details, see 'eb-engine.log'.")
	e.log.event("ERROR", fmt.Sprintf("[Instance: %s] Command failed on instance. Return code: %d Output: %s.", e.inst.ID, code, orDefault(last, "Engine execution has encountered an error.")))
	return errDeployFailed
}

func (e *engine) hooks(stage, dir string) error {
	for _, h := range e.spec.Hooks[stage] {
		path := filepath.Join(dir, filepath.FromSlash(h))
		if st, err := os.Stat(path); err != nil || st.Mode()&0o111 == 0 {
			e.log.errorf("hook %s is not executable: chmod +x it (Beanstalk runs hooks as programs)", h)
			e.log.event("ERROR", "Instance deployment failed. For details, see 'eb-engine.log'.")
			return errDeployFailed
		}
		if err := e.step("hook "+h, []string{path}, dir, e.env); err != nil {
			return err
		}
	}
	return nil
}

// writeFiles writes the .ebextensions files that are inside the app.
func (e *engine) writeFiles() error {
	for _, f := range e.spec.Files {
		if f.AppPath == "" || f.Content == "" {
			continue
		}
		path := filepath.Join(e.stage, filepath.FromSlash(f.AppPath))
		mode := os.FileMode(0o644)
		if m, err := strconv.ParseUint(f.Mode, 8, 32); err == nil && f.Mode != "" {
			mode = os.FileMode(m) & 0o777
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(f.Content), mode); err != nil {
			return fmt.Errorf("files %s: %w", f.Path, err)
		}
		e.log.info("Wrote file %s (files, %s)", f.AppPath, f.Source)
	}
	return nil
}

// containerCommands runs them in the staging folder, in order;
// leader_only ones on the leader only
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/customize-containers-ec2.html#linux-container-commands).
func (e *engine) containerCommands() error {
	for _, c := range e.spec.Commands {
		if c.LeaderOnly && !e.inst.Leader {
			e.log.info("Skipping container command %s: leader_only, and this instance is not the leader", c.Name)
			continue
		}
		dir := e.stage
		if c.Cwd != "" {
			dir = filepath.Join(e.stage, c.Cwd)
		}
		env := e.env
		for k, v := range c.Env {
			env = setEnv(env, k, v)
		}
		if c.Test != "" {
			if code, _, err := e.runStep([]string{"/bin/sh", "-c", c.Test}, dir, env); err != nil || code != 0 {
				e.log.info("Skipping container command %s: its test returned %d", c.Name, code)
				continue
			}
		}
		argv := c.Argv
		if len(argv) == 0 {
			argv = []string{"/bin/sh", "-c", c.Command}
		}
		err := e.step("container command "+c.Name+" in "+c.Source.File, argv, dir, env)
		if err != nil && c.IgnoreErrors {
			e.log.info("container command %s failed; ignoreErrors is true, so the deployment goes on", c.Name)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// startProcesses starts every Procfile process in the current folder and
// returns where the web process listens.
func (e *engine) startProcesses(ctx context.Context) (string, error) {
	appHost, appPort := "127.0.0.1", e.spec.AppPort
	if e.spec.Proxy != "nginx" {
		appPort = e.spec.InstancePort
	}
	hostname := vpc.Hostname(e.inst.IP)
	for _, p := range e.spec.Processes {
		cmd, env := p.Command, e.env
		if p.Name == "web" {
			cmd, appHost, appPort = e.placeWeb(cmd, appHost, appPort)
			env = setEnv(env, "PORT", strconv.Itoa(appPort))
		}
		f, err := os.OpenFile(filepath.Join(e.logDir, p.Name+".stdout.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return "", err
		}
		out := &processLog{file: f, hostname: hostname, name: p.Name, now: e.now}
		e.log.info("Starting process %s: %s", p.Name, cmd)
		go func() {
			defer f.Close()
			e.supervise(ctx, p.Name, []string{"/bin/sh", "-c", cmd}, e.current, env, out)
		}()
	}
	return net.JoinHostPort(appHost, strconv.Itoa(appPort)), nil
}

// placeWeb gives the web process its own address in loopback mode (see
// the package doc) and says what it changed.
func (e *engine) placeWeb(cmd, host string, port int) (string, string, int) {
	if e.spec.Network != "loopback" {
		return cmd, host, port
	}
	ip := e.inst.IP.String()
	if out, named, ok := rebind(cmd, ip); ok {
		if named != 0 {
			port = named
		}
		e.log.event("INFO", fmt.Sprintf("elbow (loopback network) binds the web process of %s to %s instead of the address in its command, so that instances sharing this machine's 127.0.0.1 do not collide: %q became %q.", e.inst.ID, ip, cmd, out))
		return out, ip, port
	}
	// The app reads PORT and may listen on every address: instance N gets
	// PORT+N-1, or a free port when that one is taken (elbow's own
	// listener is on 127.0.0.1:8080, Node.js's default PORT).
	want := port
	v4 := e.inst.IP.As4()
	if index := int(v4[3]) - 1; index > 1 {
		port += index - 1
	}
	if !portFree(port) {
		port = freePort()
	}
	if port != want {
		e.log.event("INFO", fmt.Sprintf("elbow (loopback network) gives the web process of %s PORT=%d instead of %d, so that it collides neither with the other instances sharing this machine's 127.0.0.1 nor with elbow's listeners; the instance's nginx proxies to it.", e.inst.ID, port, want))
	}
	return cmd, host, port
}

func (e *engine) startNginx(ctx context.Context, appAddr string) error {
	cfg := instanceproxy.Config{
		ListenAddr: net.JoinHostPort(e.inst.IP.String(), strconv.Itoa(e.spec.InstancePort)),
		AppAddr:    appAddr, Platform: e.spec.Platform, StaticFiles: e.spec.StaticFiles,
		AppDir: e.current, LogDir: e.logDir, RunDir: filepath.Join(e.spec.RunDir, e.inst.ID, "nginx"),
	}
	if e.spec.NginxConf != "" {
		cfg.ProjectNginxConf = filepath.Join(e.current, filepath.FromSlash(e.spec.NginxConf))
	}
	for _, c := range e.spec.NginxConfD {
		cfg.ProjectConfD = append(cfg.ProjectConfD, filepath.Join(e.current, filepath.FromSlash(c)))
	}
	conf, err := instanceproxy.Write(cfg)
	if err != nil {
		e.log.errorf("nginx configuration: %v", err)
		e.log.event("ERROR", "Instance deployment failed. For details, see 'eb-engine.log'.")
		return errDeployFailed
	}
	if err := instanceproxy.Check(conf); err != nil {
		e.log.errorf("%v", err)
		e.log.event("ERROR", "Instance deployment failed. For details, see 'eb-engine.log'.")
		return errDeployFailed
	}
	f, err := os.OpenFile(filepath.Join(e.logDir, "nginx", "error.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	out := &processLog{file: f, hostname: vpc.Hostname(e.inst.IP), name: "nginx", now: e.now}
	e.log.info("Starting nginx on %s, proxying to %s", cfg.ListenAddr, appAddr)
	go func() {
		defer f.Close()
		e.supervise(ctx, "nginx", instanceproxy.Command(conf), e.current, os.Environ(), out)
	}()
	return nil
}

func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}

// portFree tells whether port can be bound on every address, as an app
// that reads PORT binds it.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func freePort() int {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
