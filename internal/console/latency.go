package console

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// latencyBounds are the upper bounds (le) of the TargetResponseTime
// histograms, in seconds: from a millisecond to the ALB's 60 s idle timeout.
var latencyBounds = [...]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// latencyHistogram is one target's TargetResponseTime, added to a batch
// at a time: the proxy hands its records over in batches (proxy.Recorder),
// and a batch adds its bucket counts under one lock, where
// client_golang's histogram takes three atomic operations per observation
// (BenchmarkRecorders in internal/environment). Read at scrape time as a
// constant histogram.
type latencyHistogram struct {
	mu sync.Mutex
	latencyTally
}

// latencyTally counts observations: counts[i] those in bucket i
// (latencyBounds[i-1] < v <= latencyBounds[i]), the last one those above
// every bound.
type latencyTally struct {
	counts [len(latencyBounds) + 1]uint64
	n      uint64
	sum    float64
}

// observe counts v seconds. A value equal to a bound is in that bound's
// bucket, as Prometheus's le says.
func (t *latencyTally) observe(v float64) {
	i := 0
	for i < len(latencyBounds) && v > latencyBounds[i] {
		i++
	}
	t.counts[i]++
	t.n++
	t.sum += v
}

// add merges a batch's tally into the histogram.
func (h *latencyHistogram) add(t *latencyTally) {
	if t.n == 0 {
		return
	}
	h.mu.Lock()
	h.latencyTally.merge(t)
	h.mu.Unlock()
}

func (t *latencyTally) merge(o *latencyTally) {
	for i, c := range o.counts {
		t.counts[i] += c
	}
	t.n += o.n
	t.sum += o.sum
}

func (h *latencyHistogram) snapshot() latencyTally {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.latencyTally
}

// metric is t as a Prometheus histogram with cumulative buckets.
func (t *latencyTally) metric(d *prometheus.Desc, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(latencyBounds))
	var cum uint64
	for i, le := range latencyBounds {
		cum += t.counts[i]
		buckets[le] = cum
	}
	return prometheus.MustNewConstHistogram(d, t.n, t.sum, buckets, labels...)
}
