package monitor

import (
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"time"
)

// Status codes 100-599 have one counter each; anything else is counted in
// the last slot, as a request of no known class.
const (
	firstCode  = 100
	codeSlots  = 500 + 1
	otherSlot  = codeSlots - 1
	windowSpan = 10 * time.Second
)

func codeSlot(code int) int {
	if code < firstCode || code >= firstCode+otherSlot {
		return otherSlot
	}
	return code - firstCode
}

// stripe is one shard of a window. Recorders pick a stripe at random, so
// concurrent requests rarely touch the same cache lines; each counter is an
// atomic, and no recorder ever takes a lock.
type stripe struct {
	codes [codeSlots]atomic.Uint32
	hist  [histogramSize]atomic.Uint32
	_     [64]byte // keeps the next stripe's first counters off this one's last line
}

// window counts the current 10 s of one instance. It is never replaced: at
// the window edge the evaluator reads and zeroes every counter with Swap, so
// a request recorded concurrently with the edge is counted in this window or
// the next, never lost. (Its code and its latency may fall on either side of
// the edge independently; the totals stay exact.)
type window struct {
	stripes []stripe
	mask    uint32
}

// stripeCount is a power of two at least GOMAXPROCS, within 2..32: enough
// stripes that recorders on different cores seldom share one.
func stripeCount() int {
	n := 2
	for n < runtime.GOMAXPROCS(0) && n < 32 {
		n *= 2
	}
	return n
}

func newWindow() *window {
	n := stripeCount()
	return &window{stripes: make([]stripe, n), mask: uint32(n - 1)}
}

// record counts one response. rand.Uint32 uses the runtime's per-thread
// generator: no lock, no allocation.
func (w *window) record(code int, latency time.Duration) {
	s := &w.stripes[rand.Uint32()&w.mask]
	s.codes[codeSlot(code)].Add(1)
	s.hist[bucketOf(latency)].Add(1)
}

// windowStats is a closed window, merged from the stripes.
type windowStats struct {
	start, end time.Time
	codes      [codeSlots]uint64
	latency    histogram
}

// drain closes the window [start, end) into st, zeroing the counters.
func (w *window) drain(st *windowStats, start, end time.Time) {
	*st = windowStats{start: start, end: end}
	for i := range w.stripes {
		s := &w.stripes[i]
		for c := range s.codes {
			if s.codes[c].Load() != 0 {
				st.codes[c] += uint64(s.codes[c].Swap(0))
			}
		}
		for b := range s.hist {
			if s.hist[b].Load() != 0 {
				st.latency[b] += uint64(s.hist[b].Swap(0))
			}
		}
	}
}

// requestCounts are the totals the request rules read.
type requestCounts struct {
	total                        uint64
	c1xx, c2xx, c3xx, c4xx, c5xx uint64
}

func (r *requestCounts) addCodes(codes *[codeSlots]uint64) {
	for slot, n := range codes {
		if n == 0 {
			continue
		}
		r.total += n
		if slot == otherSlot {
			continue
		}
		switch (slot + firstCode) / 100 {
		case 1:
			r.c1xx += n
		case 2:
			r.c2xx += n
		case 3:
			r.c3xx += n
		case 4:
			r.c4xx += n
		case 5:
			r.c5xx += n
		}
	}
}

func (r *requestCounts) add(o requestCounts) {
	r.total += o.total
	r.c1xx += o.c1xx
	r.c2xx += o.c2xx
	r.c3xx += o.c3xx
	r.c4xx += o.c4xx
	r.c5xx += o.c5xx
}

// elbStripe counts what the load balancer itself saw: every request it
// received, and those it answered itself with 4xx or 5xx.
type elbStripe struct {
	total, c4xx, c5xx atomic.Uint64
	_                 [64 - 24]byte
}

type elbWindow struct {
	stripes []elbStripe
	mask    uint32
}

func newELBWindow() *elbWindow {
	n := stripeCount()
	return &elbWindow{stripes: make([]elbStripe, n), mask: uint32(n - 1)}
}

func (w *elbWindow) stripe() *elbStripe { return &w.stripes[rand.Uint32()&w.mask] }

func (w *elbWindow) drain() requestCounts {
	var r requestCounts
	for i := range w.stripes {
		s := &w.stripes[i]
		r.total += s.total.Swap(0)
		r.c4xx += s.c4xx.Swap(0)
		r.c5xx += s.c5xx.Swap(0)
	}
	return r
}
