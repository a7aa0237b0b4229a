package config

import (
	"math"

	"gopkg.in/yaml.v3"
)

// EnhancedHealth is the enhanced_health section: the thresholds that turn an
// instance's and the environment's requests, ELB health, CPU and capacity into
// Elastic Beanstalk statuses. AWS publishes none of its thresholds
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-status.html); these are elbow's, chosen and argued in
// docs/health-rules.md, and each can be set here.
type EnhancedHealth struct {
	// EvaluationPeriod is how many seconds of 10-second windows the request
	// rules read, 10-300, a multiple of 10. Default 60: one health check
	// every 15 s leaves most single 10 s windows with 0 or 1 request.
	EvaluationPeriod int `yaml:"evaluation_period"`
	// MinRequestRate in requests per minute over the evaluation period: below
	// it the request rules decide nothing ("Insufficient request rate").
	// 0 turns the guard off. Default 3, so that the health checker alone
	// (4 requests/min at the 15 s interval) decides.
	MinRequestRate float64 `yaml:"min_request_rate"`
	// LaunchGracePeriod in seconds a new instance stays Pending unless its
	// ELB health turns healthy first, 0-3600. Default 120.
	LaunchGracePeriod int `yaml:"launch_grace_period"`
	// TransitionEvaluations is how many consecutive 10 s evaluations a new
	// status must hold before it is adopted and reported, 1-60. Default 3.
	TransitionEvaluations int `yaml:"transition_evaluations"`
	// EventHistory is how many events are kept, 10-100000. Default 1000.
	EventHistory int `yaml:"event_history"`

	// ApplicationRequests4xx is Beanstalk's rule of that name
	// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-rules.html):
	// the percentage of an instance's requests answered with 4xx.
	ApplicationRequests4xx SwitchableThresholds `yaml:"application_requests_4xx"`
	// ApplicationRequests5xx: the percentage answered with 5xx. Beanstalk has
	// no switch for it ("You can't configure enhanced health to ignore other
	// HTTP errors in addition to 4xx", https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-rules.html).
	ApplicationRequests5xx Thresholds `yaml:"application_requests_5xx"`
	// ELBRequests4xx is Beanstalk's rule of that name: the percentage of the
	// requests to the load balancer that it answered itself with 4xx.
	ELBRequests4xx SwitchableThresholds `yaml:"elb_requests_4xx"`
	// ELBRequests5xx: the percentage the load balancer answered itself with
	// 5xx (502, 503, 504).
	ELBRequests5xx Thresholds `yaml:"elb_requests_5xx"`
	// CPU: percent of CPU in use by an instance's processes.
	CPU Thresholds `yaml:"cpu"`
	// ELBHealth: percent of the environment's instances whose ELB health is
	// failing or not available. An instance alone is Severe when its target
	// is unhealthy.
	ELBHealth Thresholds `yaml:"elb_health"`
}

// Thresholds are the percentages at or above which a rule gives Warning,
// Degraded or Severe. 0 turns a level off.
type Thresholds struct {
	Warning  float64 `yaml:"warning"`
	Degraded float64 `yaml:"degraded"`
	Severe   float64 `yaml:"severe"`
}

// SwitchableThresholds are Thresholds of a rule Beanstalk lets you ignore.
type SwitchableThresholds struct {
	// Enabled false ignores the rule, as Beanstalk's "Enabled": false.
	Enabled  bool    `yaml:"enabled"`
	Warning  float64 `yaml:"warning"`
	Degraded float64 `yaml:"degraded"`
	Severe   float64 `yaml:"severe"`
}

// Levels returns the thresholds, or all zero (off) when the rule is disabled.
func (s SwitchableThresholds) Levels() Thresholds {
	if !s.Enabled {
		return Thresholds{}
	}
	return s.thresholds()
}

// thresholds are the levels as set, checked even while the rule is off so
// that turning it on cannot reveal an error.
func (s SwitchableThresholds) thresholds() Thresholds {
	return Thresholds{Warning: s.Warning, Degraded: s.Degraded, Severe: s.Severe}
}

// DefaultEnhancedHealth holds elbow's thresholds; docs/health-rules.md gives
// the reasons and the AWS observations each agrees with.
var DefaultEnhancedHealth = EnhancedHealth{
	EvaluationPeriod:       60,
	MinRequestRate:         3,
	LaunchGracePeriod:      120,
	TransitionEvaluations:  3,
	EventHistory:           1000,
	ApplicationRequests4xx: SwitchableThresholds{Enabled: true, Warning: 10, Degraded: 25, Severe: 50},
	ApplicationRequests5xx: Thresholds{Warning: 1, Degraded: 10, Severe: 25},
	ELBRequests4xx:         SwitchableThresholds{Enabled: true, Warning: 10, Degraded: 25, Severe: 50},
	ELBRequests5xx:         Thresholds{Warning: 1, Degraded: 10, Severe: 25},
	CPU:                    Thresholds{Warning: 90, Degraded: 95},
	ELBHealth:              Thresholds{Warning: 1, Degraded: 50, Severe: 100},
}

// UnmarshalYAML starts from the defaults, so that absent keys keep them.
func (e *EnhancedHealth) UnmarshalYAML(n *yaml.Node) error {
	*e = DefaultEnhancedHealth
	type plain EnhancedHealth
	return n.Decode((*plain)(e))
}

// ValidateEnhancedHealth checks an enhanced_health section alone, with the
// same rules and messages as the file; keys are relative to the section.
func ValidateEnhancedHealth(e EnhancedHealth) Errors {
	var v validator
	e.validateAt(&v, "")
	return v.errs
}

func (e *EnhancedHealth) validate(v *validator) { e.validateAt(v, "enhanced_health") }

func (e *EnhancedHealth) validateAt(v *validator, key string) {
	k := func(field string) string {
		if key == "" {
			return field
		}
		return key + "." + field
	}
	v.intRange(k("evaluation_period"), e.EvaluationPeriod, 10, 300, " seconds")
	if e.EvaluationPeriod%10 != 0 {
		v.add(k("evaluation_period"), "%d is not a multiple of 10: the rules read whole 10-second windows", e.EvaluationPeriod)
	}
	if math.IsNaN(e.MinRequestRate) || e.MinRequestRate < 0 || e.MinRequestRate > 100000 {
		v.add(k("min_request_rate"), "%g is out of range: must be between 0 (off) and 100000 requests per minute", e.MinRequestRate)
	}
	v.intRange(k("launch_grace_period"), e.LaunchGracePeriod, 0, 3600, " seconds")
	v.intRange(k("transition_evaluations"), e.TransitionEvaluations, 1, 60, " evaluations")
	v.intRange(k("event_history"), e.EventHistory, 10, 100000, " events")
	e.ApplicationRequests4xx.thresholds().validate(v, k("application_requests_4xx"))
	e.ApplicationRequests5xx.validate(v, k("application_requests_5xx"))
	e.ELBRequests4xx.thresholds().validate(v, k("elb_requests_4xx"))
	e.ELBRequests5xx.validate(v, k("elb_requests_5xx"))
	e.CPU.validate(v, k("cpu"))
	e.ELBHealth.validate(v, k("elb_health"))
}

func (t Thresholds) validate(v *validator, key string) {
	levels := []struct {
		name string
		val  float64
	}{{"warning", t.Warning}, {"degraded", t.Degraded}, {"severe", t.Severe}}
	prev, prevName := 0.0, ""
	for _, l := range levels {
		if math.IsNaN(l.val) || l.val < 0 || l.val > 100 {
			v.add(key+"."+l.name, "%g is out of range: must be 0 (off) or a percentage above 0 and at most 100", l.val)
			continue
		}
		if l.val == 0 {
			continue
		}
		if prevName != "" && l.val <= prev {
			v.add(key+"."+l.name, "%g is not above %s %g: a worse status needs a higher percentage", l.val, prevName, prev)
		}
		prev, prevName = l.val, l.name
	}
}
