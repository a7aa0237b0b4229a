package monitor

import (
	"fmt"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

// The figures published with the causes are the ones the causes were read
// from: the evaluation period's, with its true length, and a request rate
// over the time the requests were counted in (2 requests in the first 10 s
// are 12 a minute, as r/sec 0.2 shows, not 2 a minute over a 60 s period
// that has not elapsed).
func TestEvaluationMetricsAreTheCauses(t *testing.T) {
	m, c, _ := newTestMonitor(t, config.DefaultEnhancedHealth)
	m.AddInstance("i-1", t0.Add(-time.Hour), nil)
	for w := 1; w <= 9; w++ {
		if w%3 != 0 { // two checks in two windows of three
			m.RecordRequest("i-1", 400, time.Millisecond)
		}
		m.Evaluate(c.tick())
		in := m.InstancesHealth().InstanceHealthList[0]
		env := m.EnvironmentHealth()
		for _, got := range []struct {
			who    string
			causes []string
			p      *PeriodMetrics
		}{{"instance", in.Causes, in.EvaluationMetrics}, {"environment", env.Causes, env.EvaluationMetrics}} {
			if got.p == nil {
				t.Fatalf("window %d: %s has no EvaluationMetrics", w, got.who)
			}
			wantDur := min(w, 6) * 10
			if got.p.Duration != wantDur || !got.p.End.Equal(c.now()) {
				t.Errorf("window %d: %s period %d s to %s, want %d s to %s", w, got.who, got.p.Duration, got.p.End, wantDur, c.now())
			}
			want := fmt.Sprintf("%.1f %% of the requests are erroring with HTTP 4xx.", 100*float64(got.p.StatusCodes.Status4xx)/float64(got.p.RequestCount))
			if len(got.causes) != 1 || got.causes[0] != want {
				t.Errorf("window %d: %s causes %q beside %d of %d requests 4xx, want %q", w, got.who, got.causes, got.p.StatusCodes.Status4xx, got.p.RequestCount, want)
			}
		}
	}
}
