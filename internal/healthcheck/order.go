package healthcheck

import "sync"

// reportOrder delivers a checker's reports in the order their state changes
// were made. A change takes a ticket under the checker's lock, in the same
// critical section that changes the state, and its report goes out when the
// ticket's turn comes, with the lock released: the Reporter runs outside the
// lock (it may read the checker back), yet no report of an older state can
// overtake a newer one, whatever the scheduler does between the unlock and
// the call.
type reportOrder struct {
	mu   sync.Mutex
	cond sync.Cond
	turn uint64 // the ticket whose report may go out now
	next uint64 // the next ticket to hand out; under the checker's lock
}

func newReportOrder() *reportOrder {
	o := &reportOrder{}
	o.cond.L = &o.mu
	return o
}

// ticket hands out the next place in line. The caller holds the checker's
// lock and must pass the ticket to do exactly once, or every later report
// waits for ever.
func (o *reportOrder) ticket() uint64 {
	t := o.next
	o.next++
	return t
}

// do waits for ticket's turn, runs f, and passes the turn on even if f
// panics.
func (o *reportOrder) do(ticket uint64, f func()) {
	o.mu.Lock()
	for o.turn != ticket {
		o.cond.Wait()
	}
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.turn++
		o.cond.Broadcast()
		o.mu.Unlock()
	}()
	f()
}
