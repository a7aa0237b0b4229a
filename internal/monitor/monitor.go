package monitor

import (
	"context"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// Options wire a Monitor. Everything but Rules has a default.
type Options struct {
	// EnvironmentName as Beanstalk names it, for the output shapes and events.
	EnvironmentName string
	// Rules are the thresholds; the zero value means config.DefaultEnhancedHealth.
	Rules config.EnhancedHealth
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives transitions; nil means slog.Default().
	Logger *slog.Logger
	// Processes samples process trees; nil means ProcFS{} (/proc).
	Processes ProcessSampler
	// CPUs is the number of CPUs an instance's CPU percentage is taken of;
	// 0 means runtime.NumCPU(), as an EC2 instance's CPU is that of all its
	// vCPUs.
	CPUs int
}

// Monitor derives enhanced health. Recording methods (RecordRequest,
// RecordELBResponse, ObserveProbe) are lock-free and safe from any
// goroutine; SetHealth and the fleet's methods take the monitor's mutex
// briefly; Evaluate does the work, from one goroutine at a time.
type Monitor struct {
	name   string
	rules  config.EnhancedHealth
	now    func() time.Time
	log    *slog.Logger
	procs  ProcessSampler
	cpus   int
	period int // windows the rules read

	// instances is copied on write, so that recording looks an instance up
	// without a lock.
	instances atomic.Pointer[map[string]*instance]
	elbWin    *elbWindow
	// evaluating lets one Evaluate run at a time without holding a lock
	// across its /proc reads.
	evaluating atomic.Bool
	// Owned by the evaluating goroutine only.
	elbEdge time.Time

	mu             sync.Mutex
	order          []*instance
	capacitySet    bool
	minSize        int
	online         int
	suspended      bool
	suspendedCause string
	lifecycle      string
	env            tracked
	envMetrics     ApplicationMetrics
	// envPeriod is the environment's requests over the evaluation period,
	// built afresh at each evaluation (account fills each instance's).
	envPeriod   windowStats
	elbHistory  []requestCounts
	refreshedAt time.Time
	events      *eventRing
	update      Update

	subs subscribers
}

// instance is one instance's state. win and the fields marked "evaluator"
// are touched without the mutex: win by recorders (atomics), the others by
// the evaluating goroutine only. The rest is under Monitor.mu.
type instance struct {
	id         string
	launchedAt time.Time
	pid        func() int
	win        *window

	// evaluator
	edge     time.Time
	stats    windowStats
	prevCPU  ProcessSample
	prevAt   time.Time
	havePrev bool

	// under Monitor.mu
	elb      map[string]healthcheck.TargetHealth
	recent   []windowStats // the last windows of the evaluation period, oldest first
	last     windowStats
	metrics  ApplicationMetrics
	system   *SystemStatus
	loads    [3]float64
	cpuKnown bool
	cpu      float64
	lastSeen time.Time
	state    tracked
	removed  bool
	// version and deployment are the release the instance runs, set by
	// SetInstanceVersion at deployedAt.
	version    string
	deployment int
	deployedAt time.Time
}

// New returns a monitor; call Run, or Evaluate from tests.
func New(o Options) *Monitor {
	if o.Rules == (config.EnhancedHealth{}) {
		o.Rules = config.DefaultEnhancedHealth
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Processes == nil {
		o.Processes = ProcFS{}
	}
	if o.CPUs <= 0 {
		o.CPUs = runtime.NumCPU()
	}
	m := &Monitor{
		name: o.EnvironmentName, rules: o.Rules, now: o.Now, log: o.Logger,
		procs: o.Processes, cpus: o.CPUs, period: max(o.Rules.EvaluationPeriod/10, 1),
		elbWin: newELBWindow(), lifecycle: "Ready",
		events: newEventRing(max(o.Rules.EventHistory, 1)),
	}
	m.elbEdge = m.now()
	empty := map[string]*instance{}
	m.instances.Store(&empty)
	return m
}

// AddInstance starts monitoring an instance launched at launchedAt. pid
// returns the root pid of its process tree (0 when not running); nil for a
// target registered by address, whose CPU elbow cannot see.
func (m *Monitor) AddInstance(id string, launchedAt time.Time, pid func() int) {
	in := &instance{id: id, launchedAt: launchedAt, pid: pid, win: newWindow(),
		edge: m.now(), elb: map[string]healthcheck.TargetHealth{}}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.instances.Load()
	next := make(map[string]*instance, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	if prev, ok := next[id]; ok {
		prev.removed = true
		m.order = slices.DeleteFunc(m.order, func(i *instance) bool { return i == prev })
	}
	next[id] = in
	m.instances.Store(&next)
	m.order = append(m.order, in)
}

// RemoveInstance stops monitoring an instance; its requests stop counting.
func (m *Monitor) RemoveInstance(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.instances.Load()
	in, ok := old[id]
	if !ok {
		return
	}
	next := make(map[string]*instance, len(old))
	for k, v := range old {
		if k != id {
			next[k] = v
		}
	}
	m.instances.Store(&next)
	in.removed = true
	m.order = slices.DeleteFunc(m.order, func(i *instance) bool { return i == in })
}

// SetCapacity sets the Auto Scaling group minimum size and how many
// instances are online (in service), for the capacity rule.
func (m *Monitor) SetCapacity(minSize, online int) {
	m.mu.Lock()
	m.capacitySet, m.minSize, m.online = true, minSize, online
	m.mu.Unlock()
}

// SetEnvironmentStatus sets the lifecycle Status the output reports
// (Launching, Updating, Ready, Terminating, Terminated). Default Ready.
func (m *Monitor) SetEnvironmentStatus(s string) {
	m.mu.Lock()
	m.lifecycle = s
	m.mu.Unlock()
}

// Suspend stops deriving the environment's health: it turns Suspended with
// the cause given, as Beanstalk does when it cannot monitor
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-status.html). Resume undoes it.
func (m *Monitor) Suspend(cause string) {
	m.mu.Lock()
	m.suspended, m.suspendedCause = true, cause
	m.mu.Unlock()
}

// Resume restarts monitoring after Suspend.
func (m *Monitor) Resume() {
	m.mu.Lock()
	m.suspended, m.suspendedCause = false, ""
	m.mu.Unlock()
}

func (m *Monitor) lookup(id string) *instance { return (*m.instances.Load())[id] }

// RecordRequest counts a request the load balancer forwarded to an
// instance. code is the instance's response; 0 when the instance gave none
// (refused, reset, timed out), in which case the load balancer answered 502
// or 504 itself: that is an ELB 5xx, and not the instance's request, since
// its web server logged nothing (Beanstalk counts from that log,
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-serverlogs.html). It never blocks and never allocates.
func (m *Monitor) RecordRequest(instanceID string, code int, latency time.Duration) {
	s := m.elbWin.stripe()
	s.total.Add(1)
	if code == 0 {
		s.c5xx.Add(1)
		return
	}
	if in := m.lookup(instanceID); in != nil {
		in.win.record(code, latency)
	}
}

// RecordELBResponse counts a response the load balancer produced without
// forwarding: 503 with no target, a fixed response, a redirect, a 400 for a
// malformed request. Its 4xx and 5xx feed the ELBRequests4xx and ELB 5xx rules.
func (m *Monitor) RecordELBResponse(code int) {
	s := m.elbWin.stripe()
	s.total.Add(1)
	switch code / 100 {
	case 4:
		s.c4xx.Add(1)
	case 5:
		s.c5xx.Add(1)
	}
}

// ObserveProbe counts a health check the instance answered, as Beanstalk
// does (its web-server log holds them). A check that got no response is
// not counted: nothing was logged.
func (m *Monitor) ObserveProbe(r healthcheck.Result) {
	if r.StatusCode == 0 {
		return
	}
	if in := m.lookup(r.Target.ID); in != nil {
		in.win.record(r.StatusCode, r.Latency)
	}
}

// SetHealth records the ELB health of an instance's registration. It is
// the healthcheck.Reporter interface; it does not block.
func (m *Monitor) SetHealth(t healthcheck.Target, h healthcheck.TargetHealth) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := m.lookup(t.ID)
	if in == nil {
		return
	}
	if h.State == healthcheck.StateUnused && h.Reason == healthcheck.ReasonNotRegistered {
		delete(in.elb, t.Key())
		return
	}
	in.elb[t.Key()] = h
}

var (
	_ healthcheck.Reporter       = (*Monitor)(nil)
	_ healthcheck.ResultObserver = (*Monitor)(nil)
)

// Run evaluates every 10 seconds until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(windowSpan)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Evaluate(m.now())
		}
	}
}

// Evaluate closes the current window of every instance at now, samples
// their processes, applies the rules to each instance and to the
// environment, and emits events for the transitions that have held. Calls
// overlapping a running evaluation return at once.
func (m *Monitor) Evaluate(now time.Time) {
	if !m.evaluating.CompareAndSwap(false, true) {
		return
	}
	defer m.evaluating.Store(false)

	m.mu.Lock()
	list := slices.Clone(m.order)
	m.mu.Unlock()

	// Close the windows and read /proc with no lock held.
	pids := make([]int, len(list))
	var roots []int
	for i, in := range list {
		in.win.drain(&in.stats, in.edge, now)
		in.edge = now
		if in.pid != nil {
			if pids[i] = in.pid(); pids[i] > 0 {
				roots = append(roots, pids[i])
			}
		}
	}
	elbCounts := m.elbWin.drain()
	m.elbEdge = now
	var samples map[int]ProcessSample
	if len(roots) > 0 {
		samples = m.procs.Sample(roots)
	}

	m.mu.Lock()
	var emitted []Event
	envIn := envInput{now: now, capacitySet: m.capacitySet, minSize: m.minSize, online: m.online,
		suspended: m.suspended, suspendedCause: m.suspendedCause, update: m.update}
	var envLast, envPeriod windowStats
	envLast.start, envLast.end = now.Add(-windowSpan), now
	for i, in := range list {
		if in.removed {
			continue
		}
		sample, running := samples[pids[i]]
		m.account(in, now, sample, running && pids[i] > 0)
		// The rules and the published figures read the same windows.
		var periodStats windowStats
		mergeInto(&periodStats, in.recent)
		mergeInto(&envPeriod, in.recent)
		var period requestCounts
		period.addCodes(&periodStats.codes)
		verdictELB := m.elbVerdict(in, now)
		commandSince, command := m.update.Commands[in.id]
		wrong := m.update.wrongVersion(in.version, in.deployment)
		st, causes := evaluateInstance(m.rules, instanceInput{
			now: now, launchedAt: in.launchedAt, requests: period, span: periodStats.end.Sub(periodStats.start), elb: verdictELB,
			hasProcess: in.pid != nil, running: running && pids[i] > 0,
			cpuKnown: in.cpuKnown, cpu: in.cpu, lastSeen: in.lastSeen,
			command: command, commandSince: commandSince, wrongVersion: wrong,
			version: in.version, deployment: in.deployment, update: m.update,
		})
		if command {
			envIn.commands++
		}
		if wrong {
			envIn.wrongVersions++
		}
		if from, ok := in.state.observeDeploy(st, causes, periodMetricsOf(&periodStats, now), m.rules.TransitionEvaluations, command); ok {
			emitted = append(emitted, m.emit(now, in.id, from, st, causes))
		}
		envIn.requests.add(period)
		envIn.instances = append(envIn.instances, envInstance{status: in.state.status,
			elbFailing: verdictELB.failing, cpuKnown: in.cpuKnown, cpu: in.cpu})
		if in.state.status == StatusPending && (envIn.earliest.IsZero() || in.launchedAt.Before(envIn.earliest)) {
			envIn.earliest = in.launchedAt
		}
		for b, c := range in.last.codes {
			envLast.codes[b] += c
		}
		envLast.latency.add(&in.last.latency)
	}
	m.elbHistory = appendWindow(m.elbHistory, elbCounts, m.period)
	for _, h := range m.elbHistory {
		envIn.elbRequests.add(h)
	}
	envIn.span = envPeriod.end.Sub(envPeriod.start)
	envIn.elbSpan = time.Duration(len(m.elbHistory)) * windowSpan
	st, causes := evaluateEnvironment(m.rules, envIn)
	if from, ok := m.env.observeDeploy(st, causes, periodMetricsOf(&envPeriod, now), m.rules.TransitionEvaluations, envIn.commands > 0); ok {
		emitted = append(emitted, m.emit(now, "", from, st, causes))
	}
	m.envMetrics = metricsOf(&envLast)
	m.refreshedAt = now
	m.mu.Unlock()

	m.subs.publish(emitted)
}

// account moves an instance's closed window into its history and updates
// its CPU and load. Called with m.mu held; no I/O.
func (m *Monitor) account(in *instance, now time.Time, s ProcessSample, running bool) {
	in.last = in.stats
	var rc requestCounts
	rc.addCodes(&in.stats.codes)
	in.recent = appendStats(in.recent, &in.stats, m.period)
	in.metrics = metricsOf(&in.last)
	if rc.total > 0 || running {
		in.lastSeen = now
	}
	if !running {
		in.cpuKnown, in.system, in.havePrev = false, nil, false
		return
	}
	// Load averages decay as the kernel's do, sampled every window:
	// load = load*e + n*(1-e), e = exp(-interval/span).
	dt := now.Sub(in.prevAt)
	if !in.havePrev {
		dt = windowSpan
	}
	for i, span := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute} {
		e := math.Exp(-dt.Seconds() / span.Seconds())
		in.loads[i] = in.loads[i]*e + float64(s.Runnable)*(1-e)
	}
	if in.havePrev && dt > 0 {
		capacity := dt.Seconds() * float64(m.cpus) / 100
		user := max(s.User-in.prevCPU.User, 0).Seconds() / capacity
		sys := max(s.System-in.prevCPU.System, 0).Seconds() / capacity
		user, sys = min(user, 100), min(sys, 100-min(user, 100))
		in.cpuKnown, in.cpu = true, user+sys
		in.system = &SystemStatus{
			CPUUtilization: CPUUtilization{User: round1(user), System: round1(sys), Idle: round1(100 - user - sys)},
			LoadAverage:    []float64{round2(in.loads[0]), round2(in.loads[1]), round2(in.loads[2])},
		}
	}
	in.prevCPU, in.prevAt, in.havePrev = s, now, true
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
func round2(f float64) float64 { return math.Round(f*100) / 100 }

// appendWindow keeps the last n windows.
func appendWindow(h []requestCounts, w requestCounts, n int) []requestCounts {
	h = append(h, w)
	if len(h) > n {
		h = h[len(h)-n:]
	}
	return h
}

// elbVerdict reads an instance's registrations. Not available counts as
// failing only once the launch grace has passed and the target is still
// in its initial checks.
func (m *Monitor) elbVerdict(in *instance, now time.Time) elbVerdict {
	var v elbVerdict
	// A redeployed instance registers again and starts its initial checks
	// anew: its grace runs from the deployment as a new one's from its launch.
	start := in.launchedAt
	if in.deployedAt.After(start) {
		start = in.deployedAt
	}
	graceOver := now.Sub(start) >= time.Duration(m.rules.LaunchGracePeriod)*time.Second
	for _, h := range in.elb {
		v.known = true
		switch h.State {
		case healthcheck.StateHealthy:
			v.healthy = true
		case healthcheck.StateUnhealthy:
			v.failing, v.reason = true, h.Reason
		case healthcheck.StateInitial:
			if graceOver && !v.failing {
				v.failing, v.reason = true, h.Reason
			}
		}
	}
	if v.healthy {
		v.failing, v.reason = false, ""
	}
	return v
}

func (m *Monitor) emit(now time.Time, instanceID string, from, to Status, causes []string) Event {
	e := m.events.add(Event{
		EventDate: now, EnvironmentName: m.name, InstanceId: instanceID,
		Severity: severityOf(from, to), Message: transitionMessage(instanceID, from, to, causes),
		From: from, To: to,
	})
	level := slog.LevelInfo
	if e.Severity == "WARN" {
		level = slog.LevelWarn
	}
	m.log.Log(context.Background(), level, e.Message, "environment", m.name, "instance", instanceID)
	return e
}

// EnvironmentHealth returns the environment's health in the
// DescribeEnvironmentHealth shape, as of the last evaluation.
func (m *Monitor) EnvironmentHealth() EnvironmentHealth {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.env.status
	if !m.env.set {
		st = StatusPending
	}
	out := EnvironmentHealth{
		EnvironmentName: m.name, HealthStatus: st, Status: m.lifecycle, Color: st.Color(),
		Causes: append([]string{}, m.env.causes...), ApplicationMetrics: m.envMetrics, RefreshedAt: m.refreshedAt,
		EvaluationMetrics: m.env.metrics,
	}
	for _, in := range m.order {
		out.InstancesHealth.count(in.published())
	}
	return out
}

func (in *instance) published() Status {
	if !in.state.set {
		return StatusPending
	}
	return in.state.status
}

// InstancesHealth returns every instance in the DescribeInstancesHealth
// shape, in the order they were added.
func (m *Monitor) InstancesHealth() InstancesHealth {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := InstancesHealth{RefreshedAt: m.refreshedAt, InstanceHealthList: make([]SingleInstanceHealth, 0, len(m.order))}
	for _, in := range m.order {
		st := in.published()
		var sys *SystemStatus
		if in.system != nil {
			c := *in.system
			c.LoadAverage = slices.Clone(c.LoadAverage)
			sys = &c
		}
		out.InstanceHealthList = append(out.InstanceHealthList, SingleInstanceHealth{
			InstanceId: in.id, HealthStatus: st, Color: st.Color(), Causes: append([]string{}, in.state.causes...),
			LaunchedAt: in.launchedAt, ApplicationMetrics: in.metrics, System: sys,
			EvaluationMetrics: in.state.metrics, Deployment: m.deploymentOf(in),
		})
	}
	return out
}

// Events returns the kept events dated after since, oldest first.
func (m *Monitor) Events(since time.Time) []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.events.all(eventsSince(since))
}

// EventsAfter returns the kept events numbered after seq, oldest first; a
// reader resumes from the Seq of the last event it saw.
func (m *Monitor) EventsAfter(seq uint64) []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.events.all(func(e Event) bool { return e.Seq > seq })
}

// Subscribe delivers each new event to a channel of the given buffer. The
// monitor never waits for a subscriber: when the buffer is full the event
// is dropped for that subscriber (and counted); Events still holds it.
func (m *Monitor) Subscribe(buffer int) *Subscription { return m.subs.add(buffer) }
