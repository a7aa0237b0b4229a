package autoscale

import (
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

// GroupOf is the group an environment's config describes: instances.min
// and instances.max, and the auto_scaling section's cooldown and health
// check.
func GroupOf(c *config.Config) Group {
	a := c.AutoScaling
	return Group{
		Min: c.Instances.Min, Max: c.Instances.Max,
		Cooldown:               time.Duration(a.Cooldown) * time.Second,
		HealthCheckType:        a.HealthCheckType,
		HealthCheckGracePeriod: time.Duration(a.HealthCheckGracePeriod) * time.Second,
	}
}

// TriggerOf is the auto_scaling section's trigger.
func TriggerOf(c *config.Config) Trigger {
	t := c.AutoScaling.Trigger
	return Trigger{
		MeasureName: t.MeasureName, Statistic: t.Statistic, Unit: t.Unit,
		Period:                    time.Duration(t.Period) * time.Second,
		BreachDuration:            time.Duration(t.BreachDuration) * time.Second,
		UpperThreshold:            t.UpperThreshold,
		LowerThreshold:            t.LowerThreshold,
		UpperBreachScaleIncrement: t.UpperBreachScaleIncrement,
		LowerBreachScaleIncrement: t.LowerBreachScaleIncrement,
	}
}
