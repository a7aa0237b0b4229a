package diagnose

import (
	"context"
	"sync"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// WatcherOptions wire a Watcher. Settings is required; the others may be nil.
type WatcherOptions struct {
	// Settings returns the health check in force for a target group, which
	// the diagnosis repeats; ok is false for a group that is gone, and then
	// nothing is diagnosed.
	Settings func(group string) (s healthcheck.Settings, ok bool)
	// Diagnose explains a failed check. Default: Diagnoser{}.Diagnose. The
	// caller injects its own to set PublicHost as the config has it now.
	Diagnose func(ctx context.Context, t healthcheck.Target, s healthcheck.Settings, r healthcheck.Result) Diagnosis
	// Diagnosed receives each new diagnosis, from the goroutine that made
	// it, so that `elbow up` can print it.
	Diagnosed func(group string, t healthcheck.Target, d Diagnosis)
}

// Watcher diagnoses each target when it turns unhealthy, from the failed
// probe that made it so, and keeps the diagnosis for as long as the target
// stays unhealthy. It listens to the health checker through its two
// reporting interfaces (For returns them, one per target group):
// ObserveProbe remembers each target's latest failure, SetHealth asks for
// the diagnosis.
//
// The checker reports a change before it hands over the probe that caused
// it (healthcheck.Checker.probe), so at SetHealth the failure remembered
// may be an older one: a connection refused while the app was starting,
// where the change is to [301]. The diagnosis then waits for the failure
// whose health is the one reported.
type Watcher struct {
	ctx context.Context
	o   WatcherOptions
	wg  sync.WaitGroup

	mu sync.Mutex
	// lastFailure is each target's latest failed probe; diagnoses the
	// diagnosis of each unhealthy target; turn counts each target's health
	// reports, so that a diagnosis finished after the target recovered is
	// dropped. All by group and target key.
	lastFailure map[string]healthcheck.Result
	diagnoses   map[string]Diagnosis
	turn        map[string]uint64
	// waiting holds the health of each unhealthy target whose diagnosis
	// waits for the failure that explains it.
	waiting map[string]healthcheck.TargetHealth
}

// NewWatcher returns a watcher whose diagnoses run until ctx ends.
func NewWatcher(ctx context.Context, o WatcherOptions) *Watcher {
	if o.Diagnose == nil {
		o.Diagnose = Diagnoser{}.Diagnose
	}
	if o.Diagnosed == nil {
		o.Diagnosed = func(string, healthcheck.Target, Diagnosis) {}
	}
	return &Watcher{ctx: ctx, o: o, lastFailure: map[string]healthcheck.Result{},
		diagnoses: map[string]Diagnosis{}, turn: map[string]uint64{}, waiting: map[string]healthcheck.TargetHealth{}}
}

// GroupWatcher is a Watcher's ear on one target group: give it to the
// group as both a healthcheck.Reporter and a healthcheck.ResultObserver.
type GroupWatcher struct {
	w     *Watcher
	group string
}

var (
	_ healthcheck.Reporter       = GroupWatcher{}
	_ healthcheck.ResultObserver = GroupWatcher{}
)

// For returns the reporter and observer of the target group named group.
func (w *Watcher) For(group string) GroupWatcher { return GroupWatcher{w: w, group: group} }

func key(group string, t healthcheck.Target) string { return group + "/" + t.Key() }

// ObserveProbe remembers a failed probe, which the diagnosis reads when
// the target turns unhealthy, and starts the diagnosis that waited for it.
func (g GroupWatcher) ObserveProbe(r healthcheck.Result) {
	if r.Passed() {
		return
	}
	w, k := g.w, key(g.group, r.Target)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastFailure[k] = r
	if h, ok := w.waiting[k]; ok && r.Health() == h {
		delete(w.waiting, k)
		w.start(g.group, k, r.Target, r)
	}
}

// SetHealth forgets the diagnosis of a target that is no longer unhealthy,
// everything about a deregistered one, and diagnoses one that turned
// unhealthy. It does not block: the diagnosis sends up to two more requests
// to the target, which must never hold up the checker's reports.
func (g GroupWatcher) SetHealth(t healthcheck.Target, h healthcheck.TargetHealth) {
	w, k := g.w, key(g.group, t)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.turn[k]++
	delete(w.waiting, k)
	if h.State != healthcheck.StateUnhealthy {
		delete(w.diagnoses, k)
		if h.State == healthcheck.StateUnused { // deregistered: forget it, or the maps grow with every instance ever launched
			delete(w.lastFailure, k)
			delete(w.turn, k)
		}
		return
	}
	if r, ok := w.lastFailure[k]; ok && r.Health() == h {
		w.start(g.group, k, t, r)
		return
	}
	w.waiting[k] = h
}

// start diagnoses r in its own goroutine, for the target's current turn;
// w.mu is held.
func (w *Watcher) start(group, k string, t healthcheck.Target, r healthcheck.Result) {
	turn := w.turn[k]
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.diagnose(group, k, turn, t, r)
	}()
}

// diagnose explains a target's failure once per unhealthy transition and
// keeps the diagnosis, unless the target's health changed meanwhile.
func (w *Watcher) diagnose(group, k string, turn uint64, t healthcheck.Target, r healthcheck.Result) {
	s, ok := w.o.Settings(group)
	if !ok {
		return
	}
	d := w.o.Diagnose(w.ctx, t, s, r)
	if w.ctx.Err() != nil {
		return
	}
	w.mu.Lock()
	current := w.turn[k] == turn
	if current {
		w.diagnoses[k] = d
	}
	w.mu.Unlock()
	if current {
		w.o.Diagnosed(group, t, d)
	}
}

// Diagnosis returns the diagnosis of an unhealthy target of group, once made.
func (w *Watcher) Diagnosis(group string, t healthcheck.Target) (Diagnosis, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	d, ok := w.diagnoses[key(group, t)]
	return d, ok
}

// Wait returns when every diagnosis started has finished; end the
// watcher's context first to cut them short.
func (w *Watcher) Wait() { w.wg.Wait() }
