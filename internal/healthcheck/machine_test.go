package healthcheck

import (
	"strconv"
	"testing"
)

func pass() Result { return Result{StatusCode: 200} }
func code(c int) Result {
	return Result{StatusCode: c, Reason: ReasonResponseCodeMismatch}
}
func timeout() Result { return Result{Reason: ReasonTimeout} }
func refused() Result { return Result{Reason: ReasonFailedHealthChecks} }

var (
	initialChecking = Health(StateInitial, ReasonInitialHealthChecking)
	healthy         = TargetHealth{State: StateHealthy}
)

func unhealthyWith(c int) TargetHealth {
	return TargetHealth{StateUnhealthy, ReasonResponseCodeMismatch, "Health checks failed with these codes: [" + strconv.Itoa(c) + "]"}
}

// TestMachine walks the ALB state machine through every transition and reason
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html), with healthy threshold 3 and unhealthy 2.
func TestMachine(t *testing.T) {
	s := EBDefaults()
	s.HealthyThreshold, s.UnhealthyThreshold = 3, 2
	type step struct {
		r      Result
		want   TargetHealth
		change bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"one pass makes a new target healthy", []step{{pass(), healthy, true}}},
		{"a new target fails up to the threshold, then is unhealthy", []step{
			{code(400), initialChecking, false},
			{code(400), unhealthyWith(400), true},
		}},
		{"a pass resets the failure count of a new target", []step{
			{code(400), initialChecking, false},
			{pass(), healthy, true},
		}},
		{"healthy survives fewer failures than the threshold", []step{
			{pass(), healthy, true},
			{timeout(), healthy, false},
			{pass(), healthy, false},
			{timeout(), healthy, false},
			{pass(), healthy, false},
		}},
		{"healthy turns unhealthy after the threshold, reason of the last failure", []step{
			{pass(), healthy, true},
			{code(500), healthy, false},
			{timeout(), Health(StateUnhealthy, ReasonTimeout), true},
		}},
		{"unhealthy follows the latest failure's reason", []step{
			{refused(), initialChecking, false},
			{refused(), Health(StateUnhealthy, ReasonFailedHealthChecks), true},
			{code(400), unhealthyWith(400), true},
			{code(301), unhealthyWith(301), true},
			{code(301), unhealthyWith(301), false},
		}},
		{"unhealthy needs the healthy threshold of consecutive passes", []step{
			{code(400), initialChecking, false},
			{code(400), unhealthyWith(400), true},
			{pass(), unhealthyWith(400), false},
			{pass(), unhealthyWith(400), false},
			{code(400), unhealthyWith(400), false},
			{pass(), unhealthyWith(400), false},
			{pass(), unhealthyWith(400), false},
			{pass(), healthy, true},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine()
			if h, changed := m.begin(); h != initialChecking || !changed {
				t.Fatalf("begin: %+v %v", h, changed)
			}
			if _, changed := m.begin(); changed {
				t.Fatal("begin twice changed the state")
			}
			for i, st := range tc.steps {
				h, changed := m.observe(st.r, s)
				if h != st.want || changed != st.change {
					t.Fatalf("step %d: got %+v changed=%v; want %+v changed=%v", i, h, changed, st.want, st.change)
				}
			}
		})
	}
}

func TestNewMachineIsRegistering(t *testing.T) {
	m := newMachine()
	want := TargetHealth{StateInitial, ReasonRegistrationInProgress, "Target registration is in progress"}
	if m.health != want {
		t.Errorf("new target: %+v, want %+v", m.health, want)
	}
}
