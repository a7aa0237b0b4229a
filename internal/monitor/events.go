package monitor

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// eventRing keeps the last events; the oldest are overwritten. Its owner
// (the monitor) guards it with its mutex.
type eventRing struct {
	buf  []Event
	next int // index of the slot the next event takes
	full bool
	seq  uint64
}

func newEventRing(n int) *eventRing { return &eventRing{buf: make([]Event, n)} }

func (r *eventRing) add(e Event) Event {
	r.seq++
	e.Seq = r.seq
	r.buf[r.next] = e
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
	return e
}

// all returns the kept events, oldest first, that keep(e) accepts.
func (r *eventRing) all(keep func(Event) bool) []Event {
	var out []Event
	start, n := 0, r.next
	if r.full {
		start, n = r.next, len(r.buf)
	}
	for i := 0; i < n; i++ {
		e := r.buf[(start+i)%len(r.buf)]
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// transitionMessage words a transition as Beanstalk does: "Environment
// health has transitioned from Ok to Severe." followed by the causes
// (github.com/zodern/mup-aws-beanstalk issues 9 and 53). Instances have no AWS wording of their own; elbow
// says "Instance <id> health has transitioned ..." in the same style.
func transitionMessage(instanceID string, from, to Status, causes []string) string {
	var b strings.Builder
	if instanceID == "" {
		b.WriteString("Environment")
	} else {
		b.WriteString("Instance " + instanceID)
	}
	b.WriteString(" health has transitioned from " + from.Name() + " to " + to.Name() + ".")
	for _, c := range causes {
		b.WriteString(" " + c)
	}
	return b.String()
}

// severityOf: a transition to a worse status is WARN, any other INFO.
func severityOf(from, to Status) string {
	if to.worse(from) && to.severity() >= StatusWarning.severity() {
		return "WARN"
	}
	return "INFO"
}

// subscribers fan events out without ever blocking the monitor: a
// subscriber whose buffer is full misses the event, and the miss is counted.
type subscribers struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
}

type subscription struct {
	ch      chan Event
	dropped atomic.Uint64
}

// Subscription receives events as they happen.
type Subscription struct {
	// C delivers events; it is closed by Close.
	C   <-chan Event
	sub *subscription
	s   *subscribers
}

// Dropped counts the events this subscriber missed because its buffer was
// full; Events and EventsAfter still hold them.
func (s *Subscription) Dropped() uint64 { return s.sub.dropped.Load() }

// Close stops delivery and closes C. It is safe to call more than once.
func (s *Subscription) Close() {
	s.s.mu.Lock()
	defer s.s.mu.Unlock()
	if _, ok := s.s.subs[s.sub]; ok {
		delete(s.s.subs, s.sub)
		close(s.sub.ch)
	}
}

func (s *subscribers) add(buffer int) *Subscription {
	sub := &subscription{ch: make(chan Event, max(buffer, 1))}
	s.mu.Lock()
	if s.subs == nil {
		s.subs = make(map[*subscription]struct{})
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	return &Subscription{C: sub.ch, sub: sub, s: s}
}

func (s *subscribers) publish(events []Event) {
	if len(events) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		for _, e := range events {
			select {
			case sub.ch <- e:
			default:
				sub.dropped.Add(1)
			}
		}
	}
}

// eventsSince keeps events strictly after t.
func eventsSince(t time.Time) func(Event) bool {
	return func(e Event) bool { return e.EventDate.After(t) }
}

// Record keeps an event that is not a health transition (an instance
// launched, a deployment step, a configuration change), so that
// DescribeEvents and the console list every event of the environment, as
// Beanstalk's do. Subscribers get it too; From and To are empty.
func (m *Monitor) Record(date time.Time, instanceID, severity, message string) {
	m.mu.Lock()
	e := m.events.add(Event{EventDate: date, EnvironmentName: m.name, InstanceId: instanceID, Severity: severity, Message: message})
	m.mu.Unlock()
	m.subs.publish([]Event{e})
}
