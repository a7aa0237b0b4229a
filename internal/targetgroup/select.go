package targetgroup

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// snapshot is the immutable set of targets a request may go to. It is
// rebuilt under the group's mutex on every registration or health change
// and read without a lock.
type snapshot struct {
	// candidates are the routable targets, or every registered non-draining
	// target when none is routable (fail open), in registration order.
	candidates []*Member
	failOpen   bool
	// slowEnd[i] is when candidates[i] leaves slow start (zero: not in it);
	// nil when no candidate is in slow start.
	slowEnd []time.Time
	// slowLen[i] is the slow start duration candidates[i] began with.
	slowLen []time.Duration
	// slowUntil is the latest slowEnd: after it, selection ignores slowEnd.
	slowUntil time.Time
	// algorithm is the group's when the snapshot was built (SetAlgorithm
	// rebuilds it).
	algorithm Algorithm
}

// Routable is the one availability predicate every policy uses: healthy
// targets, and targets whose health checks are disabled (unavailable), get
// traffic; draining ones never do.
func Routable(h healthcheck.TargetHealth) bool {
	return h.State == healthcheck.StateHealthy || h.State == healthcheck.StateUnavailable
}

func (g *Group) rebuildLocked() {
	ms := make([]*Member, 0, len(g.members))
	for _, m := range g.members {
		if !m.draining.Load() {
			ms = append(ms, m)
		}
	}
	slices.SortFunc(ms, func(a, b *Member) int { return int(a.registered) - int(b.registered) })
	s := &snapshot{algorithm: g.algorithm}
	for _, m := range ms {
		if Routable(m.health) {
			s.candidates = append(s.candidates, m)
		}
	}
	if len(s.candidates) == 0 && len(ms) > 0 {
		// "If a target group contains only unhealthy registered targets, the
		// load balancer routes requests to all those targets" (ALB user guide, "Health checks for Application Load Balancer target groups").
		s.candidates, s.failOpen = ms, true
	}
	if !s.failOpen {
		for i, m := range s.candidates {
			if m.slowStartEnd.IsZero() {
				continue
			}
			if s.slowEnd == nil {
				s.slowEnd = make([]time.Time, len(s.candidates))
				s.slowLen = make([]time.Duration, len(s.candidates))
			}
			s.slowEnd[i], s.slowLen[i] = m.slowStartEnd, m.slowStartLen
			if m.slowStartEnd.After(s.slowUntil) {
				s.slowUntil = m.slowStartEnd
			}
		}
	}
	g.snap.Store(s)
}

// Pick chooses a target for one request and counts it as outstanding; the
// caller must call Release on the member when the request ends. exclude, if
// not nil, is not chosen (the retry of a request whose connection failed).
// Pick returns nil when the group has no registered target other than
// exclude: the proxy answers 503.
func (g *Group) Pick(exclude *Member) *Member {
	// Bounded: each failed acquire means a target began draining, which
	// removes it from the next snapshot.
	for range 4 {
		s := g.snap.Load()
		m := g.choose(s, exclude)
		if m == nil {
			return nil
		}
		if m.acquire() {
			return m
		}
	}
	return nil
}

func (g *Group) choose(s *snapshot, exclude *Member) *Member {
	c := s.candidates
	n := len(c)
	if n == 0 || (n == 1 && c[0] == exclude) {
		return nil
	}
	if s.slowEnd != nil {
		if now := g.now(); now.Before(s.slowUntil) {
			return g.chooseSlowStart(s, now, exclude)
		}
	}
	switch s.algorithm {
	case LeastOutstandingRequests:
		start := int(g.next.Add(1) % uint64(n))
		var best *Member
		var bestN int64
		for i := range n {
			m := c[(start+i)%n]
			if m == exclude {
				continue
			}
			if o := m.outstanding.Load(); best == nil || o < bestN {
				best, bestN = m, o
			}
		}
		return best
	case WeightedRandom:
		// Without anomaly mitigation every target weighs the same (ALB user guide, "Target groups", weighted random routing).
		i := rand.IntN(n)
		if c[i] == exclude {
			i = (i + 1) % n
		}
		return c[i]
	default:
		i := int(g.next.Add(1) % uint64(n))
		if c[i] == exclude {
			i = (i + 1) % n
		}
		return c[i]
	}
}

// fullWeight is the weight of a target out of slow start; a target in slow
// start weighs in proportion to the time it has spent in it (linear ramp),
// at least 1.
const fullWeight = 1000

func (g *Group) chooseSlowStart(s *snapshot, now time.Time, exclude *Member) *Member {
	var total int64
	weight := func(i int) int64 {
		if s.candidates[i] == exclude {
			return 0
		}
		end := s.slowEnd[i]
		if end.IsZero() || !now.Before(end) {
			return fullWeight
		}
		elapsed := s.slowLen[i] - end.Sub(now)
		return max(1, int64(fullWeight*elapsed/s.slowLen[i]))
	}
	for i := range s.candidates {
		total += weight(i)
	}
	if total == 0 {
		return nil
	}
	r := rand.Int64N(total)
	for i := range s.candidates {
		if r -= weight(i); r < 0 {
			return s.candidates[i]
		}
	}
	return nil
}

// Weight is the share of traffic t gets relative to a target out of slow
// start, between 0 and 1; 0 when t is not a candidate. For the console.
func (g *Group) Weight(t healthcheck.Target) float64 {
	s := g.snap.Load()
	for i, m := range s.candidates {
		if m.target != t {
			continue
		}
		if s.slowEnd == nil || s.slowEnd[i].IsZero() {
			return 1
		}
		now := g.now()
		if !now.Before(s.slowEnd[i]) {
			return 1
		}
		return float64(s.slowLen[i]-s.slowEnd[i].Sub(now)) / float64(s.slowLen[i])
	}
	return 0
}
