package ebproject

import (
	"strings"
	"testing"
)

// TestApplyDeploymentAndScaling: each deployment, rolling-update and
// scaling option of testdata/deploy lands in the config, in seconds, with
// its provenance.
func TestApplyDeploymentAndScaling(t *testing.T) {
	p, err := Load("testdata/deploy", Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, prov, err := p.Apply(nil)
	if err != nil {
		t.Fatal(err)
	}
	d, r, as, tr := c.Deployment, c.RollingUpdate, c.AutoScaling, c.AutoScaling.Trigger
	if d.Policy != "Immutable" || d.BatchSizeType != "Fixed" || d.BatchSize != 1 || d.Timeout != 900 || !d.IgnoreHealthCheck ||
		d.HealthCheckSuccessThreshold != "Warning" || d.NewVersionPercent != 15 || d.EvaluationTime != 180 {
		t.Errorf("deployment %+v", d)
	}
	if !r.Enabled || r.Type != "Immutable" || r.MaxBatchSize != 1 || r.MinInstancesInService != 1 || r.PauseTime != 90 || r.Timeout != 3600 {
		t.Errorf("rolling_update %+v", r)
	}
	if as.Cooldown != 120 || as.HealthCheckType != "ELB" || as.HealthCheckGracePeriod != 200 || c.Instances.Min != 2 || c.Instances.Max != 6 {
		t.Errorf("auto_scaling %+v instances %d-%d", as, c.Instances.Min, c.Instances.Max)
	}
	// Period 2 minutes, 3 evaluation periods: a 6-minute breach.
	if tr.MeasureName != "CPUUtilization" || tr.Statistic != "Average" || tr.Unit != "Percent" || tr.Period != 120 ||
		tr.BreachDuration != 360 || tr.UpperThreshold != 80 || tr.LowerThreshold != 20 ||
		tr.UpperBreachScaleIncrement != 2 || tr.LowerBreachScaleIncrement != -1 {
		t.Errorf("trigger %+v", tr)
	}
	for key, src := range map[string]string{
		"deployment.policy":                                 ".ebextensions/01-updates-immutable.config:8",
		"rolling_update.type":                               ".ebextensions/01-updates-immutable.config:6",
		"auto_scaling.trigger.period":                       ".ebextensions/02-autoscaling-triggers.config:9",
		"auto_scaling.trigger.breach_duration":              ".ebextensions/02-autoscaling-triggers.config:10",
		"auto_scaling.cooldown":                             ".ebextensions/02-autoscaling-triggers.config:18",
		"auto_scaling.health_check_type":                    ".ebextensions/03-health-check-type.config:6",
		"auto_scaling.health_check_grace_period":            ".ebextensions/03-health-check-type.config:7",
		"deployment.health_check_success_threshold":         ".ebextensions/04-rolling.config:9",
		"deployment.evaluation_time":                        ".ebextensions/04-rolling.config:12",
		"rolling_update.pause_time":                         ".ebextensions/04-rolling.config:17",
		"rolling_update.timeout":                            ".ebextensions/04-rolling.config:18",
		"auto_scaling.trigger.upper_breach_scale_increment": ".ebextensions/02-autoscaling-triggers.config:14",
	} {
		if prov[key].String() != src {
			t.Errorf("provenance of %s: %s, want %s", key, prov[key], src)
		}
	}
	for _, n := range p.NotApplied {
		if strings.HasPrefix(n.What, "Resources.AWSEBAutoScalingGroup") {
			t.Errorf("the health check override is listed as not applied: %+v", n)
		}
	}
}

// TestApplyDeploymentDefaults: without settings, the sections hold
// Beanstalk's defaults, converted to seconds, with Beanstalk default as
// their provenance.
func TestApplyDeploymentDefaults(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Procfile", "web: ./serve\n")
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, prov, err := p.Apply(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Deployment.EvaluationTime != 300 || c.RollingUpdate.Timeout != 1800 || c.AutoScaling.Trigger.Period != 300 ||
		c.AutoScaling.Trigger.BreachDuration != 300 || c.AutoScaling.Cooldown != 360 || c.AutoScaling.HealthCheckType != "EC2" ||
		c.Deployment.Policy != "AllAtOnce" || c.RollingUpdate.MinInstancesInService != -1 {
		t.Errorf("defaults: %+v %+v %+v", c.Deployment, c.RollingUpdate, c.AutoScaling)
	}
	for _, key := range []string{"deployment.policy", "deployment.evaluation_time", "rolling_update.timeout", "auto_scaling.trigger.breach_duration"} {
		if prov[key].String() != "Beanstalk default" {
			t.Errorf("provenance of %s: %s", key, prov[key])
		}
	}
}

// TestApplyBreachDurationAndCommandThreshold: a file's BreachDuration wins
// over Period times EvaluationPeriods; HealthCheckSuccessThreshold set in
// the command namespace wins over healthreporting:system.
func TestApplyBreachDurationAndCommandThreshold(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Procfile", "web: ./serve\n")
	write(t, dir, ".ebextensions/t.config", `option_settings:
  aws:autoscaling:trigger:
    Period: '1'
    EvaluationPeriods: '2'
    BreachDuration: '4'
    UpperThreshold: '0.5'
    LowerThreshold: '0.1'
    MeasureName: Latency
    Unit: Seconds
  aws:elasticbeanstalk:command:
    HealthCheckSuccessThreshold: Degraded
  aws:elasticbeanstalk:healthreporting:system:
    HealthCheckSuccessThreshold: Warning
`)
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := p.Apply(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := c.AutoScaling.Trigger
	if tr.Period != 60 || tr.BreachDuration != 240 || tr.UpperThreshold != 0.5 || tr.LowerThreshold != 0.1 {
		t.Errorf("trigger %+v", tr)
	}
	if c.Deployment.HealthCheckSuccessThreshold != "Degraded" {
		t.Errorf("threshold %q", c.Deployment.HealthCheckSuccessThreshold)
	}
}

// TestApplyDeploymentInvalid: a value the option table takes but elbow's
// config refuses is reported with the file that set it.
func TestApplyDeploymentInvalid(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Procfile", "web: ./serve\n")
	write(t, dir, ".ebextensions/t.config", `option_settings:
  aws:autoscaling:trigger:
    Period: '2'
    BreachDuration: '3'
  aws:elasticbeanstalk:command:
    BatchSize: '150'
`)
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Apply(nil)
	if err == nil {
		t.Fatal("applied an invalid project")
	}
	for _, want := range []string{
		"deployment.batch_size: 150 is out of range: must be between 1 and 100 percent (set by .ebextensions/t.config:6)",
		"auto_scaling.trigger.breach_duration: 180 is not a multiple of period 120: a breach lasts a whole number of periods (Beanstalk's Period times EvaluationPeriods) (set by .ebextensions/t.config:4)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error:\n%v\nwant a line %q", err, want)
		}
	}
}

func TestISOSeconds(t *testing.T) {
	for in, want := range map[string]int{"PT30M": 1800, "PT1H": 3600, "PT1M30S": 90, "PT0S": 0, "PT2H5M7S": 7507} {
		if got, err := isoSeconds(in); err != nil || got != want {
			t.Errorf("isoSeconds(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"PT", "30M", "P1D", "PT1.5M"} {
		if _, err := isoSeconds(in); err == nil {
			t.Errorf("isoSeconds(%q) took it", in)
		}
	}
}

// TestTriggerThresholdOption: the thresholds take decimals (a Latency
// threshold in seconds) within Beanstalk's 0-20000000, and the
// trafficsplitting namespace has Beanstalk's ranges.
func TestTriggerThresholdOption(t *testing.T) {
	for _, tc := range []struct{ ns, opt, value, want string }{
		{nsTrigger, "UpperThreshold", "0.5", ""},
		{nsTrigger, "LowerThreshold", "2000000", ""},
		{nsTrigger, "UpperThreshold", "fast", "Invalid option value: 'fast' (Namespace: 'aws:autoscaling:trigger', OptionName: 'UpperThreshold'): Value is not a number."},
		{nsTrigger, "UpperThreshold", "20000001", "Invalid option value: '20000001' (Namespace: 'aws:autoscaling:trigger', OptionName: 'UpperThreshold'): Value is greater than maximum allowed value: 20000000"},
		{nsTrigger, "LowerThreshold", "-1", "Invalid option value: '-1' (Namespace: 'aws:autoscaling:trigger', OptionName: 'LowerThreshold'): Value is less than minimum allowed value: 0"},
		{nsTraffic, "NewVersionPercent", "0", "Invalid option value: '0' (Namespace: 'aws:elasticbeanstalk:trafficsplitting', OptionName: 'NewVersionPercent'): Value is less than minimum allowed value: 1"},
		{nsTraffic, "EvaluationTime", "601", "Invalid option value: '601' (Namespace: 'aws:elasticbeanstalk:trafficsplitting', OptionName: 'EvaluationTime'): Value is greater than maximum allowed value: 600"},
	} {
		if got := checkOption(tc.ns, tc.opt, tc.value); got != tc.want {
			t.Errorf("%s %s=%s:\n got %q\nwant %q", tc.ns, tc.opt, tc.value, got, tc.want)
		}
	}
}
