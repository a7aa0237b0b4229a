package autoscale

import (
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

func TestGroupAndTriggerOfConfig(t *testing.T) {
	c, err := config.Parse("elbow.yaml", []byte(`instances:
  command: ./run
  min: 2
  max: 5
auto_scaling:
  cooldown: 30
  health_check_type: ELB
  health_check_grace_period: 45
  trigger: {measure_name: RequestCount, statistic: Sum, unit: Count, period: 10, breach_duration: 20, upper_threshold: 100, lower_threshold: 5, upper_breach_scale_increment: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	g := GroupOf(c)
	if g != (Group{Min: 2, Max: 5, Cooldown: 30 * time.Second, HealthCheckType: "ELB", HealthCheckGracePeriod: 45 * time.Second}) {
		t.Errorf("group %+v", g)
	}
	tr := TriggerOf(c)
	want := Trigger{MeasureName: "RequestCount", Statistic: "Sum", Unit: "Count", Period: 10 * time.Second, BreachDuration: 20 * time.Second,
		UpperThreshold: 100, LowerThreshold: 5, UpperBreachScaleIncrement: 2, LowerBreachScaleIncrement: -1}
	if tr != want {
		t.Errorf("trigger %+v\nwant %+v", tr, want)
	}
}
