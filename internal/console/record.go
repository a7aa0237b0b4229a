package console

import (
	"strconv"

	"github.com/elbow-lb/elbow/internal/proxy"
	"github.com/prometheus/client_golang/prometheus"
)

// seriesKey names the series a response counts in: CloudWatch's
// LoadBalancer and TargetGroup dimensions and the target (id and port;
// both zero when the load balancer had no target to send it to).
type seriesKey struct {
	lb, group, id string
	port          int
}

// responseSeries are the counters and histogram of one seriesKey, in both
// families: elbow_alb_* (cloudwatch.go) and elbow_requests_total and
// elbow_target_response_time_seconds (metrics.go).
type responseSeries struct {
	key     seriesKey
	alb     albSeries
	byClass [len(codeClasses)]prometheus.Counter
	latency latencyHistogram
}

func (c *Console) seriesFor(k seriesKey) *responseSeries {
	if s, ok := c.responses.Load(k); ok {
		return s.(*responseSeries)
	}
	s := &responseSeries{key: k, alb: c.alb.newSeries(k), byClass: c.requests.newSeries(k)}
	actual, _ := c.responses.LoadOrStore(k, s)
	return actual.(*responseSeries)
}

// RecordResponses counts a batch of proxied responses; it implements
// proxy.Recorder, which calls it from one goroutine, off the request path.
// A batch holds the responses of a few milliseconds, from a few targets:
// each target's counts are gathered here and added to its series once per
// batch. Counted one by one, as client_golang's counters and histograms
// take them, a response cost 175 ns, most of it finding its series and
// three atomic operations per histogram observation
// (BenchmarkRecorders in internal/environment).
func (c *Console) RecordResponses(recs []proxy.ResponseRecord) {
	var tallies [8]seriesTally
	n := 0
	for i := range recs {
		r := &recs[i]
		k := seriesKey{lb: r.LoadBalancer, group: r.Group, id: r.Target.ID, port: r.Target.Port}
		j := 0
		for j < n && tallies[j].s.key != k {
			j++
		}
		if j == n {
			if n == len(tallies) {
				for j := range tallies {
					tallies[j].add()
				}
				n, j = 0, 0
			}
			tallies[j] = seriesTally{s: c.seriesFor(k)}
			n++
		}
		tallies[j].count(r)
		if r.TargetStatusCode == 0 {
			c.alb.countELBCode(r)
		}
	}
	for j := range n {
		tallies[j].add()
	}
}

// seriesTally gathers one series' counts over a batch.
type seriesTally struct {
	s           *responseSeries
	requests    uint64
	byClass     [len(codeClasses)]uint64
	targetClass [len(targetClasses)]uint64
	latency     latencyTally
}

func (t *seriesTally) count(r *proxy.ResponseRecord) {
	t.requests++
	t.byClass[classIndex(r.StatusCode)]++
	// Without a response from the target, the code the client got is the
	// load balancer's own (albMetrics.countELBCode).
	if r.TargetStatusCode != 0 && r.Target.ID != "" {
		if i := r.TargetStatusCode/100 - 2; i >= 0 && i < len(targetClasses) {
			t.targetClass[i]++
		}
		t.latency.observe(r.TargetLatency.Seconds())
	}
}

// add adds the tally to its series. A counter's Add of a whole number is
// one atomic addition.
func (t *seriesTally) add() {
	s := t.s
	s.alb.requests.Add(float64(t.requests))
	if s.alb.perTarget != nil {
		s.alb.perTarget.Add(float64(t.requests))
		for i, n := range t.targetClass {
			if n != 0 {
				s.alb.byClass[i].Add(float64(n))
			}
		}
	}
	for i, n := range t.byClass {
		if n != 0 {
			s.byClass[i].Add(float64(n))
		}
	}
	s.latency.add(&t.latency)
}

// latencyCollector gives each series' TargetResponseTime histogram at
// scrape time, in both families. The older one has no load balancer
// label: series that differ only by load balancer are summed in it.
type latencyCollector struct{ c *Console }

func (lc *latencyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- albLatencyDesc
	ch <- targetLatencyDesc
}

func (lc *latencyCollector) Collect(ch chan<- prometheus.Metric) {
	type targetKey struct{ group, id, port string }
	older := map[targetKey]*latencyTally{}
	lc.c.responses.Range(func(_, v any) bool {
		s := v.(*responseSeries)
		t := s.latency.snapshot()
		k := s.key
		if k.id != "" {
			ch <- t.metric(albLatencyDesc, k.lb, k.group, k.id, strconv.Itoa(k.port))
		}
		tk := targetKey{k.group, k.id, portLabel(k.port)}
		if sum, ok := older[tk]; ok {
			sum.merge(&t)
		} else {
			older[tk] = &t
		}
		return true
	})
	// The registry sorts what it gathers: map order does not show.
	for tk, t := range older {
		ch <- t.metric(targetLatencyDesc, tk.group, tk.id, tk.port)
	}
}
