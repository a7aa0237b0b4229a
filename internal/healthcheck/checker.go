package healthcheck

import (
	"container/heap"
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Checker probes every registered target of one target group on the group's
// interval and reports health changes and probe results. One scheduler
// goroutine keeps a heap of due times; each probe runs in its own short-lived
// goroutine, so the cost of a target between probes is its entry alone.
//
// Reports leave from several goroutines (Add's caller, UpdateSettings'
// caller, the probes), each after releasing mu; order puts them back in the
// order the states changed, so that a target's last report is its state.
type Checker struct {
	prober   Prober
	reporter Reporter
	observer ResultObserver
	log      *slog.Logger
	jitter   time.Duration
	order    *reportOrder

	mu       sync.Mutex
	settings Settings
	entries  map[string]*entry
	due      dueHeap
	wake     chan struct{}
}

type entry struct {
	target   Target
	machine  machine
	next     time.Time
	index    int // in the heap; -1 when removed
	inFlight bool
}

// Options wire a Checker. Prober defaults to HTTPProber{}; Reporter and
// Observer may be nil.
type Options struct {
	Prober   Prober
	Reporter Reporter
	Observer ResultObserver
	Logger   *slog.Logger
	// FirstProbeJitter spreads the first probe of targets registered together
	// over [0, FirstProbeJitter) so that a large group does not probe in one
	// burst forever after. Zero probes at once.
	FirstProbeJitter time.Duration
}

// NewChecker returns a checker for settings s; call Run to start probing.
func NewChecker(s Settings, o Options) *Checker {
	if o.Prober == nil {
		o.Prober = HTTPProber{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Checker{
		prober: o.Prober, reporter: o.Reporter, observer: o.Observer, log: o.Logger,
		jitter: o.FirstProbeJitter, settings: s, order: newReportOrder(),
		entries: make(map[string]*entry), wake: make(chan struct{}, 1),
	}
}

// Settings returns the settings in force.
func (c *Checker) Settings() Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settings
}

// UpdateSettings applies new settings from each target's next probe. A
// shorter interval takes effect at once; the state machines keep their counts.
func (c *Checker) UpdateSettings(s Settings) {
	c.mu.Lock()
	old := c.settings
	c.settings = s
	var changed []*entry
	switch {
	case old.Enabled && !s.Enabled:
		for _, e := range c.entries {
			heap.Remove(&c.due, e.index)
			e.machine = machine{health: Health(StateUnavailable, ReasonHealthCheckDisabled)}
			changed = append(changed, e)
		}
	case !old.Enabled && s.Enabled:
		now := time.Now()
		for _, e := range c.entries {
			e.machine = newMachine()
			e.next = now
			heap.Push(&c.due, e)
			changed = append(changed, e)
		}
	case s.Interval < old.Interval:
		now := time.Now()
		for _, e := range c.entries {
			if limit := now.Add(s.Interval); e.next.After(limit) {
				e.next = limit
				heap.Fix(&c.due, e.index)
			}
		}
	}
	reports := make([]TargetHealth, len(changed))
	for i, e := range changed {
		reports[i] = e.machine.health
	}
	ticket := c.order.ticket()
	c.mu.Unlock()
	c.order.do(ticket, func() {
		for i, e := range changed {
			c.report(e.target, reports[i])
		}
	})
	c.poke()
}

// Add registers t: it starts in initial / Elb.RegistrationInProgress and is
// probed first within the jitter. Adding a registered target does nothing.
func (c *Checker) Add(t Target) {
	c.mu.Lock()
	if _, ok := c.entries[t.Key()]; ok {
		c.mu.Unlock()
		return
	}
	e := &entry{target: t, machine: newMachine(), next: time.Now()}
	if c.jitter > 0 {
		e.next = e.next.Add(rand.N(c.jitter))
	}
	enabled := c.settings.Enabled
	if !enabled {
		e.machine.health = Health(StateUnavailable, ReasonHealthCheckDisabled)
	}
	c.entries[t.Key()] = e
	if enabled {
		heap.Push(&c.due, e)
	}
	h := e.machine.health
	ticket := c.order.ticket()
	c.mu.Unlock()
	c.order.do(ticket, func() { c.report(t, h) })
	c.poke()
}

// Remove stops probing t. The caller (the target group) owns what follows:
// draining, then unused. Remove returns once every report made before it has
// been delivered, so that none about the ended registration follows it.
func (c *Checker) Remove(t Target) {
	c.mu.Lock()
	if e, ok := c.entries[t.Key()]; ok {
		delete(c.entries, t.Key())
		if e.index >= 0 {
			heap.Remove(&c.due, e.index)
		}
	}
	ticket := c.order.ticket()
	c.mu.Unlock()
	c.order.do(ticket, func() {})
}

// Health returns t's current health; Target.NotRegistered when unknown.
func (c *Checker) Health(t Target) TargetHealth {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[t.Key()]; ok {
		return e.machine.health
	}
	return Health(StateUnused, ReasonNotRegistered)
}

// Len is the number of registered targets.
func (c *Checker) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Run probes until ctx ends. Probes in flight at that moment are abandoned
// (their contexts are cancelled) and report nothing.
func (c *Checker) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := c.dispatch(ctx)
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-c.wake:
		}
	}
}

// dispatch starts every due probe and returns how long to sleep.
func (c *Checker) dispatch(ctx context.Context) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	s := c.settings
	for c.due.Len() > 0 && !c.due[0].next.After(now) {
		e := c.due[0]
		e.next = e.next.Add(s.Interval)
		if e.next.Before(now) { // fell behind (suspended, or a long stall): do not catch up in a burst
			e.next = now.Add(s.Interval)
		}
		heap.Fix(&c.due, 0)
		if e.inFlight {
			continue
		}
		e.inFlight = true
		begun, changed := e.machine.begin()
		var ticket uint64
		if changed {
			ticket = c.order.ticket()
		}
		go c.probe(ctx, e, s, begun, changed, ticket)
	}
	if c.due.Len() == 0 {
		return time.Hour
	}
	return c.due[0].next.Sub(now)
}

// probe sends one check. When begun is a change, ticket is its place in
// the report order, delivered here whatever happens next.
func (c *Checker) probe(ctx context.Context, e *entry, s Settings, begun TargetHealth, changed bool, ticket uint64) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("health check panicked", "target", e.target.Addr(), "panic", v)
			c.mu.Lock()
			e.inFlight = false // or the target is never probed again
			c.mu.Unlock()
		}
	}()
	if changed {
		c.order.do(ticket, func() { c.report(e.target, begun) })
	}
	r := c.prober.Probe(ctx, e.target, s)
	if ctx.Err() != nil {
		return // shutting down: not the target's fault
	}
	c.mu.Lock()
	current, registered := c.entries[e.target.Key()]
	if !registered || current != e || !c.settings.Enabled {
		e.inFlight = false
		c.mu.Unlock()
		return // removed, or checks disabled, while the probe was out
	}
	h, changed := e.machine.observe(r, c.settings)
	if changed {
		ticket = c.order.ticket()
	}
	c.mu.Unlock()
	defer func() { c.mu.Lock(); e.inFlight = false; c.mu.Unlock() }()

	// The probe's result is observed before the change it causes is
	// reported: a Reporter that explains a change (the diagnosis) reads the
	// result that caused it, not the one before. Both run in the ticket's
	// turn (do passes the turn on even if one panics).
	if changed {
		c.order.do(ticket, func() {
			c.observe(r)
			c.log.Info("target health changed", "target", e.target.ID, "addr", e.target.Addr(),
				"state", h.State, "reason", h.Reason, "description", h.Description)
			c.report(e.target, h)
		})
		return
	}
	c.observe(r)
}

func (c *Checker) observe(r Result) {
	if c.observer != nil {
		c.observer.ObserveProbe(r)
	}
}

func (c *Checker) report(t Target, h TargetHealth) {
	if c.reporter != nil {
		c.reporter.SetHealth(t, h)
	}
}

func (c *Checker) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// dueHeap orders entries by next probe time.
type dueHeap []*entry

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *dueHeap) Push(x any)        { e := x.(*entry); e.index = len(*h); *h = append(*h, e) }
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*h = old[:len(old)-1]
	return e
}
