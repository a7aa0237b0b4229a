package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// autoClock is a synthetic clock: After advances the time by d and fires
// at once, so a gate of 12 checks in 2 minutes runs in microseconds.
// Samples are taken by the single deploying goroutine, so the order is
// deterministic.
type autoClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *autoClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *autoClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	t := c.now
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- t
	return ch
}

// fakeEnv records events and calls and scripts instances' health.
type fakeEnv struct {
	mu       sync.Mutex
	t        *testing.T
	members  []string           // in service, oldest first
	releases map[string]Release // what each instance runs
	inLB     map[string]bool
	events   []string
	calls    []string
	progress []Progress
	nextID   int
	split    []string
	pct      int
	// samples counts the health samples of each instance.
	samples map[string]int
	// health decides a sample; nil: healthy unless the instance runs a
	// release labelled "bad".
	health func(id string, r Release, sample int) Health
	// commandErr fails a Redeploy.
	commandErr func(id string, r Release) error
	// onEvent runs after an event is recorded (outside the lock).
	onEvent func(msg string)
	// onHealth runs before each health sample (outside the lock).
	onHealth func(id string)
}

func newFakeEnv(t *testing.T, n int, r Release) *fakeEnv {
	e := &fakeEnv{t: t, releases: map[string]Release{}, inLB: map[string]bool{}, samples: map[string]int{}}
	for range n {
		id := e.newIDLocked()
		e.members = append(e.members, id)
		e.releases[id] = r
		e.inLB[id] = true
	}
	return e
}

func (e *fakeEnv) newIDLocked() string {
	e.nextID++
	return fmt.Sprintf("i-%d", e.nextID)
}

func (e *fakeEnv) call(format string, a ...any) {
	e.calls = append(e.calls, fmt.Sprintf(format, a...))
}

func (e *fakeEnv) Name() string { return "web-env" }

func (e *fakeEnv) Members() []Member {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Member, len(e.members))
	for i, id := range e.members {
		out[i] = Member{ID: id, Release: e.releases[id]}
	}
	return out
}

func (e *fakeEnv) Deregister(ctx context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.call("deregister %s", id)
	e.inLB[id] = false
	return nil
}

func (e *fakeEnv) Register(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.call("register %s", id)
	e.inLB[id] = true
}

func (e *fakeEnv) Redeploy(ctx context.Context, id string, r Release) error {
	e.mu.Lock()
	e.call("redeploy %s %s", id, r.Label)
	if e.inLB[id] && !strings.Contains(e.t.Name(), "AllAtOnce") && !strings.Contains(e.t.Name(), "Configuration") {
		e.t.Errorf("redeploy of %s while it is in the load balancer", id)
	}
	fail := e.commandErr
	e.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if fail != nil {
		if err := fail(id, r); err != nil {
			return err
		}
	}
	e.mu.Lock()
	e.releases[id] = r
	e.mu.Unlock()
	return nil
}

func (e *fakeEnv) Launch(ctx context.Context, r Release) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := e.newIDLocked()
	e.call("launch %s %s", id, r.Label)
	e.members = append(e.members, id)
	e.releases[id] = r
	e.inLB[id] = true
	return id, nil
}

func (e *fakeEnv) Terminate(ctx context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.call("terminate %s", id)
	e.members = slices.DeleteFunc(e.members, func(m string) bool { return m == id })
	e.inLB[id] = false
	return nil
}

func (e *fakeEnv) Health(id string) Health {
	if e.onHealth != nil {
		e.onHealth(id)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.samples[id]++
	if e.health != nil {
		return e.health(id, e.releases[id], e.samples[id])
	}
	if e.releases[id].Label == "bad" {
		return Health{ELBHealthy: false, Status: "Severe"}
	}
	return Health{ELBHealthy: true, Status: "Ok"}
}

func (e *fakeEnv) SplitTraffic(newIDs []string, percent int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.call("split %v %d", newIDs, percent)
	e.split, e.pct = slices.Clone(newIDs), percent
}

func (e *fakeEnv) Event(severity, message string) {
	e.mu.Lock()
	e.events = append(e.events, severity+" "+message)
	hook := e.onEvent
	e.mu.Unlock()
	if hook != nil {
		hook(message)
	}
}

func (e *fakeEnv) Progress(p Progress) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.progress = append(e.progress, p)
}

// state returns the members and their labels, "i-1=v2 i-3=v1".
func (e *fakeEnv) state() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var parts []string
	for _, id := range e.members {
		parts = append(parts, id+"="+e.releases[id].Label)
	}
	return strings.Join(parts, " ")
}

func (e *fakeEnv) lastProgress() Progress {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.progress[len(e.progress)-1]
}

func (e *fakeEnv) checkEvents(t *testing.T, want ...string) {
	t.Helper()
	e.mu.Lock()
	got := slices.Clone(e.events)
	e.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func (e *fakeEnv) checkCalls(t *testing.T, want ...string) {
	t.Helper()
	e.mu.Lock()
	got := slices.Clone(e.calls)
	e.mu.Unlock()
	// Calls of one kind in a row may run at once: their order is not the
	// deployer's.
	norm := func(cs []string) []string {
		cs = slices.Clone(cs)
		for i := 0; i < len(cs); {
			j := i
			verb := strings.Fields(cs[i])[0]
			for j < len(cs) && strings.Fields(cs[j])[0] == verb {
				j++
			}
			slices.Sort(cs[i:j])
			i = j
		}
		return cs
	}
	if !slices.Equal(norm(got), norm(want)) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

var (
	v1  = Release{Label: "v1", Deployment: 1}
	v2  = Release{Label: "v2", Deployment: 2}
	bad = Release{Label: "bad", Deployment: 2}
)

// testGate is 3 checks in 3 seconds: one sample a second.
var testGate = Gate{Checks: 3, Window: 3 * time.Second}

func newDeployer(e *fakeEnv) (*Deployer, *autoClock) {
	c := &autoClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return New(e, Options{Gate: testGate, Clock: c}), c
}

func policy(typ string) Policy {
	return Policy{
		Type: typ, BatchSizeType: "Percentage", BatchSize: 50, Timeout: 10 * time.Second,
		HealthCheckSuccessThreshold: "Ok", NewVersionPercent: 10, EvaluationTime: 5 * time.Second,
	}
}
