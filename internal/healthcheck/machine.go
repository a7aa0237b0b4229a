package healthcheck

// machine is one target's ALB health state machine
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html):
//
//	initial   -> healthy after one passing check;
//	initial   -> unhealthy after UnhealthyThreshold consecutive failures;
//	healthy   -> unhealthy after UnhealthyThreshold consecutive failures;
//	unhealthy -> healthy after HealthyThreshold consecutive passes.
//
// An unhealthy target's reason and description follow its latest failure, so
// a fix that turns a [400] into a [301] shows at once. machine is owned by the
// scheduler under its lock; it does no I/O.
type machine struct {
	health TargetHealth
	passes int // consecutive passes
	fails  int // consecutive failures
}

func newMachine() machine {
	return machine{health: Health(StateInitial, ReasonRegistrationInProgress)}
}

// begin marks the first check as sent: registration is over.
func (m *machine) begin() (TargetHealth, bool) {
	if m.health.State == StateInitial && m.health.Reason == ReasonRegistrationInProgress {
		m.health = Health(StateInitial, ReasonInitialHealthChecking)
		return m.health, true
	}
	return m.health, false
}

// observe applies one result and returns the new health and whether it changed.
func (m *machine) observe(r Result, s Settings) (TargetHealth, bool) {
	before := m.health
	if r.Passed() {
		m.passes++
		m.fails = 0
		switch m.health.State {
		case StateInitial:
			m.health = TargetHealth{State: StateHealthy}
		case StateUnhealthy:
			if m.passes >= s.HealthyThreshold {
				m.health = TargetHealth{State: StateHealthy}
			}
		}
	} else {
		m.fails++
		m.passes = 0
		switch m.health.State {
		case StateInitial, StateHealthy:
			if m.fails >= s.UnhealthyThreshold {
				m.health = r.Health()
			}
		case StateUnhealthy:
			m.health = r.Health()
		}
	}
	return m.health, m.health != before
}
