package ebapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/ebproject"
)

// Namespaces of the options elbow maps onto its config
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html).
const (
	nsProcess = "aws:elasticbeanstalk:environment:process:default"
	nsASG     = "aws:autoscaling:asg"
	nsLB      = "aws:elbv2:loadbalancer"
	nsEnvVars = "aws:elasticbeanstalk:application:environment"
	nsEnv     = "aws:elasticbeanstalk:environment"
	nsHealth  = "aws:elasticbeanstalk:healthreporting:system"
)

// Resource names of Beanstalk's CloudFormation stack that own the options,
// as DescribeConfigurationSettings names them (BC-EB example:
// aws:autoscaling:asg Cooldown → AWSEBAutoScalingGroup).
const (
	resTargetGroup = "AWSEBV2LoadBalancerTargetGroup"
	resASG         = "AWSEBAutoScalingGroup"
	resLB          = "AWSEBV2LoadBalancer"
)

// option is one option elbow derives from its config; set is nil for
// options it reports but does not change (the platform's facts).
type option struct {
	ns, name, resource string
	// key is the option's field in elbow.yaml, to word the config's errors.
	key func(c *config.Config) string
	get func(c *config.Config) string
	set func(c *config.Config, v string)
	// severity is DescribeConfigurationOptions' ChangeSeverity: what
	// applying a change takes.
	severity string
}

// processGroup is the default process's target group: the instances'.
func processGroup(c *config.Config) (*config.TargetGroup, int) {
	for i := range c.TargetGroups {
		if c.TargetGroups[i].Name == c.Instances.TargetGroup {
			return &c.TargetGroups[i], i
		}
	}
	return &c.TargetGroups[0], 0
}

func tgKey(field string) func(c *config.Config) string {
	return func(c *config.Config) string {
		_, i := processGroup(c)
		return fmt.Sprintf("target_groups[%d].%s", i, field)
	}
}

func fixedKey(k string) func(*config.Config) string { return func(*config.Config) string { return k } }

// atoi of a value CheckOption has accepted as a whole number.
func atoi(v string) int { n, _ := strconv.Atoi(v); return n }

func intOption(ns, name, resource, key string, field func(c *config.Config) *int, severity string) option {
	return option{ns: ns, name: name, resource: resource, key: fixedKey(key), severity: severity,
		get: func(c *config.Config) string { return strconv.Itoa(*field(c)) },
		set: func(c *config.Config, v string) { *field(c) = atoi(v) }}
}

func hcInt(name, field string, f func(h *config.HealthCheck) *int) option {
	o := intOption(nsProcess, name, resTargetGroup, "", func(c *config.Config) *int { tg, _ := processGroup(c); return f(&tg.HealthCheck) }, "NoInterruption")
	o.key = tgKey("health_check." + field)
	return o
}

// options are the options elbow reports and, where set is given, applies.
var options = []option{
	{ns: nsProcess, name: "HealthCheckPath", resource: resTargetGroup, key: tgKey("health_check.path"), severity: "NoInterruption",
		get: func(c *config.Config) string { tg, _ := processGroup(c); return tg.HealthCheck.Path },
		set: func(c *config.Config, v string) { tg, _ := processGroup(c); tg.HealthCheck.Path = v }},
	hcInt("HealthCheckInterval", "interval", func(h *config.HealthCheck) *int { return &h.Interval }),
	hcInt("HealthCheckTimeout", "timeout", func(h *config.HealthCheck) *int { return &h.Timeout }),
	hcInt("HealthyThresholdCount", "healthy_threshold", func(h *config.HealthCheck) *int { return &h.HealthyThreshold }),
	hcInt("UnhealthyThresholdCount", "unhealthy_threshold", func(h *config.HealthCheck) *int { return &h.UnhealthyThreshold }),
	{ns: nsProcess, name: "MatcherHTTPCode", resource: resTargetGroup, key: tgKey("health_check.matcher"), severity: "NoInterruption",
		get: func(c *config.Config) string { tg, _ := processGroup(c); return tg.HealthCheck.Matcher },
		set: func(c *config.Config, v string) { tg, _ := processGroup(c); tg.HealthCheck.Matcher = v }},
	func() option {
		o := intOption(nsProcess, "DeregistrationDelay", resTargetGroup, "", func(c *config.Config) *int { tg, _ := processGroup(c); return &tg.DeregistrationDelay }, "NoInterruption")
		o.key = tgKey("deregistration_delay")
		return o
	}(),
	{ns: nsProcess, name: "Port", resource: resTargetGroup, key: tgKey("port"),
		get: func(c *config.Config) string { tg, _ := processGroup(c); return strconv.Itoa(tg.Port) }},
	{ns: nsProcess, name: "Protocol", resource: resTargetGroup, key: tgKey("protocol"),
		get: func(c *config.Config) string { tg, _ := processGroup(c); return tg.Protocol }},
	intOption(nsASG, "MinSize", resASG, "instances.min", func(c *config.Config) *int { return &c.Instances.Min }, "NoInterruption"),
	intOption(nsASG, "MaxSize", resASG, "instances.max", func(c *config.Config) *int { return &c.Instances.Max }, "NoInterruption"),
	// The idle timeout is read when a listener starts: a change needs a
	// restart, and the environment's Update says so.
	intOption(nsLB, "IdleTimeout", resLB, "load_balancer.idle_timeout", func(c *config.Config) *int { return &c.LoadBalancer.IdleTimeout }, "RestartEnvironment"),
	{ns: nsLB, name: "AccessLogsS3Enabled", resource: resLB, key: fixedKey("load_balancer.access_logs.enabled"), severity: "NoInterruption",
		get: func(c *config.Config) string { return strconv.FormatBool(c.LoadBalancer.AccessLogs.Enabled) },
		set: func(c *config.Config, v string) { c.LoadBalancer.AccessLogs.Enabled = v == "true" }},
	{ns: nsEnv, name: "EnvironmentType", get: func(*config.Config) string { return "LoadBalanced" }},
	{ns: nsEnv, name: "LoadBalancerType", get: func(*config.Config) string { return "application" }},
	{ns: nsHealth, name: "SystemType", get: func(*config.Config) string { return "enhanced" }},
}

func findOption(ns, name string) *option {
	for i := range options {
		if options[i].ns == ns && options[i].name == name {
			return &options[i]
		}
	}
	return nil
}

// settings are the running configuration as option settings.
func settings(c *config.Config) []optionSetting {
	var out []optionSetting
	for _, o := range options {
		out = append(out, optionSetting{ResourceName: o.resource, Namespace: o.ns, OptionName: o.name, Value: o.get(c)})
	}
	keys := make([]string, 0, len(c.Instances.Env))
	for k := range c.Instances.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, optionSetting{Namespace: nsEnvVars, OptionName: k, Value: c.Instances.Env[k]})
	}
	return out
}

func (s *Service) describeConfigurationSettings(p awsapi.Params) (any, error) {
	if p.String("ApplicationName") == "" {
		return nil, missing("ApplicationName")
	}
	env, tmpl := p.String("EnvironmentName"), p.String("TemplateName")
	switch {
	case env != "" && tmpl != "":
		return nil, awsapi.NewError(http.StatusBadRequest, "InvalidParameterCombination", "You cannot specify both TemplateName and EnvironmentName.")
	case tmpl != "":
		return nil, invalid("No Configuration Template named '%s' found.", tmpl)
	case env == "":
		return nil, missing("TemplateName or EnvironmentName")
	}
	n, err := s.environment(p, true)
	if err != nil {
		return nil, err
	}
	if err := s.applicationName(p, n); err != nil {
		return nil, err
	}
	started := s.env.Started()
	return configurationSettingsResult{ConfigurationSettings: []configurationSettings{{
		ApplicationName: n.app, EnvironmentName: n.env, SolutionStackName: "elbow",
		DeploymentStatus: "deployed", DateCreated: ts(started), DateUpdated: ts(started),
		OptionSettings: settings(s.env.Config()),
	}}}, nil
}

// describeConfigurationOptions lists the options elbow honours, with the
// values ebproject's option table accepts.
func (s *Service) describeConfigurationOptions(p awsapi.Params) (any, error) {
	if p.String("EnvironmentName") != "" {
		n, err := s.environment(p, false)
		if err != nil {
			return nil, err
		}
		if err := s.applicationName(p, n); err != nil {
			return nil, err
		}
	}
	type nsName struct{ ns, name string }
	var filter []nsName
	for _, o := range p.Structs("Options") {
		filter = append(filter, nsName{o.String("Namespace"), o.String("OptionName")})
	}
	out := configurationOptionsResult{SolutionStackName: "elbow", Options: []configurationOption{}}
	for _, d := range ebproject.OptionTable() {
		o := findOption(d.Namespace, d.Name)
		if o == nil || o.set == nil {
			continue
		}
		if len(filter) > 0 && !slices.ContainsFunc(filter, func(f nsName) bool {
			return f.ns == d.Namespace && (f.name == "" || f.name == d.Name)
		}) {
			continue
		}
		co := configurationOption{Namespace: d.Namespace, Name: d.Name, DefaultValue: d.Default,
			ChangeSeverity: o.severity, ValueType: "Scalar", ValueOptions: d.Values, MinValue: d.Min, MaxValue: d.Max}
		if d.Regex != "" {
			co.Regex = &optionRegex{Pattern: d.Regex, Label: d.Name}
		}
		out.Options = append(out.Options, co)
	}
	return out, nil
}

// configError is Beanstalk's answer to an option it cannot take:
// ConfigurationValidationException, "Configuration validation exception:
// Invalid option specification (...): Unknown configuration setting."
// (pulumi/pulumi-aws issue 3461, status 400).
func configError(format string, a ...any) error {
	return awsapi.NewError(http.StatusBadRequest, "ConfigurationValidationException", "Configuration validation exception: "+format, a...)
}

// change is one option setting of UpdateEnvironment, checked.
type change struct {
	opt    *option // nil for an environment property
	ns     string
	name   string
	value  string
	remove bool
}

// readChanges checks OptionSettings and OptionsToRemove: an option elbow
// does not know is Beanstalk's "Unknown configuration setting."; one it
// knows but does not apply to a running environment is refused, never
// silently dropped.
func readChanges(p awsapi.Params) ([]change, error) {
	var out []change
	read := func(m awsapi.Params, remove bool) error {
		ns, name, value := m.String("Namespace"), m.String("OptionName"), m.String("Value")
		if ns == nsEnvVars {
			if msg, _ := ebproject.CheckOption(ns, name, value); msg != "" {
				return configError("%s", msg)
			}
			out = append(out, change{ns: ns, name: name, value: value, remove: remove})
			return nil
		}
		o := findOption(ns, name)
		if o == nil || o.set == nil {
			if _, known := ebproject.CheckOption(ns, name, ""); known || o != nil {
				return configError("Invalid option specification (Namespace: '%s', OptionName: '%s'): elbow does not apply this setting to a running environment; it applies %s.", ns, name, applied())
			}
			return configError("Invalid option specification (Namespace: '%s', OptionName: '%s'): Unknown configuration setting.", ns, name)
		}
		if remove {
			def, ok := ebproject.OptionDefault(ns, name)
			if !ok {
				return configError("Invalid option specification (Namespace: '%s', OptionName: '%s'): elbow has no default to put back; set a value instead.", ns, name)
			}
			value = def
		}
		if msg, _ := ebproject.CheckOption(ns, name, value); msg != "" {
			return configError("%s", msg)
		}
		out = append(out, change{opt: o, ns: ns, name: name, value: value})
		return nil
	}
	for _, m := range p.Structs("OptionSettings") {
		if err := read(m, false); err != nil {
			return nil, err
		}
	}
	for _, m := range p.Structs("OptionsToRemove") {
		if err := read(m, true); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// applied names the options UpdateEnvironment applies.
func applied() string {
	var names []string
	for _, o := range options {
		if o.set != nil {
			names = append(names, o.ns+" "+o.name)
		}
	}
	return strings.Join(append(names, nsEnvVars+" (environment properties)"), ", ")
}

// updateEnvironment applies OptionSettings through the environment's
// Update: validated as elbow validate validates the file, applied live,
// written back to the file; a change that needs a restart is refused with
// the environment's own words. With a VersionLabel it starts deploying
// that version instead (updates.go) and answers Updating.
func (s *Service) updateEnvironment(ctx context.Context, p awsapi.Params) (any, error) {
	n, err := s.environment(p, true)
	if err != nil {
		return nil, err
	}
	if err := s.applicationName(p, n); err != nil {
		return nil, err
	}
	if t := p.String("TemplateName"); t != "" {
		return nil, invalid("No Configuration Template named '%s' found.", t)
	}
	changes, err := readChanges(p)
	if err != nil {
		return nil, err
	}
	if v := p.String("VersionLabel"); v != "" {
		if _, ok := s.updater(); ok {
			if len(changes) > 0 {
				// Each would be an update of its own; Beanstalk runs one at a time.
				return nil, invalid("elbow deploys a version or applies option settings in one UpdateEnvironment call, not both: call it once for each.")
			}
			return s.deployVersion(ctx, n, v)
		}
		if v != s.versionLabel() {
			return nil, invalid("No Application Version named '%s' found.", v)
		}
	}
	if len(changes) > 0 {
		err := s.env.Update(ctx, func(c *config.Config) error {
			for _, ch := range changes {
				switch {
				case ch.opt != nil:
					ch.opt.set(c, ch.value)
				case ch.remove:
					delete(c.Instances.Env, ch.name)
				default:
					if c.Instances.Env == nil {
						c.Instances.Env = map[string]string{}
					}
					c.Instances.Env[ch.name] = ch.value
				}
			}
			return nil
		})
		if err != nil {
			return nil, s.updateError(err, changes)
		}
	}
	d := s.describe(n)
	d.DateUpdated = ts(time.Now())
	return d, nil
}

// updateError words the environment's refusal: the config's validation
// errors as elbow validate words them, with the option they concern; any
// other refusal (a change that needs a restart) as the environment says it.
func (s *Service) updateError(err error, changes []change) error {
	var ferrs config.Errors
	if !errors.As(err, &ferrs) {
		return invalid("%v", err)
	}
	c := s.env.Config()
	var msgs []string
	for _, fe := range ferrs {
		msg := fe.Msg
		if fe.Key != "" {
			msg = fe.Key + ": " + msg
		}
		for _, ch := range changes {
			if ch.opt != nil && ch.opt.key != nil && ch.opt.key(c) == fe.Key {
				msg = fmt.Sprintf("Invalid option value: '%s' (Namespace: '%s', OptionName: '%s'): %s", ch.value, ch.ns, ch.name, fe.Msg)
				break
			}
		}
		msgs = append(msgs, msg)
	}
	return awsapi.Validation("%s", strings.Join(msgs, "\n"))
}
