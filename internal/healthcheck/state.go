package healthcheck

import (
	"fmt"
	"net"
	"strconv"
)

// State is a target's health state, as TargetHealthStateEnum in the ELBv2 API
// model (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html). unhealthy.draining is NLB-only and absent.
type State string

const (
	StateInitial     State = "initial"
	StateHealthy     State = "healthy"
	StateUnhealthy   State = "unhealthy"
	StateUnused      State = "unused"
	StateDraining    State = "draining"
	StateUnavailable State = "unavailable"
)

// Reason is a TargetHealthReasonEnum value. Reasons starting "Elb" originate
// on the load-balancer side, "Target" on the target side (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html).
type Reason string

const (
	ReasonRegistrationInProgress   Reason = "Elb.RegistrationInProgress"
	ReasonInitialHealthChecking    Reason = "Elb.InitialHealthChecking"
	ReasonInternalError            Reason = "Elb.InternalError"
	ReasonResponseCodeMismatch     Reason = "Target.ResponseCodeMismatch"
	ReasonTimeout                  Reason = "Target.Timeout"
	ReasonFailedHealthChecks       Reason = "Target.FailedHealthChecks"
	ReasonNotRegistered            Reason = "Target.NotRegistered"
	ReasonNotInUse                 Reason = "Target.NotInUse"
	ReasonDeregistrationInProgress Reason = "Target.DeregistrationInProgress"
	ReasonHealthCheckDisabled      Reason = "Target.HealthCheckDisabled"
)

// descriptions holds the fixed Description of each reason, worded as the ELB
// user guide's table (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html,
// "Health check reason codes"). ResponseCodeMismatch is
// built from the codes seen; see MismatchDescription.
var descriptions = map[Reason]string{
	ReasonRegistrationInProgress:   "Target registration is in progress",
	ReasonInitialHealthChecking:    "Initial health checks in progress",
	ReasonInternalError:            "Health checks failed due to an internal error",
	ReasonTimeout:                  "Request timed out",
	ReasonFailedHealthChecks:       "Health checks failed",
	ReasonNotRegistered:            "Target is not registered to the target group",
	ReasonNotInUse:                 "Target group is not configured to receive traffic from the load balancer",
	ReasonDeregistrationInProgress: "Target deregistration is in progress",
	ReasonHealthCheckDisabled:      "Health checks are disabled",
}

// Description returns the fixed description of r, or "" for a reason whose
// description depends on the response (ResponseCodeMismatch) or is unknown.
func (r Reason) Description() string { return descriptions[r] }

// MismatchDescription is the Target.ResponseCodeMismatch description for a
// response code: "Health checks failed with these codes: [400]".
func MismatchDescription(code int) string {
	return "Health checks failed with these codes: [" + strconv.Itoa(code) + "]"
}

// TargetHealth is the TargetHealth element of DescribeTargetHealth: a healthy
// target has neither Reason nor Description.
type TargetHealth struct {
	State       State  `json:"State"`
	Reason      Reason `json:"Reason,omitempty"`
	Description string `json:"Description,omitempty"`
}

// Health builds the TargetHealth for a state and a reason with its fixed description.
func Health(s State, r Reason) TargetHealth {
	return TargetHealth{State: s, Reason: r, Description: r.Description()}
}

// String renders the health as the AWS CLI's text output would: state, reason, description.
func (h TargetHealth) String() string {
	if h.Reason == "" {
		return string(h.State)
	}
	return fmt.Sprintf("%s (%s: %s)", h.State, h.Reason, h.Description)
}

// Target is one registered target: its Id (an instance id, or the IP for ip
// targets), the IP the checker and the proxy connect to, and its traffic port.
type Target struct {
	ID   string `json:"Id"`
	IP   string `json:"-"`
	Port int    `json:"Port"`
}

// Addr is the target's traffic address, ip:port.
func (t Target) Addr() string { return net.JoinHostPort(t.IP, strconv.Itoa(t.Port)) }

// Key identifies a registration: the same Id may be registered on several ports.
func (t Target) Key() string { return t.ID + "@" + strconv.Itoa(t.Port) }

// Reporter receives a target's health each time it changes (state, reason or
// description). The load balancer's target group and the monitor implement it.
// Calls arrive one at a time, in the order the changes were made, so a
// target's last report is its state. Implementations must not block, and
// must not call the checker's Add, Remove or UpdateSettings (they wait for
// the report in progress); reading it back (Health, Settings) is fine.
type Reporter interface {
	SetHealth(t Target, h TargetHealth)
}

// ResultObserver receives every finished probe, passed or failed, so that the
// monitor can count a health check as a request the instance answered.
type ResultObserver interface {
	ObserveProbe(r Result)
}
