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
	// split is nil unless SetSplit is in force, so that selection without
	// a split costs one nil check.
	split *split
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
	s := g.build(ms, true)
	if g.splitPercent > 0 {
		var old, nu []*Member
		for _, m := range ms {
			if g.splitNew[m.target.ID] {
				nu = append(nu, m)
			} else {
				old = append(old, m)
			}
		}
		// Each side keeps only its routable targets: fail open is the whole
		// group's rule, applied by s itself when neither side can serve.
		s.split = &split{percent: g.splitPercent, sides: [2]*snapshot{g.build(old, false), g.build(nu, false)}}
	}
	g.snap.Store(s)
}

// build makes the snapshot of ms (registered, not draining, in
// registration order); failOpen allows routing to all of ms when none is
// routable.
func (g *Group) build(ms []*Member, failOpen bool) *snapshot {
	s := &snapshot{algorithm: g.algorithm}
	for _, m := range ms {
		if Routable(m.health) {
			s.candidates = append(s.candidates, m)
		}
	}
	if failOpen && len(s.candidates) == 0 && len(ms) > 0 {
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
	return s
}

// split is a traffic split in force: sides[1] holds the new targets'
// snapshot, sides[0] the others'.
type split struct {
	percent int
	sides   [2]*snapshot
}

// SetSplit sends percent of the requests to the targets whose ID is in
// newIDs and the rest to the others, as a traffic-splitting deployment's
// weighted forward to two target groups does
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.rolling-version-deploy.html,
// "How traffic-splitting deployments work"). Inside the chosen side the
// group's algorithm picks the target; a side with no routable target
// leaves its requests to the other side, and when neither has one the
// group fails open as usual. percent 0 or no newIDs ends the split.
// Targets registered later join the side their ID names.
func (g *Group) SetSplit(newIDs []string, percent int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if percent <= 0 || len(newIDs) == 0 {
		g.splitNew, g.splitPercent = nil, 0
	} else {
		g.splitNew = make(map[string]bool, len(newIDs))
		for _, id := range newIDs {
			g.splitNew[id] = true
		}
		g.splitPercent = min(percent, 100)
	}
	g.rebuildLocked()
}

// Split returns the split in force: the new targets' IDs (sorted) and
// their percentage; nil and 0 when none.
func (g *Group) Split() ([]string, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.splitPercent == 0 {
		return nil, 0
	}
	ids := make([]string, 0, len(g.splitNew))
	for id := range g.splitNew {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, g.splitPercent
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
	if sp := s.split; sp != nil {
		side := 0
		if rand.IntN(100) < sp.percent {
			side = 1
		}
		if m := g.choose(sp.sides[side], exclude); m != nil {
			return m
		}
		if m := g.choose(sp.sides[1-side], exclude); m != nil {
			return m
		}
		// Neither side has a routable target: the whole group decides
		// (fail open).
	}
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
