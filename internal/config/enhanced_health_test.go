package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestEnhancedHealthDefaults(t *testing.T) {
	c, err := Parse("elbow.yaml", []byte("instances:\n  sample_app: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.EnhancedHealth, DefaultEnhancedHealth) {
		t.Errorf("without the section: %+v, want the defaults %+v", c.EnhancedHealth, DefaultEnhancedHealth)
	}
	if d := Default(); !reflect.DeepEqual(d.EnhancedHealth, DefaultEnhancedHealth) {
		t.Errorf("built-in default: %+v, want the defaults", d.EnhancedHealth)
	}
	if errs := ValidateEnhancedHealth(DefaultEnhancedHealth); len(errs) != 0 {
		t.Errorf("the defaults are invalid: %v", errs)
	}
}

func TestEnhancedHealthPartialKeepsDefaults(t *testing.T) {
	yaml := `instances:
  sample_app: true
enhanced_health:
  min_request_rate: 10
  application_requests_4xx:
    enabled: false
  cpu:
    warning: 80
`
	c, err := Parse("elbow.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultEnhancedHealth
	want.MinRequestRate = 10
	want.ApplicationRequests4xx.Enabled = false
	want.CPU.Warning = 80
	if !reflect.DeepEqual(c.EnhancedHealth, want) {
		t.Errorf("got %+v\nwant %+v", c.EnhancedHealth, want)
	}
	if got := c.EnhancedHealth.ApplicationRequests4xx.Levels(); got != (Thresholds{}) {
		t.Errorf("a disabled rule has levels %+v, want all off", got)
	}
	if got := c.EnhancedHealth.ELBRequests4xx.Levels(); got != (Thresholds{Warning: 10, Degraded: 25, Severe: 50}) {
		t.Errorf("ELBRequests4xx levels %+v, want 10/25/50", got)
	}
}

func TestEnhancedHealthValidation(t *testing.T) {
	_, err := Load("testdata/invalid-enhanced-health.yaml")
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %v, want Errors", err)
	}
	f := "testdata/invalid-enhanced-health.yaml"
	want := []string{
		f + ":4: enhanced_health.evaluation_period: 45 is not a multiple of 10: the rules read whole 10-second windows",
		f + ":5: enhanced_health.min_request_rate: -1 is out of range: must be between 0 (off) and 100000 requests per minute",
		f + ":6: enhanced_health.transition_evaluations: 0 is out of range: must be between 1 and 60 evaluations",
		f + ":9: enhanced_health.application_requests_5xx.degraded: 10 is not above warning 20: a worse status needs a higher percentage",
		f + ":11: enhanced_health.cpu.severe: 101 is out of range: must be 0 (off) or a percentage above 0 and at most 100",
		f + ":14: enhanced_health.elb_requests_4xx.warning: 150 is out of range: must be 0 (off) or a percentage above 0 and at most 100",
		f + `:15: enhanced_health.tresholds: unknown key "tresholds"; allowed here: application_requests_4xx, application_requests_5xx, cpu, elb_health, elb_requests_4xx, elb_requests_5xx, evaluation_period, event_history, launch_grace_period, min_request_rate, transition_evaluations`,
	}
	got := strings.Split(es.Error(), "\n")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestValidateEnhancedHealthRanges(t *testing.T) {
	e := DefaultEnhancedHealth
	e.EvaluationPeriod = 310
	e.LaunchGracePeriod = -1
	e.EventHistory = 5
	e.ELBHealth = Thresholds{Warning: 50, Severe: 50}
	want := []string{
		"evaluation_period: 310 is out of range: must be between 10 and 300 seconds",
		"launch_grace_period: -1 is out of range: must be between 0 and 3600 seconds",
		"event_history: 5 is out of range: must be between 10 and 100000 events",
		"elb_health.severe: 50 is not above warning 50: a worse status needs a higher percentage",
	}
	errs := ValidateEnhancedHealth(e)
	got := make([]string, len(errs))
	for i, e := range errs {
		got[i] = e.Error()
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
