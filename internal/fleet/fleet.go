package fleet

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors callers may test for with errors.Is.
var (
	ErrAtMax           = errors.New("fleet is at its maximum size")
	ErrAtMin           = errors.New("fleet is at its minimum size")
	ErrStopped         = errors.New("fleet is stopped")
	ErrUnknownInstance = errors.New("no such instance")
	// ErrTerminating is returned by Redeploy when the instance is being
	// terminated: the termination wins, and nothing of the new template runs.
	ErrTerminating = errors.New("instance is being terminated")
)

// MaxInstances is the largest fleet: instance 253 has IP 127.0.0.254.
const MaxInstances = 253

// Defaults for the zero values of Config.
const (
	DefaultTailLines       = 500
	DefaultStopTimeout     = 10 * time.Second
	DefaultRestartDelay    = 500 * time.Millisecond
	DefaultMaxRestartDelay = 30 * time.Second
	DefaultResetAfter      = 30 * time.Second
)

const (
	retiredKept = 16 // terminated instances still shown in the snapshot
	// killTreeTimeout is how long the supervisor gets to kill the tree after
	// the grace period before the fleet SIGKILLs the group itself.
	killTreeTimeout = 2 * time.Second
	// handshakeTimeout bounds the wait for a new supervisor to report that
	// it started the app; it only runs out when the program's main does not
	// call MaybeRunShim.
	handshakeTimeout   = 10 * time.Second
	drainOutputTimeout = 2 * time.Second
)

// Config describes the app and the fleet's size and timing.
type Config struct {
	Command []string // argv of the app; Command[0] is looked up in PATH
	Dir     string   // working directory of the app; "" is elbow's
	Env     []string // the user's variables, KEY=value; they override elbow's environment
	Port    int      // the port every instance listens on, 1-65535
	// Version is the application version label; "" when the caller has no
	// versions. Command, Dir, Env, Port and Version make the initial
	// Template (deployment 1); SetTemplate and Redeploy change what runs
	// later.
	Version string

	Min int // instances launched by Start, 0-Max
	Max int // most instances at once, 1-253

	// LogDir receives <instance-id>.log per instance, appended across
	// restarts; "" keeps no files (the in-memory tail still works).
	LogDir string
	// TailLines is how many last output lines per instance are kept in
	// memory; default 500.
	TailLines int

	// StopTimeout is the grace between SIGTERM and SIGKILL; default 10s.
	StopTimeout time.Duration
	// RestartDelay is the first backoff after a crash, doubling per
	// consecutive crash up to MaxRestartDelay; defaults 500ms and 30s. The
	// backoff starts over once a process stayed up ResetAfter (default 30s).
	RestartDelay    time.Duration
	MaxRestartDelay time.Duration
	ResetAfter      time.Duration

	// Network, when set, gives each instance its IP and namespaces; nil
	// puts instance N on 127.0.0.(N+1).
	Network Network

	Hooks  Hooks
	Clock  Clock        // default: the system clock
	Logger *slog.Logger // default: discard
}

func (c *Config) validate() error {
	switch {
	case len(c.Command) == 0 || c.Command[0] == "":
		return errors.New("fleet: command is empty")
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("fleet: port %d is out of range 1-65535", c.Port)
	case c.Max < 1 || c.Max > MaxInstances:
		return fmt.Errorf("fleet: max %d is out of range 1-%d", c.Max, MaxInstances)
	case c.Min < 0 || c.Min > c.Max:
		return fmt.Errorf("fleet: min %d is out of range 0-%d (max)", c.Min, c.Max)
	case c.TailLines < 0:
		return fmt.Errorf("fleet: tail lines %d is negative", c.TailLines)
	case c.StopTimeout < 0 || c.RestartDelay < 0 || c.MaxRestartDelay < 0 || c.ResetAfter < 0:
		return errors.New("fleet: durations must not be negative")
	}
	return nil
}

func (c *Config) setDefaults() {
	c.TailLines = cmp.Or(c.TailLines, DefaultTailLines)
	c.StopTimeout = cmp.Or(c.StopTimeout, DefaultStopTimeout)
	c.RestartDelay = cmp.Or(c.RestartDelay, DefaultRestartDelay)
	c.MaxRestartDelay = max(cmp.Or(c.MaxRestartDelay, DefaultMaxRestartDelay), c.RestartDelay)
	c.ResetAfter = cmp.Or(c.ResetAfter, DefaultResetAfter)
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Fleet launches and supervises the instances of one app.
type Fleet struct {
	cfg      Config
	clock    Clock
	log      *slog.Logger
	launcher *launcher

	// scaleMu serializes the changes of capacity (SetDesired,
	// SetCapacity), which launch and terminate for as long as they take;
	// it is never taken by anything else, so it blocks no launch or
	// termination of other callers.
	scaleMu sync.Mutex

	mu      sync.Mutex
	live    map[string]*instance // every instance not yet terminated
	retired []*instance          // the last terminated ones, oldest first
	stopped bool
	tmpl    Template // what new instances run
	desired int      // the desired capacity, within cfg.Min..cfg.Max
}

// New validates cfg and returns a fleet with no instance; Start launches the
// minimum.
func New(cfg Config) (*Fleet, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	cfg.Command = slices.Clone(cfg.Command)
	cfg.Env = slices.Clone(cfg.Env)
	return &Fleet{
		cfg:      cfg,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		launcher: startLauncher(),
		live:     make(map[string]*instance),
		tmpl: Template{
			Version: cfg.Version, Deployment: 1,
			Command: cfg.Command, Dir: cfg.Dir, Env: cfg.Env, Port: cfg.Port,
		},
		desired: cfg.Min,
	}, nil
}

// Start launches Min instances, the initial desired capacity. On error, the
// instances already launched keep running; the caller stops them with
// StopAll.
func (f *Fleet) Start(ctx context.Context) error {
	if platformLimits != "" {
		f.log.Warn("fleet: " + platformLimits)
	}
	// Up to Max, not Min: a scale-out must not be the first to find an
	// address missing.
	ips := make([]netip.Addr, f.cfg.Max)
	for i := range ips {
		ips[i] = instanceIP(i + 1)
	}
	if err := checkLoopbackAddrs(ips); err != nil {
		return err
	}
	f.mu.Lock()
	n := f.desired
	f.mu.Unlock()
	for range n {
		if _, err := f.Launch(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Launch creates one more instance running the current template and starts
// its process. It returns once the process started, or with an error when it
// could not be started (the instance is then gone again), when the fleet is
// at Max, or when Prepare failed. A process that starts and then crashes is
// restarted, not an error. It does not change the desired capacity.
func (f *Fleet) Launch(ctx context.Context) (Instance, error) {
	return f.LaunchWith(ctx, f.Template(), false)
}

// LaunchWith launches one instance running t, as Launch does. beyondMax lets
// the fleet exceed Max (never MaxInstances), as the temporary Auto Scaling
// group of an immutable deployment or the additional batch of a rolling one
// does:
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.rolling-version-deploy.html
func (f *Fleet) LaunchWith(ctx context.Context, t Template, beyondMax bool) (Instance, error) {
	if err := t.validate(); err != nil {
		return Instance{}, fmt.Errorf("fleet: cannot launch an instance: %w", err)
	}
	in, err := f.reserve(t.clone(), beyondMax)
	if err != nil {
		return Instance{}, err
	}
	if err := f.place(in); err != nil {
		f.forget(in)
		return Instance{}, err
	}
	if err := f.prepare(ctx, in); err != nil {
		in.release()
		f.forget(in)
		return Instance{}, err
	}
	firstStart := make(chan error, 1)
	go f.run(in, firstStart)
	if err := <-firstStart; err != nil {
		<-in.done
		return Instance{}, err
	}
	return in.Instance, nil
}

// reserve takes the lowest free index and a fresh id for a new instance
// running t. Instances being terminated still hold their address, so they
// count against MaxInstances but not against Max, as terminating instances
// no longer count toward an Auto Scaling group's capacity.
func (f *Fleet) reserve(t Template, beyondMax bool) (*instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return nil, fmt.Errorf("fleet: cannot launch an instance: %w", ErrStopped)
	}
	if len(f.live) >= MaxInstances {
		return nil, fmt.Errorf("fleet: cannot launch an instance: the fleet has %d instances, the most elbow can address: %w",
			len(f.live), ErrAtMax)
	}
	if active := f.activeLocked(); !beyondMax && active >= f.cfg.Max {
		return nil, fmt.Errorf("fleet: cannot launch an instance: the fleet has %d instances, its maximum (max %d): %w",
			active, f.cfg.Max, ErrAtMax)
	}
	used := make(map[int]bool, len(f.live))
	for _, in := range f.live {
		used[in.Index] = true
	}
	index := 1
	for used[index] {
		index++
	}
	var id string
	for {
		id = newInstanceID()
		if _, taken := f.live[id]; !taken {
			break
		}
	}
	in := &instance{
		Instance: Instance{
			ID:    id,
			Index: index,
			IP:    instanceIP(index),
			Port:  t.Port,
		},
		tmpl:       t,
		out:        newOutputLog(nil, f.cfg.TailLines), // its file is opened by prepare
		redeployCh: make(chan redeployRequest),
		stopCh:     make(chan struct{}),
		done:       make(chan struct{}),
		state:      StatePending,
		launchTime: f.clock.Now(),
	}
	if f.cfg.LogDir != "" {
		in.logPath = filepath.Join(f.cfg.LogDir, id+".log")
	}
	f.live[id] = in
	return in, nil
}

// place gives the instance its address: its own network's when the fleet
// has one, else its loopback address, which must exist.
func (f *Fleet) place(in *instance) error {
	if f.cfg.Network == nil {
		return checkLoopbackAddrs([]netip.Addr{in.IP})
	}
	p, err := f.cfg.Network.Attach(in.Instance)
	if err != nil {
		return fmt.Errorf("fleet: place instance %s in its network: %w", in.ID, err)
	}
	f.mu.Lock()
	in.IP, in.placement = p.IP, p
	f.mu.Unlock()
	return nil
}

// prepare opens the instance's log, runs the Prepare hook and composes the
// instance's environment.
func (f *Fleet) prepare(ctx context.Context, in *instance) error {
	if in.logPath != "" {
		if err := os.MkdirAll(f.cfg.LogDir, 0o755); err != nil {
			return fmt.Errorf("fleet: create log dir for instance %s: %w", in.ID, err)
		}
		file, err := os.OpenFile(in.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("fleet: open log of instance %s: %w", in.ID, err)
		}
		// Set before any reader of the instance's output starts; tail()
		// does not look at the file.
		in.out.file = file
	}

	if out := f.cfg.Hooks.Output; out != nil {
		inst := in.Instance
		in.out.onLine = func(line string) { out(inst, line) }
	}
	if f.cfg.Hooks.Prepare != nil {
		env, cleanup, err := f.cfg.Hooks.Prepare(ctx, in.Instance)
		if err != nil {
			in.out.close()
			return fmt.Errorf("fleet: prepare instance %s (%s): %w", in.ID, in.IP, err)
		}
		in.hookEnv, in.cleanup = env, cleanup
	}
	in.env = in.composeEnv(in.tmpl)
	return nil
}

// composeEnv is the whole environment of the instance's process running t.
func (in *instance) composeEnv(t Template) []string {
	return composeEnv(os.Environ(), t.Env, in.hookEnv, []string{
		"HOST=" + in.IP.String(),
		"PORT=" + strconv.Itoa(in.Port),
		"ELBOW_INSTANCE_ID=" + in.ID,
	})
}

// forget drops an instance that never started.
func (f *Fleet) forget(in *instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.live, in.ID)
	in.state = StateTerminated
	close(in.done)
}

// Terminate stops the instance id (Terminating hook, SIGTERM, grace,
// SIGKILL) and returns when it is gone. If ctx ends first the grace is cut
// short, and Terminate still waits for the processes to die.
func (f *Fleet) Terminate(ctx context.Context, id string) error {
	f.mu.Lock()
	in, ok := f.live[id]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("fleet: terminate instance %s: %w", id, ErrUnknownInstance)
	}
	in.requestStop(ctx)
	<-in.done
	return nil
}

// ScaleIn terminates the newest instance (the highest index) unless the
// fleet would fall below Min, and returns it. It does not change the desired
// capacity.
func (f *Fleet) ScaleIn(ctx context.Context) (Instance, error) {
	f.mu.Lock()
	newest, active := f.newestLocked()
	minSize := f.cfg.Min
	f.mu.Unlock()
	if newest == nil || active <= minSize {
		return Instance{}, fmt.Errorf("fleet: cannot terminate an instance: the fleet has %d instances, its minimum (min %d): %w",
			active, minSize, ErrAtMin)
	}
	newest.requestStop(ctx)
	<-newest.done
	return newest.Instance, nil
}

// newestLocked returns the instance with the highest index not being
// terminated, and how many such instances there are.
func (f *Fleet) newestLocked() (*instance, int) {
	var newest *instance
	active := 0
	for _, in := range f.live {
		if in.stopRequested() {
			continue
		}
		active++
		if newest == nil || in.Index > newest.Index {
			newest = in
		}
	}
	return newest, active
}

// active counts the instances not being terminated.
func (f *Fleet) active() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.activeLocked()
}

func (f *Fleet) activeLocked() int {
	_, n := f.newestLocked()
	return n
}

// StopAll terminates every instance, as Terminate does, and returns when all
// are gone. The fleet launches nothing afterwards.
func (f *Fleet) StopAll(ctx context.Context) {
	f.mu.Lock()
	f.stopped = true
	all := make([]*instance, 0, len(f.live))
	for _, in := range f.live {
		all = append(all, in)
	}
	f.mu.Unlock()
	for _, in := range all {
		in.requestStop(ctx)
	}
	for _, in := range all {
		<-in.done
	}
	// No process is left that the launcher's thread forked; the thread may go.
	f.launcher.close()
}

// Instances returns a snapshot of the live instances and the last few
// terminated ones, by index (terminated ones last).
func (f *Fleet) Instances() []InstanceStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]InstanceStatus, 0, len(f.live)+len(f.retired))
	for _, in := range f.live {
		out = append(out, in.statusLocked())
	}
	slices.SortFunc(out, func(a, b InstanceStatus) int { return a.Index - b.Index })
	for i := len(f.retired) - 1; i >= 0; i-- {
		out = append(out, f.retired[i].statusLocked())
	}
	return out
}

// Status returns the snapshot of one instance, live or recently terminated.
func (f *Fleet) Status(id string) (InstanceStatus, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in := f.findLocked(id); in != nil {
		return in.statusLocked(), true
	}
	return InstanceStatus{}, false
}

// Tail returns the last n lines the instance printed (stdout and stderr,
// oldest first), or nil for an unknown instance.
func (f *Fleet) Tail(id string, n int) []string {
	f.mu.Lock()
	in := f.findLocked(id)
	f.mu.Unlock()
	if in == nil {
		return nil
	}
	return in.out.tail(n)
}

func (f *Fleet) findLocked(id string) *instance {
	if in, ok := f.live[id]; ok {
		return in
	}
	for _, in := range f.retired {
		if in.ID == id {
			return in
		}
	}
	return nil
}

// newInstanceID returns i- and 17 random lowercase hex digits.
func newInstanceID() string {
	var b [9]byte
	rand.Read(b[:]) // never fails on Linux
	return "i-" + hex.EncodeToString(b[:])[:17]
}

// composeEnv merges environments; a later layer overrides an earlier one.
// The layers are elbow's own, the user's, the Prepare hook's and the
// fleet's (HOST, PORT, ELBOW_INSTANCE_ID), so the user may override elbow's
// PATH but not the instance's address.
func composeEnv(layers ...[]string) []string {
	index := make(map[string]int)
	var out []string
	for _, layer := range layers {
		for _, kv := range layer {
			key, _, ok := strings.Cut(kv, "=")
			if !ok || key == "" {
				continue
			}
			if i, seen := index[key]; seen {
				out[i] = kv
				continue
			}
			index[key] = len(out)
			out = append(out, kv)
		}
	}
	return out
}
