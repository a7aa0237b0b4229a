package deploy

import (
	"context"
	"errors"
	"time"
)

// Deployment policies (aws:elasticbeanstalk:command DeploymentPolicy).
const (
	AllAtOnce                  = "AllAtOnce"
	Rolling                    = "Rolling"
	RollingWithAdditionalBatch = "RollingWithAdditionalBatch"
	Immutable                  = "Immutable"
	TrafficSplitting           = "TrafficSplitting"
)

// Policy is how an application version is deployed:
// aws:elasticbeanstalk:command and aws:elasticbeanstalk:trafficsplitting.
type Policy struct {
	Type              string // AllAtOnce|Rolling|RollingWithAdditionalBatch|Immutable|TrafficSplitting
	BatchSizeType     string // Percentage|Fixed
	BatchSize         int
	Timeout           time.Duration
	IgnoreHealthCheck bool
	// HealthCheckSuccessThreshold is the worst enhanced-health status that
	// still counts as passing: Ok|Warning|Degraded|Severe ("" means Ok).
	HealthCheckSuccessThreshold string
	NewVersionPercent           int
	EvaluationTime              time.Duration
}

// RollingUpdate is how a configuration change that replaces instances is
// applied: aws:autoscaling:updatepolicy:rollingupdate.
type RollingUpdate struct {
	Enabled bool
	Type    string // Time|Health|Immutable
	// MaxBatchSize 0 means Beanstalk's default, ceil(instances/3).
	MaxBatchSize int
	// MinInstancesInService -1 means unset. Replacements are launched
	// before the instances they replace are terminated, so every instance
	// stays in service and any value is met.
	MinInstancesInService int
	PauseTime, Timeout    time.Duration
}

// Gate is the health gate of a batch: an instance passes after Checks
// consecutive passing samples, one every Window/Checks; a failing sample
// restarts its count. Beanstalk's, with enhanced health, is 12 in 2
// minutes (using-features.rollingupdates.html).
type Gate struct {
	Checks int
	Window time.Duration
}

// DefaultGate is Beanstalk's gate for web server environments.
var DefaultGate = Gate{Checks: 12, Window: 2 * time.Minute}

// Release is what an instance runs: an application version label and the
// deployment number that maps to its settings.
type Release struct {
	Label      string
	Deployment int
}

// Member is an instance in service.
type Member struct {
	ID      string
	Release Release
}

// Health is an instance's health as the gate samples it.
type Health struct {
	ELBHealthy bool
	Status     string // Ok, Warning, Degraded, Severe, Pending, Info, NoData, Unknown
}

// Environment is what a deployment acts on.
type Environment interface {
	Name() string
	// Members are the instances in service (not terminating), oldest first.
	Members() []Member
	// Deregister stops routing new requests to id and waits for it to drain.
	Deregister(ctx context.Context, id string) error
	Register(id string)
	// Redeploy runs r on the instance in place; it returns when the
	// instance's command completed (or failed).
	Redeploy(ctx context.Context, id string, r Release) error
	// Launch starts a new instance running r, beyond the group's maximum
	// if needed, registered with the load balancer.
	Launch(ctx context.Context, r Release) (string, error)
	// Terminate deregisters, drains and stops the instance.
	Terminate(ctx context.Context, id string) error
	Health(id string) Health
	// SplitTraffic sends percent of the requests to newIDs; 0 ends the split.
	SplitTraffic(newIDs []string, percent int)
	// Event records an event: severity INFO, WARN or ERROR.
	Event(severity, message string)
	Progress(p Progress)
}

// Progress tells the environment where an update stands, for enhanced
// health's causes and the environment's status.
type Progress struct {
	Updating bool                 // status Updating (else Ready)
	Commands map[string]time.Time // instances whose command runs -> since when
	Total    int                  // instances the command runs on
	Expected Release              // the release every instance should run once nothing runs
}

// Clock is the time source of gates, pauses and timeouts.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Errors of Deploy and UpdateConfiguration, for errors.Is.
var (
	// ErrUpdateInProgress is refused work while another update runs;
	// its text, with the environment's name, is AWS's.
	ErrUpdateInProgress = errors.New("update in progress")
	ErrNoUpdate         = errors.New("no update in progress")
	ErrHealthCheck      = errors.New("instances did not pass health checks")
	ErrCommandFailed    = errors.New("command failed on instances")
	ErrAborted          = errors.New("update aborted")
	ErrInvalid          = errors.New("invalid deployment settings")
)

// Severities of events.
const (
	Info  = "INFO"
	Warn  = "WARN"
	Error = "ERROR"
)
