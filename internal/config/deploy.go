package config

import (
	"math"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Deployment is the deployment section: how a new application version or a
// configuration that replaces the instances' release reaches them, as
// Beanstalk's aws:elasticbeanstalk:command and
// aws:elasticbeanstalk:trafficsplitting namespaces describe it
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html#command-options-general-elasticbeanstalkcommand).
// Durations are seconds, as every elbow.yaml duration.
type Deployment struct {
	// Policy is DeploymentPolicy: AllAtOnce (default), Rolling,
	// RollingWithAdditionalBatch, Immutable or TrafficSplitting.
	Policy string `yaml:"policy"`
	// BatchSizeType is Percentage (default) or Fixed: how batch_size counts.
	BatchSizeType string `yaml:"batch_size_type"`
	// BatchSize is the percentage (1-100) or number (at least 1) of
	// instances a Rolling batch updates. Default 100.
	BatchSize int `yaml:"batch_size"`
	// Timeout in seconds, 1-3600, for an instance's deployment command to
	// complete. Default 600.
	Timeout int `yaml:"timeout"`
	// IgnoreHealthCheck carries on with the next batch even when a batch
	// fails its health gate. Default false.
	IgnoreHealthCheck bool `yaml:"ignore_health_check"`
	// HealthCheckSuccessThreshold is the worst enhanced-health status an
	// instance may have and still pass the gate: Ok (default), Warning,
	// Degraded or Severe.
	HealthCheckSuccessThreshold string `yaml:"health_check_success_threshold"`
	// NewVersionPercent of the requests a TrafficSplitting deployment sends
	// to the new instances while it evaluates them, 1-100. Default 10.
	NewVersionPercent int `yaml:"new_version_percent"`
	// EvaluationTime in seconds a TrafficSplitting deployment watches the
	// new instances before shifting all traffic to them, at least 1.
	// Default 300 (Beanstalk's 5 minutes); short values are for tests.
	EvaluationTime int `yaml:"evaluation_time"`
	// HealthGate is when an updated instance counts as healthy.
	HealthGate HealthGate `yaml:"health_gate"`
}

// HealthGate is Beanstalk's health gate: an instance passes after Checks
// consecutive Ok checks within Window seconds, the count restarting on a
// failure. Default 12 checks in 120 s, as Beanstalk's enhanced health
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.rolling-version-deploy.html).
type HealthGate struct {
	// Checks, 1-100. Default 12.
	Checks int `yaml:"checks"`
	// Window in seconds, at least 1. Default 120.
	Window int `yaml:"window"`
}

// RollingUpdate is the rolling_update section: how a configuration change
// that replaces instances is rolled out, as Beanstalk's
// aws:autoscaling:updatepolicy:rollingupdate namespace
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html#command-options-general-autoscalingupdatepolicyrollingupdate).
type RollingUpdate struct {
	// Enabled is RollingUpdateEnabled. Default false: every instance is
	// updated at once.
	Enabled bool `yaml:"enabled"`
	// Type is RollingUpdateType: Time (default), Health or Immutable.
	Type string `yaml:"type"`
	// MaxBatchSize instances are updated at a time, at least 0. Default 0:
	// Beanstalk's default, a third of the minimum rounded up.
	MaxBatchSize int `yaml:"max_batch_size"`
	// MinInstancesInService stay in service while a batch updates, -1 or
	// more and less than instances.max. Default -1 (unset): Beanstalk's
	// default, the smaller of instances.min and instances.max - 1.
	MinInstancesInService int `yaml:"min_instances_in_service"`
	// PauseTime in seconds between batches with type Time, at least 0.
	// Default 0: none.
	PauseTime int `yaml:"pause_time"`
	// Timeout in seconds for a batch's instances to pass their health
	// checks, 1-3600. Default 1800 (Beanstalk's PT30M).
	Timeout int `yaml:"timeout"`
}

// AutoScaling is the auto_scaling section: the Auto Scaling group's
// cooldown and health check (aws:autoscaling:asg, and the
// AWSEBAutoScalingGroup resource's HealthCheckType and
// HealthCheckGracePeriod) and its scaling trigger (aws:autoscaling:trigger).
// The group's size is instances.min and instances.max.
type AutoScaling struct {
	// Cooldown in seconds after a scaling activity during which no trigger
	// acts, at least 0. Default 360.
	Cooldown int `yaml:"cooldown"`
	// HealthCheckType is EC2 (default: only an instance whose process exits
	// is replaced) or ELB (an instance the load balancer finds unhealthy
	// after the grace period is replaced too)
	// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/environmentconfig-autoscaling-healthchecktype.html).
	HealthCheckType string `yaml:"health_check_type"`
	// HealthCheckGracePeriod in seconds after an instance's launch before
	// its ELB health counts, at least 0. Default 300.
	HealthCheckGracePeriod int `yaml:"health_check_grace_period"`
	// Trigger scales the group on a measure of the instances.
	Trigger Trigger `yaml:"trigger"`
}

// Trigger is aws:autoscaling:trigger, in seconds rather than Beanstalk's
// minutes (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/environments-cfg-autoscaling-triggers.html).
type Trigger struct {
	// MeasureName: CPUUtilization, NetworkIn, NetworkOut (default),
	// DiskWriteOps, DiskReadBytes, DiskReadOps, DiskWriteBytes, Latency,
	// RequestCount, HealthyHostCount, UnhealthyHostCount or
	// TargetResponseTime.
	MeasureName string `yaml:"measure_name"`
	// Statistic: Minimum, Maximum, Sum or Average (default).
	Statistic string `yaml:"statistic"`
	// Unit of the thresholds: Seconds, Percent, Bytes (default), Bits,
	// Count, Bytes/Second, Bits/Second, Count/Second or None.
	Unit string `yaml:"unit"`
	// Period in seconds between evaluations, at least 1. Default 300.
	Period int `yaml:"period"`
	// BreachDuration in seconds the measure must stay beyond a threshold
	// before the group scales: a multiple of period, at least period.
	// Default 300. Beanstalk's BreachDuration is Period times
	// EvaluationPeriods.
	BreachDuration int `yaml:"breach_duration"`
	// UpperThreshold: above it the group grows. Default 6000000 (bytes).
	UpperThreshold float64 `yaml:"upper_threshold"`
	// LowerThreshold: below it the group shrinks; at most upper_threshold.
	// Default 2000000.
	LowerThreshold float64 `yaml:"lower_threshold"`
	// UpperBreachScaleIncrement instances are added on an upper breach
	// (negative removes). Default 1.
	UpperBreachScaleIncrement int `yaml:"upper_breach_scale_increment"`
	// LowerBreachScaleIncrement instances are added on a lower breach
	// (negative removes). Default -1.
	LowerBreachScaleIncrement int `yaml:"lower_breach_scale_increment"`
}

// Beanstalk's defaults (command-options-general.html).
var (
	DefaultDeployment = Deployment{
		Policy: "AllAtOnce", BatchSizeType: "Percentage", BatchSize: 100, Timeout: 600,
		HealthCheckSuccessThreshold: "Ok", NewVersionPercent: 10, EvaluationTime: 300,
		HealthGate: HealthGate{Checks: 12, Window: 120},
	}
	DefaultRollingUpdate = RollingUpdate{Type: "Time", MinInstancesInService: -1, Timeout: 1800}
	DefaultAutoScaling   = AutoScaling{
		Cooldown: 360, HealthCheckType: "EC2", HealthCheckGracePeriod: 300,
		Trigger: Trigger{
			MeasureName: "NetworkOut", Statistic: "Average", Unit: "Bytes", Period: 300, BreachDuration: 300,
			UpperThreshold: 6000000, LowerThreshold: 2000000,
			UpperBreachScaleIncrement: 1, LowerBreachScaleIncrement: -1,
		},
	}
)

// UnmarshalYAML starts from the defaults, so that absent keys keep them.
func (d *Deployment) UnmarshalYAML(n *yaml.Node) error {
	*d = DefaultDeployment
	type plain Deployment
	return n.Decode((*plain)(d))
}

// UnmarshalYAML starts from the defaults.
func (g *HealthGate) UnmarshalYAML(n *yaml.Node) error {
	*g = DefaultDeployment.HealthGate
	type plain HealthGate
	return n.Decode((*plain)(g))
}

// UnmarshalYAML starts from the defaults.
func (r *RollingUpdate) UnmarshalYAML(n *yaml.Node) error {
	*r = DefaultRollingUpdate
	type plain RollingUpdate
	return n.Decode((*plain)(r))
}

// UnmarshalYAML starts from the defaults.
func (a *AutoScaling) UnmarshalYAML(n *yaml.Node) error {
	*a = DefaultAutoScaling
	type plain AutoScaling
	return n.Decode((*plain)(a))
}

// UnmarshalYAML starts from the defaults.
func (t *Trigger) UnmarshalYAML(n *yaml.Node) error {
	*t = DefaultAutoScaling.Trigger
	type plain Trigger
	return n.Decode((*plain)(t))
}

// MarshalYAML writes the thresholds as a user writes them (6000000, 0.5),
// not in the exponent form yaml gives a float64 (6e+06).
func (t Trigger) MarshalYAML() (any, error) {
	type plain Trigger
	var n yaml.Node
	if err := n.Encode(plain(t)); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := n.Content[i+1]
		if k := n.Content[i].Value; k != "upper_threshold" && k != "lower_threshold" {
			continue
		}
		if f, err := strconv.ParseFloat(v.Value, 64); err == nil {
			*v = *floatNode(f)
		}
	}
	return &n, nil
}

// floatNode is f as a user writes it: 6000000 rather than yaml's 6e+06
// (which reads back the same, but no one writes).
func floatNode(f float64) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode}
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		_ = n.Encode(f)
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		n.Tag, n.Value = "!!int", strconv.FormatFloat(f, 'f', -1, 64)
	default:
		n.Tag, n.Value = "!!float", strconv.FormatFloat(f, 'f', -1, 64)
	}
	return n
}

// Allowed values, as Beanstalk's options table lists them
// (command-options-general.html).
var (
	deploymentPolicies = []string{"AllAtOnce", "Rolling", "RollingWithAdditionalBatch", "Immutable", "TrafficSplitting"}
	healthStatuses     = []string{"Ok", "Warning", "Degraded", "Severe"}
	measureNames       = []string{"CPUUtilization", "NetworkIn", "NetworkOut", "DiskWriteOps", "DiskReadBytes",
		"DiskReadOps", "DiskWriteBytes", "Latency", "RequestCount", "HealthyHostCount", "UnhealthyHostCount", "TargetResponseTime"}
	statistics = []string{"Minimum", "Maximum", "Sum", "Average"}
	units      = []string{"Seconds", "Percent", "Bytes", "Bits", "Count", "Bytes/Second", "Bits/Second", "Count/Second", "None"}
)

func (d *Deployment) validate(v *validator) {
	const k = "deployment."
	v.oneOf(k+"policy", d.Policy, deploymentPolicies...)
	v.oneOf(k+"batch_size_type", d.BatchSizeType, "Percentage", "Fixed")
	switch d.BatchSizeType {
	case "Percentage":
		v.intRange(k+"batch_size", d.BatchSize, 1, 100, " percent")
	case "Fixed":
		if d.BatchSize < 1 {
			v.add(k+"batch_size", "%d is out of range: a Fixed batch must be at least 1 instance", d.BatchSize)
		}
	}
	v.intRange(k+"timeout", d.Timeout, 1, 3600, " seconds")
	v.oneOf(k+"health_check_success_threshold", d.HealthCheckSuccessThreshold, healthStatuses...)
	v.intRange(k+"new_version_percent", d.NewVersionPercent, 1, 100, " percent")
	v.atLeast(k+"evaluation_time", d.EvaluationTime, 1, " seconds")
	v.intRange(k+"health_gate.checks", d.HealthGate.Checks, 1, 100, " checks")
	v.atLeast(k+"health_gate.window", d.HealthGate.Window, 1, " seconds")
}

func (r *RollingUpdate) validate(v *validator, in *Instances) {
	const k = "rolling_update."
	v.oneOf(k+"type", r.Type, "Time", "Health", "Immutable")
	v.atLeast(k+"max_batch_size", r.MaxBatchSize, 0, " instances (0 for Beanstalk's default)")
	switch {
	case r.MinInstancesInService < -1:
		v.add(k+"min_instances_in_service", "%d is out of range: must be -1 (Beanstalk's default) or at least 0", r.MinInstancesInService)
	case r.MinInstancesInService >= 0 && len(in.Targets) == 0 && r.MinInstancesInService >= in.Max:
		v.add(k+"min_instances_in_service", "%d is not below instances.max %d: an update needs at least one instance out of service", r.MinInstancesInService, in.Max)
	}
	v.atLeast(k+"pause_time", r.PauseTime, 0, " seconds")
	v.intRange(k+"timeout", r.Timeout, 1, 3600, " seconds")
}

func (a *AutoScaling) validate(v *validator) {
	const k = "auto_scaling."
	v.atLeast(k+"cooldown", a.Cooldown, 0, " seconds")
	v.oneOf(k+"health_check_type", a.HealthCheckType, "EC2", "ELB")
	v.atLeast(k+"health_check_grace_period", a.HealthCheckGracePeriod, 0, " seconds")
	t := &a.Trigger
	const tk = k + "trigger."
	v.oneOf(tk+"measure_name", t.MeasureName, measureNames...)
	v.oneOf(tk+"statistic", t.Statistic, statistics...)
	v.oneOf(tk+"unit", t.Unit, units...)
	v.atLeast(tk+"period", t.Period, 1, " seconds")
	switch {
	case t.BreachDuration < t.Period:
		v.add(tk+"breach_duration", "%d is shorter than period %d: a breach lasts at least one period", t.BreachDuration, t.Period)
	case t.Period >= 1 && t.BreachDuration%t.Period != 0:
		// Beanstalk: BreachDuration = Period * EvaluationPeriods.
		v.add(tk+"breach_duration", "%d is not a multiple of period %d: a breach lasts a whole number of periods (Beanstalk's Period times EvaluationPeriods)", t.BreachDuration, t.Period)
	}
	okU, okL := finite(t.UpperThreshold), finite(t.LowerThreshold)
	if !okU {
		v.add(tk+"upper_threshold", "%g is out of range: must be a number of at least 0", t.UpperThreshold)
	}
	if !okL {
		v.add(tk+"lower_threshold", "%g is out of range: must be a number of at least 0", t.LowerThreshold)
	}
	if okU && okL && t.UpperThreshold < t.LowerThreshold {
		v.add(tk+"upper_threshold", "%g is below lower_threshold %g: the upper threshold must be at least the lower one", t.UpperThreshold, t.LowerThreshold)
	}
	// The same bounds as the option table of internal/ebproject: Beanstalk
	// publishes none, and a step beyond the group's size stops at Min or Max.
	v.intRange(tk+"upper_breach_scale_increment", t.UpperBreachScaleIncrement, -10000, 10000, " instances")
	v.intRange(tk+"lower_breach_scale_increment", t.LowerBreachScaleIncrement, -10000, 10000, " instances")
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) && f >= 0 }

func (v *validator) atLeast(key string, val, lo int, unit string) {
	if val < lo {
		v.add(key, "%d is out of range: must be at least %d%s", val, lo, unit)
	}
}
