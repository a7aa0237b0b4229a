package healthcheck

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// scriptedProber answers each target's probes from a script, one entry per
// probe; the last entry repeats. Scripted codes are judged by the matcher of
// the settings in force. It records when each probe was sent.
type scriptedProber struct {
	mu     sync.Mutex
	script map[string][]Result
	sent   map[string][]time.Time
	seen   []Settings
}

func (p *scriptedProber) Probe(ctx context.Context, t Target, s Settings) Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent[t.ID] = append(p.sent[t.ID], time.Now())
	p.seen = append(p.seen, s)
	q := p.script[t.ID]
	r := q[0]
	if len(q) > 1 {
		p.script[t.ID] = q[1:]
	}
	if r.StatusCode != 0 { // a response: the matcher in force decides, as in the real probe
		r.Reason = ""
		if !s.Matcher.Match(r.StatusCode) {
			r.Reason = ReasonResponseCodeMismatch
		}
	}
	r.Target = t
	return r
}

// recorder is a Reporter and ResultObserver that records every call.
type recorder struct {
	mu      sync.Mutex
	changes map[string][]TargetHealth
	at      map[string][]time.Time
	results int
}

func newRecorder() *recorder {
	return &recorder{changes: map[string][]TargetHealth{}, at: map[string][]time.Time{}}
}

func (r *recorder) SetHealth(t Target, h TargetHealth) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes[t.ID] = append(r.changes[t.ID], h)
	r.at[t.ID] = append(r.at[t.ID], time.Now())
}

func (r *recorder) ObserveProbe(Result) { r.mu.Lock(); r.results++; r.mu.Unlock() }

func (r *recorder) history(id string) []TargetHealth {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]TargetHealth(nil), r.changes[id]...)
}

func startChecker(t *testing.T, s Settings, p Prober, rec *recorder) (*Checker, context.CancelFunc) {
	c := NewChecker(s, Options{Prober: p, Reporter: rec, Observer: rec})
	ctx, cancel := context.WithCancel(context.Background())
	go c.Run(ctx)
	return c, cancel
}

// TestCheckerTimeline runs the scheduler on a synthetic clock: a target that
// answers 400 three times and then 200 goes initial -> unhealthy -> healthy
// at exactly the times the thresholds and interval say.
func TestCheckerTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := EBDefaults() // interval 15 s, healthy 3, unhealthy 5
		s.UnhealthyThreshold = 2
		s.HealthyThreshold = 2
		p := &scriptedProber{sent: map[string][]time.Time{}, script: map[string][]Result{
			"a": {code(400), code(400), code(400), pass()},
		}}
		rec := newRecorder()
		start := time.Now()
		c, cancel := startChecker(t, s, p, rec)
		defer cancel()
		c.Add(Target{ID: "a", IP: "127.0.0.2", Port: 8000})
		time.Sleep(61 * time.Second)
		synctest.Wait()

		want := []TargetHealth{
			Health(StateInitial, ReasonRegistrationInProgress),
			Health(StateInitial, ReasonInitialHealthChecking),
			unhealthyWith(400), // second failure, at 15 s
			healthy,            // second pass, at 60 s
		}
		got := rec.history("a")
		if len(got) != len(want) {
			t.Fatalf("transitions %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("transition %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		rec.mu.Lock()
		at := rec.at["a"]
		rec.mu.Unlock()
		if d := at[2].Sub(start); d != 15*time.Second {
			t.Errorf("unhealthy at %v, want 15s (2 failures 15 s apart)", d)
		}
		if d := at[3].Sub(start); d != 60*time.Second {
			t.Errorf("healthy at %v, want 60s", d)
		}
		if n := len(p.sent["a"]); n != 5 {
			t.Errorf("%d probes in 61 s at 15 s intervals, want 5", n)
		}
		if rec.results != 5 {
			t.Errorf("observer saw %d results, want 5", rec.results)
		}
	})
}

// TestCheckerMatcherChangeAppliesNextProbe is step 3 of the reference
// scenario: targets answering 301 turn healthy after the matcher becomes 200-301.
func TestCheckerMatcherChangeAppliesNextProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := EBDefaults()
		s.HealthyThreshold = 3
		s.UnhealthyThreshold = 2
		p := &scriptedProber{sent: map[string][]time.Time{}, script: map[string][]Result{"a": {code(301)}}}
		rec := newRecorder()
		c, cancel := startChecker(t, s, p, rec)
		defer cancel()
		c.Add(Target{ID: "a", IP: "127.0.0.2", Port: 8000})
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if h := c.Health(Target{ID: "a", Port: 8000}); h != unhealthyWith(301) {
			t.Fatalf("before the change: %+v", h)
		}
		s.Matcher = MustParseMatcher("200-301")
		c.UpdateSettings(s)
		time.Sleep(30 * time.Second) // probes at 30 s and 45 s: 2 passes of 3
		synctest.Wait()
		if h := c.Health(Target{ID: "a", Port: 8000}); h.State != StateUnhealthy {
			t.Fatalf("healthy after 2 passes with healthy threshold 3: %+v", h)
		}
		time.Sleep(15 * time.Second)
		synctest.Wait()
		if h := c.Health(Target{ID: "a", Port: 8000}); h != healthy {
			t.Fatalf("after 3 passes: %+v", h)
		}
	})
}

func TestCheckerShorterIntervalAppliesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := EBDefaults()
		s.Interval = 300 * time.Second
		p := &scriptedProber{sent: map[string][]time.Time{}, script: map[string][]Result{"a": {pass()}}}
		c, cancel := startChecker(t, s, p, newRecorder())
		defer cancel()
		c.Add(Target{ID: "a", IP: "127.0.0.2", Port: 8000})
		time.Sleep(time.Second)
		s.Interval = 5 * time.Second
		c.UpdateSettings(s)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		if n := len(p.sent["a"]); n < 3 {
			t.Errorf("%d probes within 11 s after the interval went from 300 s to 5 s", n)
		}
	})
}

func TestCheckerRemoveStopsProbing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &scriptedProber{sent: map[string][]time.Time{}, script: map[string][]Result{"a": {pass()}, "b": {pass()}}}
		c, cancel := startChecker(t, EBDefaults(), p, newRecorder())
		defer cancel()
		a, b := Target{ID: "a", IP: "127.0.0.2", Port: 8000}, Target{ID: "b", IP: "127.0.0.3", Port: 8000}
		c.Add(a)
		c.Add(b)
		time.Sleep(time.Second)
		c.Remove(a)
		time.Sleep(60 * time.Second)
		synctest.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		if n := len(p.sent["a"]); n != 1 {
			t.Errorf("removed target probed %d times, want 1", n)
		}
		if n := len(p.sent["b"]); n != 5 {
			t.Errorf("remaining target probed %d times in 61 s, want 5", n)
		}
		if h := c.Health(a); h != Health(StateUnused, ReasonNotRegistered) {
			t.Errorf("removed target health %+v", h)
		}
	})
}

func TestCheckerDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := EBDefaults()
		s.Enabled = false
		p := &scriptedProber{sent: map[string][]time.Time{}, script: map[string][]Result{"a": {pass()}}}
		rec := newRecorder()
		c, cancel := startChecker(t, s, p, rec)
		defer cancel()
		a := Target{ID: "a", IP: "127.0.0.2", Port: 8000}
		c.Add(a)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		want := TargetHealth{StateUnavailable, ReasonHealthCheckDisabled, "Health checks are disabled"}
		if h := c.Health(a); h != want {
			t.Fatalf("disabled: %+v", h)
		}
		if len(p.sent["a"]) != 0 {
			t.Fatal("probed with health checks disabled")
		}
		s.Enabled = true
		c.UpdateSettings(s)
		time.Sleep(time.Second)
		synctest.Wait()
		if h := c.Health(a); h != healthy {
			t.Fatalf("after enabling: %+v", h)
		}
	})
}
