package autoscale

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Figures is what the scaler measures: per-instance request, byte, response
// time and CPU figures, recorded on the proxy's hot path. Recording takes no
// lock (the instances' map is copied on write, which happens once per
// instance) and allocates nothing once an instance has been seen; the
// scaler swaps each counter to zero as it reads a period, so a request
// counts in exactly one period.
type Figures struct {
	mu   sync.Mutex // serialises writers of inst
	inst atomic.Pointer[map[string]*instFigures]
	// elbRequests and elbBytes are the requests the load balancer answered
	// itself (no target chosen): they are in no trigger measure, as ALB's
	// RequestCount leaves them out, but are kept for the figures' readers.
	elbRequests, elbBytes atomic.Int64
}

type instFigures struct {
	requests, bytesIn, bytesOut atomic.Int64
	// Response times in nanoseconds; latMin holds math.MaxInt64 when empty.
	latSum, latMin, latMax atomic.Int64
	// CPU samples in thousandths of a percent, and the last one.
	cpuSum, cpuSamples atomic.Int64
	cpuLast            atomic.Int64
	cpuSet             atomic.Bool
}

// NewFigures returns empty figures.
func NewFigures() *Figures {
	f := &Figures{}
	f.inst.Store(&map[string]*instFigures{})
	return f
}

func (f *Figures) get(id string) *instFigures {
	if in := (*f.inst.Load())[id]; in != nil {
		return in
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old := *f.inst.Load()
	if in := old[id]; in != nil {
		return in
	}
	in := &instFigures{}
	in.latMin.Store(math.MaxInt64)
	m := make(map[string]*instFigures, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[id] = in
	f.inst.Store(&m)
	return in
}

// update replaces the instances' map with the entries of the current one
// that keep says to keep.
func (f *Figures) update(keep func(id string) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := *f.inst.Load()
	m := make(map[string]*instFigures, len(old))
	for k, v := range old {
		if keep(k) {
			m[k] = v
		}
	}
	if len(m) != len(old) {
		f.inst.Store(&m)
	}
}

// Requests are requests the load balancer sent to one instance, added up:
// a batch of the proxy's records, recorded at once with RecordRequests.
type Requests struct {
	Count, BytesIn, BytesOut int64
	// The requests' response times: their sum, the least and the most.
	LatencySum, LatencyMin, LatencyMax time.Duration
}

// Add counts one request: the bytes the instance received and sent, and
// its response time.
func (r *Requests) Add(bytesIn, bytesOut int64, latency time.Duration) {
	if r.Count == 0 || latency < r.LatencyMin {
		r.LatencyMin = latency
	}
	if r.Count == 0 || latency > r.LatencyMax {
		r.LatencyMax = latency
	}
	r.Count++
	r.BytesIn += bytesIn
	r.BytesOut += bytesOut
	r.LatencySum += latency
}

// RecordRequest records one request the load balancer sent to instance id:
// the bytes the instance received and sent, and its response time.
func (f *Figures) RecordRequest(id string, bytesIn, bytesOut int64, latency time.Duration) {
	var r Requests
	r.Add(bytesIn, bytesOut, latency)
	f.RecordRequests(id, &r)
}

// RecordRequests records requests the load balancer sent to instance id.
func (f *Figures) RecordRequests(id string, r *Requests) {
	if r.Count == 0 {
		return
	}
	in := f.get(id)
	in.requests.Add(r.Count)
	in.bytesIn.Add(r.BytesIn)
	in.bytesOut.Add(r.BytesOut)
	in.latSum.Add(int64(r.LatencySum))
	lo, hi := int64(r.LatencyMin), int64(r.LatencyMax)
	for v := in.latMin.Load(); lo < v && !in.latMin.CompareAndSwap(v, lo); v = in.latMin.Load() {
	}
	for v := in.latMax.Load(); hi > v && !in.latMax.CompareAndSwap(v, hi); v = in.latMax.Load() {
	}
}

// RecordELBRequest records a request the load balancer answered itself
// (fixed response, redirect, no target). ALB's RequestCount "is only
// incremented for requests where the load balancer node was able to choose
// a target" (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html),
// so these are in no trigger measure.
func (f *Figures) RecordELBRequest(bytesIn, bytesOut int64) {
	f.elbRequests.Add(1)
	f.elbBytes.Add(bytesIn + bytesOut)
}

// ELBRequests is how many requests the load balancer answered itself.
func (f *Figures) ELBRequests() int64 { return f.elbRequests.Load() }

// SetCPU records a CPU sample of instance id, in percent of one machine.
func (f *Figures) SetCPU(id string, percent float64) {
	in := f.get(id)
	m := int64(math.Round(percent * 1000))
	in.cpuSum.Add(m)
	in.cpuSamples.Add(1)
	in.cpuLast.Store(m)
	in.cpuSet.Store(true)
}

// Forget drops an instance that left the group.
func (f *Figures) Forget(id string) { f.update(func(k string) bool { return k != id }) }

// sample is one instance's figures over one period.
type sample struct {
	requests, bytesIn, bytesOut int64
	latSum, latMin, latMax      int64
	cpu                         float64 // NaN: never sampled
}

// take reads and resets the figures of id for the period that ends now.
func (f *Figures) take(id string) sample {
	in := (*f.inst.Load())[id]
	if in == nil {
		return sample{cpu: math.NaN(), latMin: math.MaxInt64}
	}
	s := sample{
		requests: in.requests.Swap(0), bytesIn: in.bytesIn.Swap(0), bytesOut: in.bytesOut.Swap(0),
		latSum: in.latSum.Swap(0), latMin: in.latMin.Swap(math.MaxInt64), latMax: in.latMax.Swap(0),
		cpu: math.NaN(),
	}
	// CloudWatch's CPUUtilization of a period is the average of the
	// instance's samples; with none in the period (the monitor samples
	// every 10 s, a test's period may be shorter) the last one stands.
	sum, n := in.cpuSum.Swap(0), in.cpuSamples.Swap(0)
	switch {
	case n > 0:
		s.cpu = float64(sum) / float64(n) / 1000
	case in.cpuSet.Load():
		s.cpu = float64(in.cpuLast.Load()) / 1000
	}
	return s
}

// drop discards the figures of every instance not in keep, so that a
// terminated instance's id does not hold memory.
func (f *Figures) drop(keep map[string]bool) { f.update(func(id string) bool { return keep[id] }) }
