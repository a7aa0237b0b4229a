package proxy

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// ResponseRecord is one response the load balancer gave for a forward
// action: the target's own, or the 502/504 the load balancer answered for
// it, or a 503 when the group had no target (Target is then zero).
type ResponseRecord struct {
	Time time.Time
	// LoadBalancer is CloudWatch's LoadBalancer dimension, app/<name>/<id>.
	LoadBalancer string
	Group        string
	Target       healthcheck.Target
	// StatusCode is what the client got (the ALB's elb_status_code); 460
	// when the client closed the connection first.
	StatusCode int
	// TargetStatusCode is the target's code, 0 when it sent none.
	TargetStatusCode int
	// Latency runs from the request's arrival to the end of the response.
	Latency time.Duration
	// TargetLatency runs from sending the request to the target until its
	// response headers arrived (the ALB's TargetResponseTime); 0 without a
	// response.
	TargetLatency time.Duration
	// ReceivedBytes and SentBytes are the request's and the response's
	// sizes as the access log counts them (received_bytes, sent_bytes).
	ReceivedBytes, SentBytes int64
}

// Recorder receives every proxied response (the monitor implements it).
// It is called from one goroutine, never from the request path: records
// are queued, and dropped (counted) if the recorder falls behind, so a slow
// recorder never slows traffic. They come in batches, oldest first, of a
// few milliseconds' responses, so that a recorder can add up a batch and
// touch its shared counters once per batch rather than once per response.
type Recorder interface {
	// RecordResponses records recs, which it must not keep: the slice is
	// reused once it returns.
	RecordResponses(recs []ResponseRecord)
}

// recordPump carries records from the request path to the Recorder's one
// goroutine. Request goroutines append to one of recordShards buffers,
// each under its own lock; the pump swaps the buffers out whole every
// recordGather and records what they held. The buffers are reused from
// their start, so that a batch stays in the cores' caches. A channel did
// this before: with a recorder that did nothing it cost `elbow up` 8 % of
// its CPU per request (bench/recording.sh), most likely because its ring
// of 8192 records (1.2 MB) was written and read through at every turn,
// out of cache on both sides. Recording costs 1-4 % this way, 7-9 % that
// way.
type recordPump struct {
	r      Recorder
	shards [recordShards]recordShard
	// asleep: the pump waits for wake; the first sender to see it true
	// sends the one token.
	asleep  atomic.Bool
	wake    chan struct{}
	quit    chan struct{}
	done    chan struct{}
	dropped atomic.Int64
	once    sync.Once
}

// recordShards spreads concurrent senders; recordShardLength bounds each
// buffer: recordQueueLength records in all, 10 ms of 800,000 requests/s.
const (
	recordShardBits   = 4
	recordShards      = 1 << recordShardBits
	recordShardLength = 512
	recordQueueLength = recordShards * recordShardLength
)

type recordShard struct {
	mu   sync.Mutex
	recs []ResponseRecord
	_    [64]byte // a cache line of its own: senders on different cores take different shards
}

// recordGather is how long the pump lets records gather after it woke:
// under load it wakes about once per interval, not once per request (a
// wake-up per request was a goroutine switch per request).
const recordGather = 10 * time.Millisecond

func newRecordPump(r Recorder) *recordPump { return startRecordPump(r, recordGather) }

// startRecordPump is newRecordPump with the gathering interval given.
func startRecordPump(r Recorder, interval time.Duration) *recordPump {
	p := &recordPump{r: r, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go p.run(interval)
	return p
}

func (p *recordPump) run(interval time.Duration) {
	defer close(p.done)
	spare := make([][]ResponseRecord, recordShards)
	gather := time.NewTimer(interval)
	gather.Stop()
	for {
		// Idle, the pump waits for a token and costs nothing. A sender
		// appends, then looks at asleep; the pump sets asleep, then looks
		// at the buffers: one of the two sees the other.
		p.asleep.Store(true)
		if p.pending() {
			p.asleep.Store(false)
		} else {
			select {
			case <-p.wake:
			case <-p.quit:
				p.drain(spare)
				return
			}
		}
		// The first records after an idle time are recorded at once (the
		// console shows a lone request's metrics without delay); then the
		// records of the next interval gather.
		p.drain(spare)
		gather.Reset(interval)
		select {
		case <-gather.C:
		case <-p.quit:
			p.drain(spare)
			return
		}
	}
}

// pending reports whether a buffer holds a record.
func (p *recordPump) pending() bool {
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		n := len(s.recs)
		s.mu.Unlock()
		if n > 0 {
			return true
		}
	}
	return false
}

// drain takes each buffer, leaving the spare one (empty, its capacity
// kept) in its place, and records what it held.
func (p *recordPump) drain(spare [][]ResponseRecord) {
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		recs := s.recs
		s.recs = spare[i][:0]
		s.mu.Unlock()
		if len(recs) > 0 {
			p.r.RecordResponses(recs)
		}
		spare[i] = recs
	}
}

// send queues r; key spreads senders over the buffers (any value that
// differs between requests served at once: the exchange's address). A
// full buffer drops the record, counted: a recorder that falls behind
// never slows traffic.
func (p *recordPump) send(key uintptr, r *ResponseRecord) {
	// Fibonacci hashing: the top bits of key times 2^64/phi.
	s := &p.shards[(uint64(key)*0x9E3779B97F4A7C15)>>(64-recordShardBits)]
	s.mu.Lock()
	if len(s.recs) >= recordShardLength {
		s.mu.Unlock()
		p.dropped.Add(1)
		return
	}
	s.recs = append(s.recs, *r)
	s.mu.Unlock()
	if p.asleep.Load() && p.asleep.CompareAndSwap(true, false) {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// close records what is queued and stops the pump.
func (p *recordPump) close() {
	p.once.Do(func() { close(p.quit) })
	<-p.done
}
