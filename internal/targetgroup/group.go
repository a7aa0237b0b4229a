package targetgroup

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// Algorithm is a load_balancing_algorithm_type value.
type Algorithm string

const (
	RoundRobin               Algorithm = "round_robin"
	LeastOutstandingRequests Algorithm = "least_outstanding_requests"
	WeightedRandom           Algorithm = "weighted_random"
)

// Options wire a Group. Every field may be left zero.
type Options struct {
	// Reporters also receive every health change of the group's targets,
	// including draining and unused, which the checker does not know (the
	// monitor, a logger). They must not block, and must not call the
	// group's Register or Deregister (reports are delivered in order under
	// the group's report lock).
	Reporters []healthcheck.Reporter
	// Observers receive every finished probe.
	Observers []healthcheck.ResultObserver
	Logger    *slog.Logger
	// Now is the clock of slow start; nil means time.Now. Draining uses real
	// timers of the configured delay.
	Now func() time.Time
	// Prober replaces the wire probe (tests).
	Prober healthcheck.Prober
	// FirstProbeJitter is passed to the checker.
	FirstProbeJitter time.Duration
}

// Group is one target group at run time. It implements healthcheck.Reporter
// for its own checker.
type Group struct {
	name      string
	protocol  string
	version   string // protocol version: HTTP1, HTTP2 or GRPC
	port      int
	log       *slog.Logger
	now       func() time.Time
	reporters []healthcheck.Reporter
	checker   *healthcheck.Checker

	snap atomic.Pointer[snapshot]
	next atomic.Uint64 // round-robin cursor, and the tie-breaker of least outstanding

	mu sync.Mutex
	// algorithm and slowStart change live (SetAlgorithm, SetSlowStart);
	// selection reads the algorithm from the snapshot.
	algorithm  Algorithm
	slowStart  time.Duration
	members    map[string]*Member
	seq        uint64
	deregDelay time.Duration
	// splitNew and splitPercent are the traffic split SetSplit set
	// (percent 0: none).
	splitNew     map[string]bool
	splitPercent int
	// reportMu orders fan-out: it is taken before mu is released, so that
	// reporters see changes in the order the group made them, without mu
	// being held while they run.
	reportMu sync.Mutex
	// onExpire are called when a deregistration delay ends with requests
	// still in flight (under mu; replaced, never changed in place, so that
	// a copy taken under mu can be called after it).
	onExpire []expireHook
	hookSeq  uint64
}

type expireHook struct {
	id uint64
	f  func(*Member)
}

// OnExpire registers f, called when a target's deregistration delay ends
// while requests to it are still in flight: the ALB then cuts them ("the
// deregistration delay elapsed mid-request": a 502, ALB troubleshooting, "HTTP 502"), and
// f is how the load balancer learns to. The returned func unregisters f
// (a load balancer shut down must not stay reachable from its groups).
func (g *Group) OnExpire(f func(*Member)) (unregister func()) {
	g.mu.Lock()
	g.hookSeq++
	id := g.hookSeq
	g.onExpire = append(g.onExpire[:len(g.onExpire):len(g.onExpire)], expireHook{id: id, f: f})
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		kept := make([]expireHook, 0, len(g.onExpire))
		for _, h := range g.onExpire {
			if h.id != id {
				kept = append(kept, h)
			}
		}
		g.onExpire = kept
	}
}

var _ healthcheck.Reporter = (*Group)(nil)

// New builds the group tg describes, with its health checker; call Run to
// start probing.
func New(tg config.TargetGroup, o Options) (*Group, error) {
	version := tg.ProtocolVersion
	if version == "" {
		version = "HTTP1"
	}
	s, err := tg.HealthCheck.Settings(version)
	if err != nil {
		return nil, fmt.Errorf("target group %q: %w", tg.Name, err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	alg := Algorithm(tg.LoadBalancingAlgorithmType)
	if alg == "" {
		alg = RoundRobin
	}
	g := &Group{
		name: tg.Name, protocol: tg.Protocol, version: version, port: tg.Port, algorithm: alg,
		slowStart: time.Duration(tg.SlowStart) * time.Second,
		log:       o.Logger.With("target_group", tg.Name), now: o.Now,
		reporters: o.Reporters, members: make(map[string]*Member),
		deregDelay: time.Duration(tg.DeregistrationDelay) * time.Second,
	}
	var observer healthcheck.ResultObserver
	switch len(o.Observers) {
	case 0:
	case 1:
		observer = o.Observers[0]
	default:
		observer = observers(o.Observers)
	}
	g.checker = healthcheck.NewChecker(s, healthcheck.Options{
		Prober: o.Prober, Reporter: g, Observer: observer, Logger: g.log,
		FirstProbeJitter: o.FirstProbeJitter,
	})
	g.snap.Store(&snapshot{algorithm: alg})
	return g, nil
}

type observers []healthcheck.ResultObserver

func (os observers) ObserveProbe(r healthcheck.Result) {
	for _, o := range os {
		o.ObserveProbe(r)
	}
}

// Name of the group.
func (g *Group) Name() string { return g.name }

// Protocol to the targets, HTTP or HTTPS.
func (g *Group) Protocol() string { return g.protocol }

// ProtocolVersion is HTTP1, HTTP2 or GRPC: what the load balancer speaks to
// the group's targets.
func (g *Group) ProtocolVersion() string { return g.version }

// Port is the group's traffic port.
func (g *Group) Port() int { return g.port }

// Algorithm is the group's load-balancing algorithm.
func (g *Group) Algorithm() Algorithm { return g.snap.Load().algorithm }

// SetAlgorithm changes the load-balancing algorithm of the running group,
// as ModifyTargetGroupAttributes does on AWS (load_balancing.algorithm.type):
// every selection made afterwards uses it. The value is trusted (validated
// by the caller).
func (g *Group) SetAlgorithm(a Algorithm) {
	if a == "" {
		a = RoundRobin
	}
	g.mu.Lock()
	g.algorithm = a
	g.rebuildLocked()
	g.mu.Unlock()
}

// SlowStart is the slow start duration in force (0: off).
func (g *Group) SlowStart() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.slowStart
}

// SetSlowStart changes slow_start.duration_seconds of the running group:
// targets that turn healthy afterwards ramp up over d (none when 0); a
// target already in slow start finishes the ramp it began, as on AWS,
// where "the load balancer starts to send [a target] a linearly increasing
// share" when it becomes healthy
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#slow-start-mode).
func (g *Group) SetSlowStart(d time.Duration) {
	g.mu.Lock()
	g.slowStart = d
	g.mu.Unlock()
}

// Run probes the targets until ctx ends.
func (g *Group) Run(ctx context.Context) { g.checker.Run(ctx) }

// HealthCheck returns the health-check settings in force.
func (g *Group) HealthCheck() healthcheck.Settings { return g.checker.Settings() }

// ModifyHealthCheck applies new, validated settings, as ModifyTargetGroup does.
// The checks keep the group's protocol version, which ModifyTargetGroup
// cannot change.
func (g *Group) ModifyHealthCheck(s healthcheck.Settings) {
	s.HTTP2, s.GRPC = g.version == "HTTP2", g.version == "GRPC"
	g.checker.UpdateSettings(s)
}

// DeregistrationDelay in force.
func (g *Group) DeregistrationDelay() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.deregDelay
}

// SetDeregistrationDelay applies to deregistrations that start afterwards.
// The value is trusted (validated as 0-3600 s by the caller).
func (g *Group) SetDeregistrationDelay(d time.Duration) {
	g.mu.Lock()
	g.deregDelay = d
	g.mu.Unlock()
}

// Register adds t (state initial) and starts checking it. Registering a
// target that is already registered does nothing; registering one that is
// draining ends its deregistration and registers it afresh.
func (g *Group) Register(t healthcheck.Target) {
	g.mu.Lock()
	if old := g.members[t.Key()]; old != nil {
		if !old.draining.Load() {
			g.mu.Unlock()
			return
		}
		old.timer.Stop()
		old.markDrained()
	}
	g.seq++
	m := &Member{
		target: t, addr: t.Addr(), group: g, drained: make(chan struct{}),
		health: healthcheck.Health(healthcheck.StateInitial, healthcheck.ReasonRegistrationInProgress), registered: g.seq,
	}
	g.members[t.Key()] = m
	g.rebuildLocked()
	g.mu.Unlock()
	g.log.Info("target registered", "target", t.ID, "addr", m.addr)
	g.checker.Add(t) // reports initial (or unavailable) through SetHealth
}

// Deregister starts draining t: no new request goes to it, requests in
// flight finish. It returns a channel closed when the deregistration is
// complete: when nothing is in flight any more, or when the delay ends,
// whichever comes first. Describe shows draining until the delay ends, then
// the target is gone (unused, Target.NotRegistered, for the reporters).
// Deregistering an unknown target returns a closed channel.
func (g *Group) Deregister(t healthcheck.Target) <-chan struct{} {
	g.mu.Lock()
	m := g.members[t.Key()]
	if m == nil {
		g.mu.Unlock()
		done := make(chan struct{})
		close(done)
		return done
	}
	if m.draining.Load() {
		g.mu.Unlock()
		return m.drained
	}
	m.draining.Store(true)
	if m.outstanding.Load() == 0 {
		m.markDrained()
	}
	m.health = healthcheck.Health(healthcheck.StateDraining, healthcheck.ReasonDeregistrationInProgress)
	m.slowStartEnd = time.Time{}
	m.timer = time.AfterFunc(g.deregDelay, func() { g.finishDeregistration(m) })
	g.rebuildLocked()
	h := m.health
	g.reportMu.Lock()
	g.mu.Unlock()
	g.fanOut(t, h)
	g.reportMu.Unlock()
	g.checker.Remove(t)
	g.log.Info("target draining", "target", t.ID, "addr", m.addr, "in_flight", m.outstanding.Load())
	return m.drained
}

func (g *Group) finishDeregistration(m *Member) {
	g.mu.Lock()
	if g.members[m.target.Key()] != m {
		g.mu.Unlock()
		return // registered again meanwhile
	}
	delete(g.members, m.target.Key())
	m.markDrained()
	g.rebuildLocked()
	expire := g.onExpire
	g.reportMu.Lock()
	g.mu.Unlock()
	g.fanOut(m.target, healthcheck.Health(healthcheck.StateUnused, healthcheck.ReasonNotRegistered))
	g.reportMu.Unlock()
	inFlight := m.outstanding.Load()
	g.log.Info("target deregistered", "target", m.target.ID, "addr", m.addr, "in_flight", inFlight)
	if inFlight > 0 {
		for _, h := range expire {
			h.f(m)
		}
	}
}

// SetHealth records a health change from the group's checker.
func (g *Group) SetHealth(t healthcheck.Target, h healthcheck.TargetHealth) {
	g.mu.Lock()
	m := g.members[t.Key()]
	if m == nil || m.draining.Load() {
		g.mu.Unlock()
		return // a probe that finished after deregistration
	}
	was := m.health
	m.health = h
	switch {
	case h.State == healthcheck.StateHealthy && was.State != healthcheck.StateHealthy && g.slowStart > 0:
		now := g.now()
		if g.healthyOutOfSlowStartLocked(m, now) {
			m.slowStartEnd, m.slowStartLen = now.Add(g.slowStart), g.slowStart
		}
	case h.State != healthcheck.StateHealthy:
		m.slowStartEnd = time.Time{}
	}
	g.rebuildLocked()
	g.reportMu.Lock()
	g.mu.Unlock()
	g.fanOut(t, h)
	g.reportMu.Unlock()
}

func (g *Group) fanOut(t healthcheck.Target, h healthcheck.TargetHealth) {
	for _, r := range g.reporters {
		r.SetHealth(t, h)
	}
}

// healthyOutOfSlowStartLocked reports whether a healthy target other than m
// is out of slow start: slow start is not entered otherwise (ALB user guide, "Target groups", slow start mode).
func (g *Group) healthyOutOfSlowStartLocked(m *Member, now time.Time) bool {
	for _, o := range g.members {
		if o != m && !o.draining.Load() && o.health.State == healthcheck.StateHealthy &&
			!now.Before(o.slowStartEnd) {
			return true
		}
	}
	return false
}

// TargetHealthDescription is one member of DescribeTargetHealth's answer.
type TargetHealthDescription struct {
	Target          healthcheck.Target       `json:"Target"`
	HealthCheckPort string                   `json:"HealthCheckPort"`
	TargetHealth    healthcheck.TargetHealth `json:"TargetHealth"`
}

// Describe lists the registered targets, draining ones included, in
// registration order, as DescribeTargetHealth does.
func (g *Group) Describe() []TargetHealthDescription {
	s := g.checker.Settings()
	g.mu.Lock()
	ms := make([]*Member, 0, len(g.members))
	for _, m := range g.members {
		ms = append(ms, m)
	}
	out := make([]TargetHealthDescription, 0, len(ms))
	slices.SortFunc(ms, func(a, b *Member) int { return int(a.registered) - int(b.registered) })
	for _, m := range ms {
		out = append(out, TargetHealthDescription{
			Target: m.target, HealthCheckPort: strconv.Itoa(s.CheckPort(m.target)), TargetHealth: m.health,
		})
	}
	g.mu.Unlock()
	return out
}

// Health returns t's health, unused / Target.NotRegistered when t is not registered.
func (g *Group) Health(t healthcheck.Target) healthcheck.TargetHealth {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m := g.members[t.Key()]; m != nil {
		return m.health
	}
	return healthcheck.Health(healthcheck.StateUnused, healthcheck.ReasonNotRegistered)
}

// FailingOpen reports whether no target is routable, so that traffic goes
// to every registered target regardless of health.
func (g *Group) FailingOpen() bool { return g.snap.Load().failOpen }
