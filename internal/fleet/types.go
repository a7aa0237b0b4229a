package fleet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// Instance is the identity of one instance; it does not change across
// restarts.
type Instance struct {
	ID    string     // i- and 17 lowercase hex digits, as EC2's
	Index int        // 1-based; instance N has IP 127.0.0.(N+1)
	IP    netip.Addr // the instance's private IP
	Port  int        // the port the app listens on, the same on every instance
}

// Addr is the instance's ip:port, the target the load balancer forwards to.
func (i Instance) Addr() string {
	return net.JoinHostPort(i.IP.String(), strconv.Itoa(i.Port))
}

// Template is what an instance runs: an application version's command and
// settings under one deployment number.
type Template struct {
	Version    string   // application version label, shown per instance
	Deployment int      // deployment number; 1 for what the fleet started with
	Command    []string // argv; Command[0] is looked up in PATH
	Dir        string   // working directory; "" is elbow's
	Env        []string // KEY=value, the user's (layered over elbow's and the Prepare hook's)
	Port       int      // the port the app listens on, 1-65535
}

func (t Template) validate() error {
	switch {
	case len(t.Command) == 0 || t.Command[0] == "":
		return fmt.Errorf("template of version %q (deployment %d): command is empty", t.Version, t.Deployment)
	case t.Port < 1 || t.Port > 65535:
		return fmt.Errorf("template of version %q (deployment %d): port %d is out of range 1-65535", t.Version, t.Deployment, t.Port)
	}
	return nil
}

// clone copies the slices, so a caller's later edits reach no instance.
func (t Template) clone() Template {
	t.Command = slices.Clone(t.Command)
	t.Env = slices.Clone(t.Env)
	return t
}

// State is an instance's lifecycle state.
type State string

const (
	StatePending    State = "pending"    // created, not started yet
	StateRunning    State = "running"    // its process runs
	StateRestarting State = "restarting" // its process exited; waiting out the backoff
	StateDeploying  State = "deploying"  // its process is being replaced in place (Redeploy)
	StateStopping   State = "stopping"   // being terminated
	StateTerminated State = "terminated" // gone; its IP may be reused
)

// ExitStatus says how an instance's process ended.
type ExitStatus struct {
	Code       int            // exit code, when it exited
	Signal     syscall.Signal // non-zero when a signal killed it
	StartError string         // non-empty when the process could not be started
}

func (s ExitStatus) String() string {
	switch {
	case s.StartError != "":
		return "failed to start: " + s.StartError
	case s.Signal != 0:
		return fmt.Sprintf("was killed by signal %d (%v)", int(s.Signal), s.Signal)
	default:
		return fmt.Sprintf("exited with status %d", s.Code)
	}
}

// InstanceStatus is a snapshot of one instance for the console and the
// monitor.
type InstanceStatus struct {
	Instance
	State State
	// PID is the app's main process, 0 while it does not run.
	PID int
	// SupervisorPID is the instance's supervisor, the root of the instance's
	// process tree and the id of its process group: the CPU of the instance
	// is the CPU of every process below it (or in its group).
	SupervisorPID int
	LaunchTime    time.Time   // when the instance was created
	LastStart     time.Time   // when its process last started
	Restarts      int         // how many times it was restarted
	LastExit      *ExitStatus // nil until its process first ends
	LogPath       string      // "" when the fleet keeps no log files
	Version       string      // the application version label of the template it runs
	Deployment    int         // the deployment number of the template it runs
}

// Severity is an event's severity, as Elastic Beanstalk names them.
type Severity string

const (
	SeverityInfo  Severity = "INFO"
	SeverityWarn  Severity = "WARN"
	SeverityError Severity = "ERROR"
)

// EventKind tells lifecycle events apart without parsing their message.
type EventKind string

const (
	EventLaunched    EventKind = "launched"    // first start; the target is registered
	EventExited      EventKind = "exited"      // the process ended (or failed to start) while it should run
	EventRestarted   EventKind = "restarted"   // the process started again after EventExited
	EventTerminating EventKind = "terminating" // termination begins
	EventKilled      EventKind = "killed"      // the stop grace ran out; SIGKILL follows
	EventRedeploying EventKind = "redeploying" // Redeploy stops the process to run another template
	EventRedeployed  EventKind = "redeployed"  // the process of the new template started
	EventTerminated  EventKind = "terminated"  // the instance is gone
)

// Event is one lifecycle event of one instance.
type Event struct {
	Time       time.Time
	InstanceID string
	Kind       EventKind
	Severity   Severity
	Message    string // Elastic Beanstalk-like wording
}

// Hooks let the caller tie an instance to the rest of the environment. Every
// field may be nil. Hooks of one instance are called from one goroutine, in
// lifecycle order; hooks of different instances may run concurrently.
type Hooks struct {
	// Prepare is called once per instance, before its first start. It
	// returns variables for the instance's environment (e.g.
	// AWS_EC2_METADATA_SERVICE_ENDPOINT of the metadata service it started
	// for the instance) and a cleanup the fleet calls once the instance is
	// terminated. An error aborts the launch.
	Prepare func(ctx context.Context, inst Instance) (env []string, cleanup func(), err error)
	// Launched is called once, after the instance's process first started:
	// the place to register the target.
	Launched func(inst Instance)
	// Terminating is called before the fleet stops a launched instance's
	// process; the fleet waits for it to return (deregister, drain).
	Terminating func(ctx context.Context, inst Instance)
	// Event receives every lifecycle event. It must not block.
	Event func(Event)
	// Output sees every line the instance's processes print (cut at 4 KiB,
	// as the in-memory tail keeps them). It must not block.
	Output func(inst Instance, line string)
}

// Network places instances in a network of their own instead of on the
// loopback (elbow's vpc mode, package vpc). Attach is called once per
// instance, before Prepare, and decides its IP.
type Network interface {
	Attach(inst Instance) (*Placement, error)
}

// Placement is an instance's place in a Network.
type Placement struct {
	IP netip.Addr
	// Namespaces are joined (setns(2)) by the supervisor, in order, before
	// it starts the app, so the app and its children live in them.
	Namespaces []*os.File
	// Hosts, when set, is bind-mounted over /etc/hosts in a mount namespace
	// of the app's own.
	Hosts string
	// Release is called once the instance is terminated.
	Release func()
}

// Clock is the fleet's source of time, so tests can control restarts and
// grace periods.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
