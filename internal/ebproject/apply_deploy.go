package ebproject

import (
	"fmt"
	"strconv"
	"time"
)

// deployment maps the deployment, rolling-update and scaling namespaces
// onto the deployment, rolling_update and auto_scaling sections
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html).
// Beanstalk's minutes (Period, BreachDuration, EvaluationTime) and ISO 8601
// durations (PauseTime, Timeout) become elbow's seconds.
func (a *applier) deployment() error {
	d, r, as := &a.c.Deployment, &a.c.RollingUpdate, &a.c.AutoScaling
	str := func(ns, opt, key string, dst *string) {
		if s, ok := a.setting(ns, opt); ok {
			a.put(key, s.Source, func() { *dst = s.Value })
		}
	}
	num := func(ns, opt, key string, scale int, dst *int) {
		if s, ok := a.setting(ns, opt); ok {
			n, _ := strconv.Atoi(s.Value) // checked against the option table at load
			a.put(key, s.Source, func() { *dst = n * scale })
		}
	}
	flag := func(ns, opt, key string, dst *bool) {
		if s, ok := a.setting(ns, opt); ok {
			a.put(key, s.Source, func() { *dst = s.Value == "true" })
		}
	}
	iso := func(ns, opt, key string, dst *int) error {
		s, ok := a.setting(ns, opt)
		if !ok {
			return nil
		}
		sec, err := isoSeconds(s.Value)
		if err != nil {
			return fmt.Errorf("%s: %s %s: %w", s.Source, ns, opt, err)
		}
		a.put(key, s.Source, func() { *dst = sec })
		return nil
	}

	str(nsCommand, "DeploymentPolicy", "deployment.policy", &d.Policy)
	str(nsCommand, "BatchSizeType", "deployment.batch_size_type", &d.BatchSizeType)
	num(nsCommand, "BatchSize", "deployment.batch_size", 1, &d.BatchSize)
	num(nsCommand, "Timeout", "deployment.timeout", 1, &d.Timeout)
	flag(nsCommand, "IgnoreHealthCheck", "deployment.ignore_health_check", &d.IgnoreHealthCheck)
	// Both namespaces take HealthCheckSuccessThreshold (the options table
	// lists it under healthreporting:system, the enhanced health page under
	// command): a file's setting wins over the other's default, and command
	// over healthreporting:system when files set both.
	threshold, ok := a.setting(nsCommand, "HealthCheckSuccessThreshold")
	if h, hok := a.setting(nsHealth, "HealthCheckSuccessThreshold"); hok && (!ok || threshold.Source.File == "" && h.Source.File != "") {
		threshold, ok = h, true
	}
	if ok {
		a.put("deployment.health_check_success_threshold", threshold.Source, func() { d.HealthCheckSuccessThreshold = threshold.Value })
	}
	num(nsTraffic, "NewVersionPercent", "deployment.new_version_percent", 1, &d.NewVersionPercent)
	num(nsTraffic, "EvaluationTime", "deployment.evaluation_time", 60, &d.EvaluationTime)

	flag(nsRolling, "RollingUpdateEnabled", "rolling_update.enabled", &r.Enabled)
	str(nsRolling, "RollingUpdateType", "rolling_update.type", &r.Type)
	num(nsRolling, "MaxBatchSize", "rolling_update.max_batch_size", 1, &r.MaxBatchSize)
	num(nsRolling, "MinInstancesInService", "rolling_update.min_instances_in_service", 1, &r.MinInstancesInService)
	if err := iso(nsRolling, "PauseTime", "rolling_update.pause_time", &r.PauseTime); err != nil {
		return err
	}
	if err := iso(nsRolling, "Timeout", "rolling_update.timeout", &r.Timeout); err != nil {
		return err
	}

	num(nsASG, "Cooldown", "auto_scaling.cooldown", 1, &as.Cooldown)
	if s := a.p.ASGHealthCheckType; s != nil {
		a.put("auto_scaling.health_check_type", s.Source, func() { as.HealthCheckType = s.Value })
	}
	if s := a.p.ASGHealthCheckGracePeriod; s != nil {
		n, err := strconv.Atoi(s.Value)
		if err != nil {
			return fmt.Errorf("%s: HealthCheckGracePeriod %q is not a whole number of seconds", s.Source, s.Value)
		}
		a.put("auto_scaling.health_check_grace_period", s.Source, func() { as.HealthCheckGracePeriod = n })
	}

	t := &as.Trigger
	str(nsTrigger, "MeasureName", "auto_scaling.trigger.measure_name", &t.MeasureName)
	str(nsTrigger, "Statistic", "auto_scaling.trigger.statistic", &t.Statistic)
	str(nsTrigger, "Unit", "auto_scaling.trigger.unit", &t.Unit)
	num(nsTrigger, "Period", "auto_scaling.trigger.period", 60, &t.Period)
	// BreachDuration = Period * EvaluationPeriods: a file's BreachDuration
	// wins; without one it is Period times EvaluationPeriods, as the AWS
	// sample autoscaling-triggers-customize.config sets it
	// (awsdocs/elastic-beanstalk-samples).
	if b, ok := a.setting(nsTrigger, "BreachDuration"); ok && b.Source.File != "" {
		num(nsTrigger, "BreachDuration", "auto_scaling.trigger.breach_duration", 60, &t.BreachDuration)
	} else if e, ok := a.setting(nsTrigger, "EvaluationPeriods"); ok {
		n, _ := strconv.Atoi(e.Value)
		src := e.Source
		if p, ok := a.setting(nsTrigger, "Period"); ok && src.File == "" {
			src = p.Source
		}
		a.put("auto_scaling.trigger.breach_duration", src, func() { t.BreachDuration = t.Period * n })
	}
	for _, th := range []struct {
		opt, key string
		dst      *float64
	}{{"UpperThreshold", "auto_scaling.trigger.upper_threshold", &t.UpperThreshold}, {"LowerThreshold", "auto_scaling.trigger.lower_threshold", &t.LowerThreshold}} {
		if s, ok := a.setting(nsTrigger, th.opt); ok {
			v, err := strconv.ParseFloat(s.Value, 64)
			if err != nil {
				return fmt.Errorf("%s: %s %s %q is not a number", s.Source, nsTrigger, th.opt, s.Value)
			}
			a.put(th.key, s.Source, func() { *th.dst = v })
		}
	}
	num(nsTrigger, "UpperBreachScaleIncrement", "auto_scaling.trigger.upper_breach_scale_increment", 1, &t.UpperBreachScaleIncrement)
	num(nsTrigger, "LowerBreachScaleIncrement", "auto_scaling.trigger.lower_breach_scale_increment", 1, &t.LowerBreachScaleIncrement)
	return nil
}

// isoSeconds converts an ISO 8601 duration of the form the option table
// accepts (PT1H30M, PT5M, PT45S) to seconds.
func isoSeconds(v string) (int, error) {
	m := isoDuration.FindStringSubmatch(v)
	if m == nil || v == "PT" {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration such as PT30M", v)
	}
	total := time.Duration(0)
	for i, unit := range []time.Duration{time.Hour, time.Minute, time.Second} {
		if part := m[i+1]; part != "" {
			n, err := strconv.Atoi(part[:len(part)-1])
			if err != nil {
				return 0, fmt.Errorf("%q: %w", v, err)
			}
			total += time.Duration(n) * unit
		}
	}
	return int(total / time.Second), nil
}
