package targetgroup

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/testutil"
)

var (
	healthy   = healthcheck.TargetHealth{State: healthcheck.StateHealthy}
	unhealthy = healthcheck.Health(healthcheck.StateUnhealthy, healthcheck.ReasonFailedHealthChecks)
)

func target(n int) healthcheck.Target {
	ip := "127.0.0." + string(rune('1'+n))
	return healthcheck.Target{ID: "i-" + ip, IP: ip, Port: 8000}
}

// fakeClock is the slow-start clock of a test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// recorder is a Reporter that keeps every report.
type recorder struct {
	mu      sync.Mutex
	reports []healthcheck.TargetHealth
}

func (r *recorder) SetHealth(_ healthcheck.Target, h healthcheck.TargetHealth) {
	r.mu.Lock()
	r.reports = append(r.reports, h)
	r.mu.Unlock()
}

func (r *recorder) states() []healthcheck.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []healthcheck.State
	for _, h := range r.reports {
		out = append(out, h.State)
	}
	return out
}

func newGroup(t *testing.T, mod func(*config.TargetGroup), o Options) *Group {
	t.Helper()
	tg := config.DefaultTargetGroup
	tg.Name = "web"
	tg.Port = 8000
	if mod != nil {
		mod(&tg)
	}
	g, err := New(tg, o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func counts(g *Group, n int) map[healthcheck.Target]int {
	out := map[healthcheck.Target]int{}
	for range n {
		m := g.Pick(nil)
		if m == nil {
			out[healthcheck.Target{}]++
			continue
		}
		out[m.Target()]++
		m.Release()
	}
	return out
}

func TestSelectionHealthyOnlyAndFailOpen(t *testing.T) {
	g := newGroup(t, nil, Options{})
	if m := g.Pick(nil); m != nil {
		t.Fatalf("empty group picked %v; want nil (503)", m.Target())
	}
	a, b, c := target(1), target(2), target(3)
	for _, tt := range []healthcheck.Target{a, b, c} {
		g.Register(tt)
	}
	// All initial: nothing is healthy, so the group fails open to all three.
	got := counts(g, 300)
	if !g.FailingOpen() || got[a] != 100 || got[b] != 100 || got[c] != 100 {
		t.Fatalf("initial targets: failing open %v, picks %v; want fail open, 100 each", g.FailingOpen(), got)
	}
	g.SetHealth(a, healthy)
	g.SetHealth(b, unhealthy)
	g.SetHealth(c, healthcheck.Health(healthcheck.StateUnavailable, healthcheck.ReasonHealthCheckDisabled))
	got = counts(g, 300)
	if g.FailingOpen() || got[a] != 150 || got[c] != 150 || got[b] != 0 {
		t.Fatalf("healthy a, unhealthy b, unavailable c: picks %v; want a and c 150 each, b none", got)
	}
	g.SetHealth(a, unhealthy)
	g.SetHealth(c, unhealthy)
	got = counts(g, 300)
	if !g.FailingOpen() || got[a] != 100 || got[b] != 100 || got[c] != 100 {
		t.Fatalf("all unhealthy: picks %v; want fail open to all three", got)
	}
}

func TestPickExcludes(t *testing.T) {
	for _, alg := range []string{"round_robin", "least_outstanding_requests", "weighted_random"} {
		t.Run(alg, func(t *testing.T) {
			g := newGroup(t, func(tg *config.TargetGroup) { tg.LoadBalancingAlgorithmType = alg }, Options{})
			a, b := target(1), target(2)
			g.Register(a)
			if m := g.Pick(g.Pick(nil)); m != nil {
				t.Fatalf("one target, excluded: picked %v; want nil", m.Target())
			}
			g.Register(b)
			first := g.Pick(nil)
			for range 50 {
				m := g.Pick(first)
				if m == nil || m == first {
					t.Fatalf("picked %v while excluding %v", m, first.Target())
				}
				m.Release()
			}
		})
	}
}

func TestWeightedRandomSpreads(t *testing.T) {
	g := newGroup(t, func(tg *config.TargetGroup) { tg.LoadBalancingAlgorithmType = "weighted_random" }, Options{})
	a, b := target(1), target(2)
	g.Register(a)
	g.Register(b)
	got := counts(g, 4000)
	if got[a] < 1600 || got[b] < 1600 {
		t.Fatalf("picks %v; want both near 2000", got)
	}
}

func TestLeastOutstandingPrefersIdle(t *testing.T) {
	g := newGroup(t, func(tg *config.TargetGroup) { tg.LoadBalancingAlgorithmType = "least_outstanding_requests" }, Options{})
	a, b := target(1), target(2)
	g.Register(a)
	g.Register(b)
	var busy []*Member
	for range 3 { // hold three requests on whichever targets they land
		busy = append(busy, g.Pick(nil))
	}
	// 3 requests over 2 targets: 2 on one, 1 on the other. The next goes to
	// the less busy one, and then they tie.
	m := g.Pick(nil)
	if m.Outstanding() != 2 {
		t.Fatalf("picked a target with %d outstanding after; want the idler one (2 after the pick)", m.Outstanding())
	}
	for _, x := range append(busy, m) {
		x.Release()
	}
	if a, b := g.Pick(nil), g.Pick(nil); a == b {
		t.Fatalf("with one request on %v, the next pick went to it again", a.Target())
	}
}

func TestSlowStartRampsLinearly(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	g := newGroup(t, func(tg *config.TargetGroup) { tg.SlowStart = 100 }, Options{Now: clock.Now})
	old, fresh := target(1), target(2)
	g.Register(old)
	g.SetHealth(old, healthy) // alone: no other healthy target, no slow start
	if w := g.Weight(old); w != 1 {
		t.Fatalf("first healthy target weight %v; want 1 (slow start not entered without another healthy target)", w)
	}
	g.Register(fresh)
	g.SetHealth(fresh, healthy)
	for _, tc := range []struct {
		at     time.Duration
		weight float64
	}{{10 * time.Second, 0.1}, {50 * time.Second, 0.5}, {90 * time.Second, 0.9}, {100 * time.Second, 1}} {
		clock.now = time.Unix(1_700_000_000, 0).Add(tc.at)
		if w := g.Weight(fresh); w < tc.weight-0.001 || w > tc.weight+0.001 {
			t.Fatalf("at %v: weight %v; want %v", tc.at, w, tc.weight)
		}
		const n = 20000
		got := counts(g, n)
		share := float64(got[fresh]) / float64(got[old])
		if share < tc.weight*0.85 || share > tc.weight*1.15 {
			t.Fatalf("at %v: fresh/old = %d/%d = %.2f; want about %.2f", tc.at, got[fresh], got[old], share, tc.weight)
		}
	}
}

func TestDeregisterDrainsThenForgets(t *testing.T) {
	rec := &recorder{}
	g := newGroup(t, nil, Options{Reporters: []healthcheck.Reporter{rec}})
	g.SetDeregistrationDelay(150 * time.Millisecond)
	a, b := target(1), target(2)
	g.Register(a)
	g.Register(b)
	g.SetHealth(a, healthy)
	g.SetHealth(b, healthy)
	var inFlight *Member
	for inFlight == nil || inFlight.Target() != a {
		if inFlight != nil {
			inFlight.Release()
		}
		inFlight = g.Pick(nil)
	}
	done := g.Deregister(a)
	if got := g.Health(a); got.State != healthcheck.StateDraining || got.Reason != healthcheck.ReasonDeregistrationInProgress {
		t.Fatalf("after Deregister: %v; want draining / Target.DeregistrationInProgress", got)
	}
	for range 20 {
		m := g.Pick(nil)
		if m.Target() == a {
			t.Fatal("a draining target got a new request")
		}
		m.Release()
	}
	select {
	case <-done:
		t.Fatal("deregistration complete with a request in flight")
	default:
	}
	inFlight.Release()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("deregistration not complete after the last request ended")
	}
	// Complete early, but still shown draining until the delay ends.
	if got := g.Describe(); len(got) != 2 || got[0].TargetHealth.State != healthcheck.StateDraining {
		t.Fatalf("Describe before the delay: %+v; want a still draining", got)
	}
	testutil.Eventually(t, 2*time.Second, func() bool { return len(g.Describe()) == 1 },
		"target still described 2s after the delay")
	if got := g.Health(a); got.Reason != healthcheck.ReasonNotRegistered {
		t.Fatalf("after the delay: %v; want unused / Target.NotRegistered", got)
	}
	states := rec.states()
	if n := len(states); n < 2 || states[n-2] != healthcheck.StateDraining || states[n-1] != healthcheck.StateUnused {
		t.Fatalf("reports %v; want ... draining, unused", states)
	}
}

func TestDescribeShape(t *testing.T) {
	g := newGroup(t, func(tg *config.TargetGroup) { tg.HealthCheck.Port = "8081" }, Options{})
	a := target(1)
	g.Register(a)
	got := g.Describe()
	want := TargetHealthDescription{Target: a, HealthCheckPort: "8081",
		TargetHealth: healthcheck.Health(healthcheck.StateInitial, healthcheck.ReasonRegistrationInProgress)}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("Describe = %+v; want [%+v]", got, want)
	}
}

// TestPickRacesDeregister: a request never lands on a target after
// Deregister has seen it idle.
func TestPickRacesDeregister(t *testing.T) {
	g := newGroup(t, nil, Options{})
	g.SetDeregistrationDelay(time.Hour)
	a, b := target(1), target(2)
	g.Register(a)
	g.Register(b)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var late atomic.Int64
	var drained atomic.Bool
	var picks atomic.Int64
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				picks.Add(1)
				m := g.Pick(nil)
				if m != nil && m.Target() == a && drained.Load() {
					late.Add(1)
				}
				if m != nil {
					m.Release()
				}
			}
		})
	}
	// Enough picks on both sides of the deregistration to race it.
	testutil.Eventually(t, 5*time.Second, func() bool { return picks.Load() >= 1000 }, "1000 picks before Deregister")
	<-g.Deregister(a)
	drained.Store(true)
	after := picks.Load()
	testutil.Eventually(t, 5*time.Second, func() bool { return picks.Load() >= after+1000 }, "1000 picks after Deregister")
	stop.Store(true)
	wg.Wait()
	if late.Load() != 0 {
		t.Fatalf("%d requests went to a after its deregistration completed", late.Load())
	}
}

// TestOnExpireUnregister: a hook registered with OnExpire hears of a
// deregistration delay ending with a request in flight until it is
// unregistered, and not after; other hooks are unaffected.
func TestOnExpireUnregister(t *testing.T) {
	g := newGroup(t, nil, Options{})
	g.SetDeregistrationDelay(20 * time.Millisecond)
	var a atomic.Int32
	b := make(chan struct{}, 2)
	unregisterA := g.OnExpire(func(*Member) { a.Add(1) })
	g.OnExpire(func(*Member) { b <- struct{}{} }) // called after a's hook
	expireOne := func(tg healthcheck.Target) {
		t.Helper()
		g.Register(tg)
		g.SetHealth(tg, healthy)
		m := g.Pick(nil)
		if m == nil || m.Target() != tg {
			t.Fatalf("picked %v; want %v", m, tg)
		}
		g.Deregister(tg) // ends at the delay, the request still in flight
		select {
		case <-b:
		case <-time.After(2 * time.Second):
			t.Fatal("the delay ended without calling the hooks")
		}
		m.Release()
	}
	expireOne(target(1))
	unregisterA()
	unregisterA() // twice is harmless
	expireOne(target(2))
	if n := a.Load(); n != 1 {
		t.Fatalf("the unregistered hook was called %d times; want once, before it was unregistered", n)
	}
}

// TestSetAlgorithmLive: the algorithm changes on a running group
// (ModifyTargetGroupAttributes load_balancing.algorithm.type): the next
// selections use it.
func TestSetAlgorithmLive(t *testing.T) {
	g := newGroup(t, nil, Options{})
	a, b := target(1), target(2)
	g.Register(a)
	g.Register(b)
	busy := g.Pick(nil) // one request held on one target
	// Round robin ignores it: the next two picks take both targets.
	if x, y := g.Pick(nil), g.Pick(nil); x == y {
		t.Fatalf("round robin picked %v twice", x.Target())
	} else {
		x.Release()
		y.Release()
	}
	g.SetAlgorithm(LeastOutstandingRequests)
	if g.Algorithm() != LeastOutstandingRequests {
		t.Fatalf("Algorithm() = %q after SetAlgorithm", g.Algorithm())
	}
	for range 10 {
		m := g.Pick(nil)
		if m == busy {
			t.Fatalf("least outstanding requests, set live: picked the busy target %v", m.Target())
		}
		m.Release()
	}
	busy.Release()
}

// TestSetSlowStartLive: slow start set on a running group applies to a
// target that turns healthy afterwards; one already in slow start keeps its
// ramp when the duration changes; turned off, new healthy targets get their
// full share at once.
func TestSetSlowStartLive(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	g := newGroup(t, nil, Options{Now: clock.Now})
	old, fresh, third := target(1), target(2), target(3)
	g.Register(old)
	g.SetHealth(old, healthy)
	g.SetSlowStart(100 * time.Second)
	g.Register(fresh)
	g.SetHealth(fresh, healthy)
	clock.Advance(50 * time.Second)
	if w := g.Weight(fresh); w < 0.499 || w > 0.501 {
		t.Fatalf("slow start set live: weight of a target healthy since 50 s = %v, want 0.5", w)
	}
	g.SetSlowStart(0)
	if w := g.Weight(fresh); w < 0.499 || w > 0.501 {
		t.Fatalf("after slow start is turned off, the ramping target's weight = %v, want its ramp (0.5)", w)
	}
	g.Register(third)
	g.SetHealth(third, healthy)
	if w := g.Weight(third); w != 1 {
		t.Fatalf("slow start off: a target turned healthy weighs %v, want 1", w)
	}
}
