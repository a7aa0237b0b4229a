package ebproject

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/elbow-lb/elbow/internal/config"
	"gopkg.in/yaml.v3"
)

// Provenance maps an elbow config field, named by its YAML path as
// `elbow validate --print` shows it (target_groups[0].health_check.path,
// instances.env.DJANGO_SETTINGS_MODULE), to where its value came from.
type Provenance map[string]Source

// Apply maps the project's settings onto elbow's config and validates the
// result as config.Load does.
//
// Ranking: a field that base's file (elbow.yaml) sets wins over the project,
// as Beanstalk ranks "settings applied directly to the environment" above
// .ebextensions; its Provenance is then elbow.yaml and its line. base nil,
// or a base with no file, sets nothing. Beanstalk's defaults are applied
// too (MinSize 1 and MaxSize 4, for example), since the project is the
// environment's description.
//
// Applied: the default process's HealthCheckPath, HealthCheckInterval,
// HealthCheckTimeout, HealthyThresholdCount, UnhealthyThresholdCount,
// MatcherHTTPCode, Protocol and DeregistrationDelay (onto the instances'
// target group); Application Healthcheck URL when the process's path is
// Beanstalk's default; aws:autoscaling:asg MinSize and MaxSize;
// environment properties (instances.env) and PORT (instances.port);
// aws:elbv2:loadbalancer IdleTimeout and AccessLogsS3Enabled; the rules
// of aws:elbv2:listener:default that forward to the default process;
// ConfigDocument's ApplicationRequests4xx and ELBRequests4xx switches; the
// web process (instances.command, run in the project folder); config.yml's
// environment (name) and region.
//
// Deployments and scaling: aws:elasticbeanstalk:command (DeploymentPolicy,
// BatchSizeType, BatchSize, Timeout, IgnoreHealthCheck,
// HealthCheckSuccessThreshold, also read from healthreporting:system),
// aws:elasticbeanstalk:trafficsplitting (NewVersionPercent, EvaluationTime
// in minutes), aws:autoscaling:updatepolicy:rollingupdate (PauseTime and
// Timeout as ISO 8601 durations), aws:autoscaling:trigger (Period and
// BreachDuration in minutes; without a BreachDuration, Period times
// EvaluationPeriods), aws:autoscaling:asg Cooldown, and the Resources
// override AWSEBAutoScalingGroup.Properties HealthCheckType and
// HealthCheckGracePeriod.
//
// Kept in Settings and not applied, since elbow has no field for them yet:
// stickiness, the process Port (the instance's proxy port), named
// processes and the rules forwarding to them, listeners other than the
// default one, SSL options, and the Python container and proxy options
// (used by the platform default command and the instance's proxy).
func (p *Project) Apply(base *config.Config) (*config.Config, Provenance, error) {
	file := ""
	if base == nil {
		base = config.Default()
	} else {
		file = base.File
	}
	data, err := config.Marshal(base)
	if err != nil {
		return nil, nil, fmt.Errorf("copying the base config: %w", err)
	}
	c, err := config.ParseOverlay(file, data)
	if err != nil {
		return nil, nil, fmt.Errorf("copying the base config: %w", err)
	}
	setByBase := map[string]int{}
	if file != "" {
		if raw, err := os.ReadFile(file); err == nil {
			var doc yaml.Node
			if yaml.Unmarshal(raw, &doc) == nil && len(doc.Content) > 0 {
				keyLines(doc.Content[0], "", setByBase)
			}
		}
	}
	a := &applier{p: p, c: c, prov: Provenance{}, base: setByBase, file: file}
	if err := a.apply(); err != nil {
		return nil, nil, err
	}
	out, err := marshalParse(c, file)
	if err != nil {
		var es config.Errors
		if errors.As(err, &es) {
			for _, e := range es {
				if src, ok := a.source(e.Key); ok {
					e.File, e.Line = "", 0
					e.Msg += " (set by " + src.String() + ")"
				}
			}
			return nil, nil, fmt.Errorf("the project's settings make an invalid environment:\n%w", es)
		}
		return nil, nil, fmt.Errorf("the project's settings make an invalid environment: %w", err)
	}
	return out, a.prov, nil
}

func marshalParse(c *config.Config, file string) (*config.Config, error) {
	data, err := config.Marshal(c)
	if err != nil {
		return nil, err
	}
	return config.Parse(file, data)
}

// keyLines records the line of every key path of an elbow.yaml.
func keyLines(n *yaml.Node, path string, out map[string]int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if path != "" {
				k = path + "." + k
			}
			out[k] = n.Content[i].Line
			keyLines(n.Content[i+1], k, out)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			k := fmt.Sprintf("%s[%d]", path, i)
			out[k] = item.Line
			keyLines(item, k, out)
		}
	}
}

type applier struct {
	p    *Project
	c    *config.Config
	prov Provenance
	base map[string]int
	file string
}

// source is the provenance of key or of its nearest ancestor.
func (a *applier) source(key string) (Source, bool) {
	for key != "" {
		if s, ok := a.prov[key]; ok {
			return s, true
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return Source{}, false
}

// put sets key from src with f, unless elbow.yaml sets it.
func (a *applier) put(key string, src Source, f func()) {
	if line, ok := a.base[key]; ok {
		a.prov[key] = Source{File: a.file, Line: line}
		return
	}
	f()
	a.prov[key] = src
}

func (a *applier) setting(ns, opt string) (Setting, bool) {
	s, ok := a.p.Setting(ns, opt)
	return s, ok && s.Value != ""
}

func (a *applier) apply() error {
	c, p := a.c, a.p
	if p.EB != nil {
		if p.EB.Environment != "" {
			a.put("name", p.EB.Source, func() { c.Name = p.EB.Environment })
			if _, ok := a.base["load_balancer.name"]; !ok {
				c.LoadBalancer.Name = c.Name
			}
		}
		if p.EB.Region != "" {
			a.put("region", p.EB.Source, func() { c.Region = p.EB.Region })
		}
	}
	_, cmdSet := a.base["instances.command"]
	_, sampleSet := a.base["instances.sample_app"]
	_, targetsSet := a.base["instances.targets"]
	for _, k := range []string{"instances.command", "instances.sample_app", "instances.targets"} {
		if line, ok := a.base[k]; ok {
			a.prov[k] = Source{File: a.file, Line: line}
		}
	}
	if !cmdSet && !sampleSet && !targetsSet {
		web, ok := p.Web()
		if !ok {
			return fmt.Errorf("no web process: the project has no Procfile and elbow found no default for platform %q (python: application.py or requirements.txt; nodejs: package.json; go: application.go)", p.Platform)
		}
		a.put("instances.command", web.Source, func() {
			c.Instances.Command = config.Command{Shell: web.Command}
			c.Instances.SampleApp, c.Instances.Targets = false, nil
		})
		a.put("instances.dir", Source{Default: "project folder"}, func() { c.Instances.Dir = p.Dir })
	}
	port, psrc := p.AppPort()
	a.put("instances.port", psrc, func() { c.Instances.Port = port })
	for i := range c.TargetGroups {
		if _, ok := a.base[fmt.Sprintf("target_groups[%d].port", i)]; !ok {
			c.TargetGroups[i].Port = c.Instances.Port
		}
	}
	if err := a.asg(); err != nil {
		return err
	}
	for _, s := range p.Settings {
		if s.Namespace == nsEnv {
			if c.Instances.Env == nil {
				c.Instances.Env = map[string]string{}
			}
			a.put("instances.env."+s.Option, s.Source, func() { c.Instances.Env[s.Option] = s.Value })
		}
	}
	if err := a.process(); err != nil {
		return err
	}
	if s, ok := a.setting(nsLB, "IdleTimeout"); ok {
		n, _ := strconv.Atoi(s.Value)
		a.put("load_balancer.idle_timeout", s.Source, func() { c.LoadBalancer.IdleTimeout = n })
	}
	if s, ok := a.setting(nsLB, "AccessLogsS3Enabled"); ok && s.Source.File != "" {
		a.put("load_balancer.access_logs.enabled", s.Source, func() { c.LoadBalancer.AccessLogs.Enabled = s.Value == "true" })
	}
	a.rules()
	if err := a.deployment(); err != nil {
		return err
	}
	return a.healthRules()
}

func (a *applier) asg() error {
	for _, m := range []struct {
		opt, key string
		dst      *int
	}{{"MinSize", "instances.min", &a.c.Instances.Min}, {"MaxSize", "instances.max", &a.c.Instances.Max}} {
		if s, ok := a.setting(nsASG, m.opt); ok {
			n, _ := strconv.Atoi(s.Value)
			a.put(m.key, s.Source, func() { *m.dst = n })
		}
	}
	return nil
}

// tgIndex is the target group of the instances: the default process.
func (a *applier) tgIndex() int {
	for i, tg := range a.c.TargetGroups {
		if tg.Name == a.c.Instances.TargetGroup {
			return i
		}
	}
	return 0
}

func (a *applier) process() error {
	i := a.tgIndex()
	tg := &a.c.TargetGroups[i]
	k := fmt.Sprintf("target_groups[%d]", i)
	ints := []struct {
		opt, key string
		dst      *int
	}{
		{"HealthCheckInterval", k + ".health_check.interval", &tg.HealthCheck.Interval},
		{"HealthCheckTimeout", k + ".health_check.timeout", &tg.HealthCheck.Timeout},
		{"HealthyThresholdCount", k + ".health_check.healthy_threshold", &tg.HealthCheck.HealthyThreshold},
		{"UnhealthyThresholdCount", k + ".health_check.unhealthy_threshold", &tg.HealthCheck.UnhealthyThreshold},
		{"DeregistrationDelay", k + ".deregistration_delay", &tg.DeregistrationDelay},
	}
	for _, m := range ints {
		if s, ok := a.setting(nsProcessDefault, m.opt); ok {
			n, _ := strconv.Atoi(s.Value)
			a.put(m.key, s.Source, func() { *m.dst = n })
		}
	}
	if s, ok := a.setting(nsProcessDefault, "MatcherHTTPCode"); ok {
		a.put(k+".health_check.matcher", s.Source, func() { tg.HealthCheck.Matcher = s.Value })
	}
	if s, ok := a.setting(nsProcessDefault, "Protocol"); ok {
		a.put(k+".protocol", s.Source, func() { tg.Protocol = s.Value })
		a.put(k+".health_check.protocol", s.Source, func() { tg.HealthCheck.Protocol = s.Value })
	}
	path, _ := a.setting(nsProcessDefault, "HealthCheckPath")
	if u, ok := a.setting(nsApplication, nsHealthURL); ok && path.Source.File == "" {
		// Application Healthcheck URL is PATH or PROTOCOL:PORT/PATH
		// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html#command-options-general-elasticbeanstalkapplication).
		proto, rest, hasProto := strings.Cut(u.Value, ":")
		if !hasProto {
			path = Setting{Value: u.Value, Source: u.Source}
		} else if proto == "HTTP" || proto == "HTTPS" {
			portStr, p, _ := strings.Cut(rest, "/")
			path = Setting{Value: "/" + p, Source: u.Source}
			a.put(k+".health_check.protocol", u.Source, func() { tg.HealthCheck.Protocol = proto })
			a.put(k+".health_check.port", u.Source, func() { tg.HealthCheck.Port = portStr })
		}
	}
	if path.Value != "" {
		a.put(k+".health_check.path", path.Source, func() { tg.HealthCheck.Path = path.Value })
	}
	return nil
}

// rules maps the default listener's rules that forward to the default
// process (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html#command-options-general-elbv2-listenerrule).
func (a *applier) rules() {
	names, ok := a.setting(nsListenerPrefix+"default", "Rules")
	if !ok || len(a.c.Listeners) == 0 {
		return
	}
	l := &a.c.Listeners[0]
	group := a.c.TargetGroups[a.tgIndex()].Name
	for _, name := range strings.Split(names.Value, ",") {
		name = strings.TrimSpace(name)
		ns := nsRulePrefix + name
		if proc, ok := a.setting(ns, "Process"); ok && proc.Value != "default" {
			continue
		}
		var r config.Rule
		r.Priority = 1
		if s, ok := a.setting(ns, "Priority"); ok {
			r.Priority, _ = strconv.Atoi(s.Value)
		}
		if s, ok := a.setting(ns, "PathPatterns"); ok {
			r.Conditions = append(r.Conditions, config.Condition{PathPattern: splitList(s.Value)})
		}
		if s, ok := a.setting(ns, "HostHeaders"); ok {
			r.Conditions = append(r.Conditions, config.Condition{HostHeader: splitList(s.Value)})
		}
		r.Action = config.Action{Type: "forward", TargetGroup: group}
		key := fmt.Sprintf("listeners[0].rules[%d]", len(l.Rules))
		a.put(key, names.Source, func() { l.Rules = append(l.Rules, r) })
	}
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// healthRules reads the Rules of ConfigDocument
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-rules.html).
func (a *applier) healthRules() error {
	s, ok := a.setting(nsHealth, "ConfigDocument")
	if !ok {
		return nil
	}
	var doc struct {
		Rules struct {
			Environment struct {
				Application struct {
					ApplicationRequests4xx *struct{ Enabled bool }
				}
				ELB struct {
					ELBRequests4xx *struct{ Enabled bool }
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(s.Value), &doc); err != nil {
		return fmt.Errorf("%s: ConfigDocument: %w", s.Source, err)
	}
	if r := doc.Rules.Environment.Application.ApplicationRequests4xx; r != nil {
		a.put("enhanced_health.application_requests_4xx.enabled", s.Source, func() { a.c.EnhancedHealth.ApplicationRequests4xx.Enabled = r.Enabled })
	}
	if r := doc.Rules.Environment.ELB.ELBRequests4xx; r != nil {
		a.put("enhanced_health.elb_requests_4xx.enabled", s.Source, func() { a.c.EnhancedHealth.ELBRequests4xx.Enabled = r.Enabled })
	}
	return nil
}
