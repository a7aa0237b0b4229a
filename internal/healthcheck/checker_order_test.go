package healthcheck

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// gateReporter records every report, and every mark the test makes, in one
// log in the order they arrive. A report named in hold waits, before it is
// recorded, until the test closes its channel: that is the moment a
// reporting goroutine can be descheduled between the checker's state change
// and the Reporter call, forced instead of hoped for.
type gateReporter struct {
	mu   sync.Mutex
	log  []string
	hold map[string]chan struct{} // "target state reason" -> release
}

func (g *gateReporter) SetHealth(t Target, h TargetHealth) {
	key := t.ID + " " + string(h.State) + " " + string(h.Reason)
	g.mu.Lock()
	release := g.hold[key]
	delete(g.hold, key) // hold only the first such report
	g.mu.Unlock()
	if release != nil {
		<-release
	}
	g.mark(key)
}

func (g *gateReporter) mark(s string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.log = append(g.log, s)
}

func (g *gateReporter) entries(prefix string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, s := range g.log {
		if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
			out = append(out, s)
		}
	}
	return out
}

func newGate(holds ...string) (*gateReporter, map[string]chan struct{}) {
	g := &gateReporter{hold: map[string]chan struct{}{}}
	release := map[string]chan struct{}{}
	for _, h := range holds {
		ch := make(chan struct{})
		g.hold[h], release[h] = ch, ch
	}
	return g, release
}

func checkLog(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("reports in the order they arrived:\n%s\nwant\n%s", lines(got), lines(want))
	}
}

func lines(ss []string) string {
	out := ""
	for i, s := range ss {
		out += fmt.Sprintf("  %d. %s\n", i+1, s)
	}
	return out
}

// TestAddReportCannotFollowProbeReport is defect 3 itself: Add's
// "initial / Elb.RegistrationInProgress" is held on its way to the Reporter
// while the scheduler probes the new target, which passes. The reports must
// still arrive in the order the states were taken, or the target's last
// report is initial and, since only changes are reported, a healthy target
// is never routed to.
func TestAddReportCannotFollowProbeReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &scriptedProber{sent: map[string][]time.Time{}, script: map[string][]Result{"a": {pass()}, "b": {pass()}}}
		g, release := newGate("b initial Elb.RegistrationInProgress")
		c := NewChecker(EBDefaults(), Options{Prober: p, Reporter: g})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go c.Run(ctx)
		c.Add(Target{ID: "a", IP: "127.0.0.2", Port: 8000}) // keeps the scheduler's timer at 15 s, 30 s ...
		time.Sleep(10 * time.Second)

		b := Target{ID: "b", IP: "127.0.0.3", Port: 8000}
		added := make(chan struct{})
		go func() { c.Add(b); close(added) }() // b is in the heap; its first report is held
		synctest.Wait()
		time.Sleep(6 * time.Second) // the 15 s dispatch probes b, which passes
		synctest.Wait()
		close(release["b initial Elb.RegistrationInProgress"])
		<-added
		synctest.Wait()

		checkLog(t, g.entries("b "),
			"b initial Elb.RegistrationInProgress",
			"b initial Elb.InitialHealthChecking",
			"b healthy ")
		if h := c.Health(b); h.State != StateHealthy {
			t.Errorf("checker: %+v, want healthy", h)
		}
	})
}

// TestDisableReportCannotFollowProbeStart: the probe goroutine's
// "initial / Elb.InitialHealthChecking" is held while health checks are
// disabled; "unavailable" must still be the last report.
func TestDisableReportCannotFollowProbeStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &scriptedProber{sent: map[string][]time.Time{}, script: map[string][]Result{"a": {pass()}}}
		g, release := newGate("a initial Elb.InitialHealthChecking")
		s := EBDefaults()
		c := NewChecker(s, Options{Prober: p, Reporter: g})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go c.Run(ctx)
		a := Target{ID: "a", IP: "127.0.0.2", Port: 8000}
		c.Add(a)
		synctest.Wait() // the first probe has begun; its report is held

		s.Enabled = false
		updated := make(chan struct{})
		go func() { c.UpdateSettings(s); close(updated) }()
		synctest.Wait()
		close(release["a initial Elb.InitialHealthChecking"])
		<-updated
		synctest.Wait()

		checkLog(t, g.entries("a "),
			"a initial Elb.RegistrationInProgress",
			"a initial Elb.InitialHealthChecking",
			"a unavailable Target.HealthCheckDisabled")
	})
}

// TestRemoveWaitsForReportsInFlight: a probe's result is held on its way
// to the Reporter when the target is removed. Remove returns only after it
// has arrived, so that the caller (the target group, which drops reports for
// a draining target) never sees a report of a registration it has already
// ended, nor one arriving after a new registration of the same target.
func TestRemoveWaitsForReportsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &scriptedProber{sent: map[string][]time.Time{}, script: map[string][]Result{"a": {pass()}}}
		g, release := newGate("a healthy ")
		c := NewChecker(EBDefaults(), Options{Prober: p, Reporter: g})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go c.Run(ctx)
		a := Target{ID: "a", IP: "127.0.0.2", Port: 8000}
		c.Add(a)
		synctest.Wait() // the probe passed; "healthy" is held

		removed := make(chan struct{})
		go func() { c.Remove(a); g.mark("a removed"); close(removed) }()
		synctest.Wait()
		close(release["a healthy "])
		<-removed
		synctest.Wait()

		checkLog(t, g.entries("a "),
			"a initial Elb.RegistrationInProgress",
			"a initial Elb.InitialHealthChecking",
			"a healthy ",
			"a removed")
	})
}

// explainer is a Reporter that, like the diagnosis, explains a change from
// the last result its Observer side has seen.
type explainer struct {
	mu        sync.Mutex
	last      map[string]Result
	explained []int // the status code each unhealthy report was explained with
}

func (x *explainer) ObserveProbe(r Result) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.last[r.Target.ID] = r
}

func (x *explainer) SetHealth(t Target, h TargetHealth) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if h.State == StateUnhealthy {
		x.explained = append(x.explained, x.last[t.ID].StatusCode)
	}
}

// TestChangeIsReportedAfterItsResult: a target refused at first (its app
// still starting), then answering 400, turns unhealthy on a 400; whoever
// explains the change must have seen that 400, not the refusal before it
// (the reference scenario's diagnosis said "connection refused" otherwise).
func TestChangeIsReportedAfterItsResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := EBDefaults()
		s.UnhealthyThreshold = 2
		p := &scriptedProber{sent: map[string][]time.Time{}, script: map[string][]Result{
			"a": {pass(), {Reason: ReasonFailedHealthChecks}, code(400)},
		}}
		x := &explainer{last: map[string]Result{}}
		c := NewChecker(s, Options{Prober: p, Reporter: x, Observer: x})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go c.Run(ctx)
		c.Add(Target{ID: "a", IP: "127.0.0.2", Port: 8000})
		time.Sleep(31 * time.Second)
		synctest.Wait()
		x.mu.Lock()
		defer x.mu.Unlock()
		if len(x.explained) != 1 || x.explained[0] != 400 {
			t.Fatalf("unhealthy explained with codes %v; want [400], the result that caused it", x.explained)
		}
	})
}
