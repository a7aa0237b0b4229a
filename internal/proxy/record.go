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
// recorder never slows traffic.
type Recorder interface {
	RecordResponse(ResponseRecord)
}

type recordPump struct {
	queue   chan ResponseRecord
	done    chan struct{}
	dropped atomic.Int64
	once    sync.Once
}

const recordQueueLength = 8192

// recordGather is how long the pump lets records gather after it woke:
// under load it wakes about once per interval, not once per request. A
// send to a channel its receiver waits on hands the record over and
// readies the receiver, a goroutine switch per request: measured in
// bench/up.sh, that was most of what `elbow up` added per request over
// bench/elbowlb, which has no recorder. The queue holds 8192 records,
// 10 ms of 800,000 requests/s.
const recordGather = 10 * time.Millisecond

func newRecordPump(r Recorder) *recordPump {
	p := &recordPump{queue: make(chan ResponseRecord, recordQueueLength), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		// Idle, the pump waits in the receive and costs nothing.
		for rec := range p.queue {
			r.RecordResponse(rec)
			for more := true; more; {
				select {
				case rec, ok := <-p.queue:
					if !ok {
						return
					}
					r.RecordResponse(rec)
				default:
					more = false
				}
			}
			time.Sleep(recordGather)
		}
	}()
	return p
}

func (p *recordPump) send(r *ResponseRecord) {
	select {
	case p.queue <- *r:
	default:
		p.dropped.Add(1)
	}
}

func (p *recordPump) close() {
	p.once.Do(func() { close(p.queue) })
	<-p.done
}
