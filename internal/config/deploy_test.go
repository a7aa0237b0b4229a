package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestDeploymentScalingDefaultsAreBeanstalks: a file without the three
// sections gets Beanstalk's defaults (command-options-general.html).
func TestDeploymentScalingDefaultsAreBeanstalks(t *testing.T) {
	for name, c := range map[string]*Config{"built-in": Default(), "file": mustParse(t, "instances:\n  command: ./run\n")} {
		d, r, a := c.Deployment, c.RollingUpdate, c.AutoScaling
		if d.Policy != "AllAtOnce" || d.BatchSizeType != "Percentage" || d.BatchSize != 100 || d.Timeout != 600 ||
			d.IgnoreHealthCheck || d.HealthCheckSuccessThreshold != "Ok" || d.NewVersionPercent != 10 ||
			d.EvaluationTime != 300 || d.HealthGate != (HealthGate{Checks: 12, Window: 120}) {
			t.Errorf("%s: deployment %+v", name, d)
		}
		if r.Enabled || r.Type != "Time" || r.MaxBatchSize != 0 || r.MinInstancesInService != -1 || r.PauseTime != 0 || r.Timeout != 1800 {
			t.Errorf("%s: rolling_update %+v", name, r)
		}
		tr := a.Trigger
		if a.Cooldown != 360 || a.HealthCheckType != "EC2" || a.HealthCheckGracePeriod != 300 ||
			tr.MeasureName != "NetworkOut" || tr.Statistic != "Average" || tr.Unit != "Bytes" || tr.Period != 300 ||
			tr.BreachDuration != 300 || tr.UpperThreshold != 6000000 || tr.LowerThreshold != 2000000 ||
			tr.UpperBreachScaleIncrement != 1 || tr.LowerBreachScaleIncrement != -1 {
			t.Errorf("%s: auto_scaling %+v", name, a)
		}
	}
}

// TestDeploymentScalingPartialKeepsDefaults: a key set in a nested block
// leaves its siblings at their defaults.
func TestDeploymentScalingPartialKeepsDefaults(t *testing.T) {
	c := mustParse(t, `instances:
  command: ./run
deployment:
  policy: Rolling
  batch_size_type: Fixed
  batch_size: 1
  health_gate: {checks: 2}
rolling_update: {enabled: true, type: Health}
auto_scaling:
  health_check_type: ELB
  trigger: {measure_name: RequestCount, unit: Count, period: 1, breach_duration: 3, upper_threshold: 0.5, lower_threshold: 0}
`)
	if c.Deployment.Policy != "Rolling" || c.Deployment.BatchSize != 1 || c.Deployment.HealthGate != (HealthGate{Checks: 2, Window: 120}) || c.Deployment.Timeout != 600 {
		t.Errorf("deployment %+v", c.Deployment)
	}
	if !c.RollingUpdate.Enabled || c.RollingUpdate.Type != "Health" || c.RollingUpdate.Timeout != 1800 || c.RollingUpdate.MinInstancesInService != -1 {
		t.Errorf("rolling_update %+v", c.RollingUpdate)
	}
	tr := c.AutoScaling.Trigger
	if c.AutoScaling.HealthCheckType != "ELB" || c.AutoScaling.Cooldown != 360 || tr.MeasureName != "RequestCount" ||
		tr.Statistic != "Average" || tr.BreachDuration != 3 || tr.UpperThreshold != 0.5 || tr.UpperBreachScaleIncrement != 1 {
		t.Errorf("auto_scaling %+v", c.AutoScaling)
	}
	// Marshalled and parsed again, the sections are the same.
	data, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "upper_threshold: 0.5\n") || !strings.Contains(string(data), "lower_threshold: 0\n") {
		t.Errorf("thresholds as written:\n%s", data)
	}
	def, _ := Marshal(Default())
	if !strings.Contains(string(def), "upper_threshold: 6000000\n") {
		t.Errorf("default thresholds as written:\n%s", def)
	}
	again := mustParse(t, string(data))
	if d := Diff(c, again); len(d) > 0 {
		t.Errorf("the copy differs: %+v", d)
	}
}

// TestDeploymentScalingBadConfigs matches each fixture against its exact messages.
func TestDeploymentScalingBadConfigs(t *testing.T) {
	cases := map[string][]string{
		"invalid-deployment.yaml": {
			`testdata/invalid-deployment.yaml:4: deployment.policy: "BlueGreen" is not allowed: must be one of AllAtOnce, Rolling, RollingWithAdditionalBatch, Immutable, TrafficSplitting`,
			"testdata/invalid-deployment.yaml:6: deployment.batch_size: 150 is out of range: must be between 1 and 100 percent",
			"testdata/invalid-deployment.yaml:7: deployment.timeout: 0 is out of range: must be between 1 and 3600 seconds",
			`testdata/invalid-deployment.yaml:8: deployment.health_check_success_threshold: "Info" is not allowed: must be one of Ok, Warning, Degraded, Severe`,
			"testdata/invalid-deployment.yaml:9: deployment.new_version_percent: 0 is out of range: must be between 1 and 100 percent",
			"testdata/invalid-deployment.yaml:10: deployment.evaluation_time: 0 is out of range: must be at least 1 seconds",
			"testdata/invalid-deployment.yaml:12: deployment.health_gate.checks: 101 is out of range: must be between 1 and 100 checks",
			"testdata/invalid-deployment.yaml:13: deployment.health_gate.window: 0 is out of range: must be at least 1 seconds",
		},
		"invalid-rolling-update.yaml": {
			`testdata/invalid-rolling-update.yaml:7: rolling_update.type: "Fast" is not allowed: must be one of Time, Health, Immutable`,
			"testdata/invalid-rolling-update.yaml:8: rolling_update.max_batch_size: -1 is out of range: must be at least 0 instances (0 for Beanstalk's default)",
			"testdata/invalid-rolling-update.yaml:9: rolling_update.min_instances_in_service: 3 is not below instances.max 3: an update needs at least one instance out of service",
			"testdata/invalid-rolling-update.yaml:10: rolling_update.pause_time: -5 is out of range: must be at least 0 seconds",
			"testdata/invalid-rolling-update.yaml:11: rolling_update.timeout: 4000 is out of range: must be between 1 and 3600 seconds",
		},
		"invalid-auto-scaling.yaml": {
			"testdata/invalid-auto-scaling.yaml:4: auto_scaling.cooldown: -1 is out of range: must be at least 0 seconds",
			`testdata/invalid-auto-scaling.yaml:5: auto_scaling.health_check_type: "TCP" is not allowed: must be one of EC2, ELB`,
			"testdata/invalid-auto-scaling.yaml:6: auto_scaling.health_check_grace_period: -30 is out of range: must be at least 0 seconds",
			`testdata/invalid-auto-scaling.yaml:8: auto_scaling.trigger.measure_name: "MemoryUtilization" is not allowed: must be one of CPUUtilization, NetworkIn, NetworkOut, DiskWriteOps, DiskReadBytes, DiskReadOps, DiskWriteBytes, Latency, RequestCount, HealthyHostCount, UnhealthyHostCount, TargetResponseTime`,
			`testdata/invalid-auto-scaling.yaml:9: auto_scaling.trigger.statistic: "Median" is not allowed: must be one of Minimum, Maximum, Sum, Average`,
			`testdata/invalid-auto-scaling.yaml:10: auto_scaling.trigger.unit: "Megabytes" is not allowed: must be one of Seconds, Percent, Bytes, Bits, Count, Bytes/Second, Bits/Second, Count/Second, None`,
			"testdata/invalid-auto-scaling.yaml:12: auto_scaling.trigger.breach_duration: 90 is not a multiple of period 60: a breach lasts a whole number of periods (Beanstalk's Period times EvaluationPeriods)",
			"testdata/invalid-auto-scaling.yaml:13: auto_scaling.trigger.upper_threshold: 10 is below lower_threshold 20: the upper threshold must be at least the lower one",
		},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load("testdata/" + name)
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("err = %v, want Errors", err)
			}
			if got := es.Error(); got != strings.Join(want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
		})
	}
}

// TestBatchAndBreachRules: the rules that depend on another key.
func TestBatchAndBreachRules(t *testing.T) {
	cases := []struct {
		yaml, want string
	}{
		{"deployment: {batch_size_type: Fixed, batch_size: 150}", ""},
		{"deployment: {batch_size_type: Fixed, batch_size: 0}", "deployment.batch_size: 0 is out of range: a Fixed batch must be at least 1 instance"},
		{"deployment: {batch_size_type: Percent}", `deployment.batch_size_type: "Percent" is not allowed: must be one of Percentage, Fixed`},
		{"auto_scaling: {trigger: {period: 60, breach_duration: 30}}", "auto_scaling.trigger.breach_duration: 30 is shorter than period 60: a breach lasts at least one period"},
		{"auto_scaling: {trigger: {period: 0, breach_duration: 0}}", "auto_scaling.trigger.period: 0 is out of range: must be at least 1 seconds"},
		{"auto_scaling: {trigger: {period: 60, breach_duration: 180, upper_threshold: 5, lower_threshold: 5}}", ""},
		{"auto_scaling: {trigger: {lower_threshold: -1}}", "auto_scaling.trigger.lower_threshold: -1 is out of range: must be a number of at least 0"},
		{"rolling_update: {min_instances_in_service: -2}", "rolling_update.min_instances_in_service: -2 is out of range: must be -1 (Beanstalk's default) or at least 0"},
		{"rolling_update: {min_instances_in_service: 3}", ""},
		// Policy Immutable with a Time rolling update is accepted, as Beanstalk does.
		{"deployment: {policy: Immutable}\nrolling_update: {type: Time}", ""},
	}
	for _, tc := range cases {
		_, err := Parse("", []byte("instances:\n  command: ./run\n"+tc.yaml+"\n"))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.yaml, got, tc.want)
		}
	}
}

func mustParse(t *testing.T, yaml string) *Config {
	t.Helper()
	c, err := Parse("elbow.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWriteBackDeploymentScaling: a change to the new sections made to the
// running config is written into a file that did not have them, and the
// file then loads as the running config.
func TestWriteBackDeploymentScaling(t *testing.T) {
	path := t.TempDir() + "/elbow.yaml"
	if err := os.WriteFile(path, []byte("# mine\ninstances:\n  command: ./run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := Load(path)
	after.Deployment.Policy = "Rolling"
	after.RollingUpdate.PauseTime = 30
	after.AutoScaling.Trigger.Period, after.AutoScaling.Trigger.BreachDuration = 60, 120
	after.AutoScaling.Trigger.UpperThreshold = 7000000
	if err := WriteBack(path, before, after); err != nil {
		t.Fatal(err)
	}
	again, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(after, again); len(d) > 0 {
		t.Errorf("the file differs from the running config: %+v", d)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "# mine\n") || strings.Contains(string(data), "health_gate") ||
		!strings.Contains(string(data), "upper_threshold: 7000000\n") {
		t.Errorf("file:\n%s", data)
	}
}
