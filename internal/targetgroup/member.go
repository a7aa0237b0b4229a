package targetgroup

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// Member is one registered target as the request path sees it. A Member
// returned by Pick carries one outstanding request, which the caller ends
// with Release.
type Member struct {
	target healthcheck.Target
	addr   string
	group  *Group

	outstanding atomic.Int64
	// draining is set once, by Deregister; Pick never hands out a draining member.
	draining atomic.Bool
	drained  chan struct{}
	once     sync.Once

	// Owned by the group under its mutex.
	health       healthcheck.TargetHealth
	slowStartEnd time.Time // zero when not in slow start
	// slowStartLen is the slow start duration the target began with: a
	// change of the group's slow_start.duration_seconds reaches targets
	// that turn healthy afterwards, not one ramping up.
	slowStartLen time.Duration
	registered   uint64 // registration order, for Describe
	timer        *time.Timer
}

// Target is the registered target.
func (m *Member) Target() healthcheck.Target { return m.target }

// Addr is the target's traffic address, ip:port.
func (m *Member) Addr() string { return m.addr }

// Group is the target group the member belongs to.
func (m *Member) Group() *Group { return m.group }

// Outstanding is the number of requests the target is serving through this group.
func (m *Member) Outstanding() int64 { return m.outstanding.Load() }

// Release ends one request that Pick started.
//
// The count is read again once draining is seen: between this decrement
// reaching zero and the read of draining, a Pick may have acquired the
// member (its increment, then its read of draining, both before
// Deregister set it), and the deregistration would be complete with that
// request in flight (TestPickRacesDeregister caught it under CI's load).
// An increment that this second read misses comes after Deregister set
// draining, so its acquire backs off, and its own Release marks the drain.
func (m *Member) Release() {
	if m.outstanding.Add(-1) == 0 && m.draining.Load() && m.outstanding.Load() == 0 {
		m.markDrained()
	}
}

// acquire starts a request; it fails when the member began draining after
// the caller's snapshot was taken. The order (increment, then read draining)
// pairs with Deregister's (set draining, then read outstanding), so either
// the request backs off or Deregister sees it in flight.
func (m *Member) acquire() bool {
	m.outstanding.Add(1)
	if m.draining.Load() {
		m.Release()
		return false
	}
	return true
}

func (m *Member) markDrained() { m.once.Do(func() { close(m.drained) }) }
