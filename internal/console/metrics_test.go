package console

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/elbow-lb/elbow/internal/proxy"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs /metrics and parses the text exposition.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: status %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// series returns the metrics of a family as "label=value,..." -> metric.
func series(t *testing.T, fams map[string]*dto.MetricFamily, name string) map[string]*dto.Metric {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		var names []string
		for n := range fams {
			names = append(names, n)
		}
		sort.Strings(names)
		t.Fatalf("no metric %s among %v", name, names)
	}
	out := map[string]*dto.Metric{}
	for _, m := range f.GetMetric() {
		var parts []string
		for _, l := range m.GetLabel() {
			parts = append(parts, l.GetName()+"="+l.GetValue())
		}
		out[strings.Join(parts, ",")] = m
	}
	return out
}

func gauge(t *testing.T, fams map[string]*dto.MetricFamily, name, labels string) float64 {
	t.Helper()
	m, ok := series(t, fams, name)[labels]
	if !ok {
		t.Fatalf("%s{%s} missing; have %v", name, labels, keys(series(t, fams, name)))
	}
	return m.GetGauge().GetValue()
}

func keys(m map[string]*dto.Metric) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestMetricsOfRealTargetsAndMonitor(t *testing.T) {
	e := newEnv(t, Options{})
	fams := scrape(t, e.url)

	badPort, goodPort := strconv.Itoa(e.bad.Port), strconv.Itoa(e.good.Port)
	for _, st := range targetStates {
		wantBad, wantGood := 0.0, 0.0
		if st == healthcheck.StateUnhealthy {
			wantBad = 1
		}
		if st == healthcheck.StateHealthy {
			wantGood = 1
		}
		if got := gauge(t, fams, "elbow_target_health", "port="+badPort+",state="+string(st)+",target="+e.bad.ID+",target_group=probed"); got != wantBad {
			t.Errorf("bad target state %s = %v, want %v", st, got, wantBad)
		}
		if got := gauge(t, fams, "elbow_target_health", "port="+goodPort+",state="+string(st)+",target="+e.good.ID+",target_group=probed"); got != wantGood {
			t.Errorf("good target state %s = %v, want %v", st, got, wantGood)
		}
	}
	for _, tc := range []struct {
		name, group string
		want        float64
	}{
		{"elbow_target_group_healthy_hosts", "probed", 1},
		{"elbow_target_group_unhealthy_hosts", "probed", 1},
		{"elbow_target_group_healthy_hosts", "web", 0},
		{"elbow_target_group_unhealthy_hosts", "web", 0},
	} {
		if got := gauge(t, fams, tc.name, "target_group="+tc.group); got != tc.want {
			t.Errorf("%s{%s} = %v, want %v", tc.name, tc.group, got, tc.want)
		}
	}
	if got := gauge(t, fams, "elbow_instance_health", "environment=elbow-env,instance="+e.bad.ID); got != 25 {
		t.Errorf("bad instance health %v, want 25 (Severe)", got)
	}
	envWant, _ := e.mon.EnvironmentHealth().HealthStatus.MetricValue()
	if got := gauge(t, fams, "elbow_environment_health", "environment=elbow-env"); got != float64(envWant) {
		t.Errorf("environment health %v, want %d", got, envWant)
	}
	if got := gauge(t, fams, "elbow_environment_instances", "environment=elbow-env,status=Severe"); got != 1 {
		t.Errorf("Severe instances %v, want 1", got)
	}
}

// TestHealthMetricValues: every status with a Beanstalk number shows it;
// Pending has none, and its series is absent.
func TestHealthMetricValues(t *testing.T) {
	for _, tc := range []struct {
		status monitor.Status
		want   float64
		absent bool
	}{
		{monitor.StatusOk, 0, false}, {monitor.StatusInfo, 1, false}, {monitor.StatusUnknown, 5, false},
		{monitor.StatusNoData, 10, false}, {monitor.StatusWarning, 15, false}, {monitor.StatusDegraded, 20, false},
		{monitor.StatusSevere, 25, false}, {monitor.StatusPending, 0, true},
	} {
		h := &fakeHealth{
			env:  monitor.EnvironmentHealth{EnvironmentName: "env", HealthStatus: tc.status},
			inst: monitor.InstancesHealth{InstanceHealthList: []monitor.SingleInstanceHealth{{InstanceId: "i-1", HealthStatus: tc.status}}},
		}
		fams := scrape(t, serve(t, New(Options{Health: h})))
		if tc.absent {
			if _, ok := fams["elbow_environment_health"]; ok {
				t.Errorf("%s: elbow_environment_health present", tc.status)
			}
			continue
		}
		if got := gauge(t, fams, "elbow_environment_health", "environment=env"); got != tc.want {
			t.Errorf("%s: environment %v, want %v", tc.status, got, tc.want)
		}
		if got := gauge(t, fams, "elbow_instance_health", "environment=env,instance=i-1"); got != tc.want {
			t.Errorf("%s: instance %v, want %v", tc.status, got, tc.want)
		}
	}
}

func TestRecordResponseCountsAndLatency(t *testing.T) {
	c := New(Options{})
	var _ proxy.Recorder = c
	a := healthcheck.Target{ID: "i-a", IP: "127.0.0.2", Port: 8000}
	// Two batches: the second adds to the series the first made.
	const lb = "app/web/0123"
	c.RecordResponses([]proxy.ResponseRecord{
		{LoadBalancer: lb, Group: "web", Target: a, StatusCode: 200, TargetStatusCode: 200, TargetLatency: 3 * time.Millisecond},
		{LoadBalancer: lb, Group: "web", Target: a, StatusCode: 200, TargetStatusCode: 200, TargetLatency: 30 * time.Millisecond},
		{LoadBalancer: lb, Group: "web", StatusCode: 503}, // no target at all
	})
	c.RecordResponses([]proxy.ResponseRecord{
		{LoadBalancer: lb, Group: "web", Target: a, StatusCode: 400, TargetStatusCode: 400, TargetLatency: 2 * time.Second},
		{LoadBalancer: lb, Group: "web", Target: a, StatusCode: 502}, // refused: no target response, no latency
	})
	fams := scrape(t, serve(t, c))
	reqs := series(t, fams, "elbow_requests_total")
	for labels, want := range map[string]float64{
		"code_class=2xx,port=8000,target=i-a,target_group=web": 2,
		"code_class=4xx,port=8000,target=i-a,target_group=web": 1,
		"code_class=5xx,port=8000,target=i-a,target_group=web": 1,
		"code_class=3xx,port=8000,target=i-a,target_group=web": 0,
		"code_class=5xx,port=,target=,target_group=web":        1,
	} {
		m, ok := reqs[labels]
		if !ok {
			t.Errorf("elbow_requests_total{%s} missing; have %v", labels, keys(reqs))
			continue
		}
		if got := m.GetCounter().GetValue(); got != want {
			t.Errorf("elbow_requests_total{%s} = %v, want %v", labels, got, want)
		}
	}
	// TargetResponseTime, in both families.
	for name, labels := range map[string]string{
		"elbow_target_response_time_seconds":     "port=8000,target=i-a,target_group=web",
		"elbow_alb_target_response_time_seconds": "load_balancer=" + lb + ",port=8000,target=i-a,target_group=web",
	} {
		m, ok := series(t, fams, name)[labels]
		if !ok {
			t.Errorf("%s{%s} missing; have %v", name, labels, keys(series(t, fams, name)))
			continue
		}
		h := m.GetHistogram()
		if h.GetSampleCount() != 3 {
			t.Errorf("%s: latency samples %d, want 3 (the 502 had no target response)", name, h.GetSampleCount())
		}
		if s := h.GetSampleSum(); s < 2.032 || s > 2.034 {
			t.Errorf("%s: latency sum %v, want 2.033", name, s)
		}
		for _, b := range h.GetBucket() {
			want := map[float64]uint64{0.0025: 0, 0.005: 1, 0.05: 2, 1: 2, 2.5: 3}[b.GetUpperBound()]
			switch b.GetUpperBound() {
			case 0.0025, 0.005, 0.05, 1, 2.5:
				if b.GetCumulativeCount() != want {
					t.Errorf("%s: bucket le=%v: %d, want %d", name, b.GetUpperBound(), b.GetCumulativeCount(), want)
				}
			}
		}
	}
	if _, ok := series(t, fams, "elbow_alb_target_response_time_seconds")["load_balancer="+lb+",port=0,target=,target_group=web"]; ok {
		t.Error("elbow_alb_target_response_time_seconds has a series for the response with no target")
	}
}

// TestRecordResponsesOfManyTargetsInOneBatch: a batch from more targets
// than RecordResponses gathers at once still counts each response once,
// in its own target's series; a value on a bucket's bound is in that
// bucket (le).
func TestRecordResponsesOfManyTargetsInOneBatch(t *testing.T) {
	c := New(Options{})
	var batch []proxy.ResponseRecord
	for round := range 3 {
		for i := range 20 {
			tg := healthcheck.Target{ID: fmt.Sprintf("i-%02d", i), Port: 8000 + i}
			batch = append(batch, proxy.ResponseRecord{LoadBalancer: "app/web/1", Group: "web", Target: tg,
				StatusCode: 200 + round, TargetStatusCode: 200 + round, TargetLatency: 10 * time.Millisecond})
		}
	}
	c.RecordResponses(batch)
	fams := scrape(t, serve(t, c))
	perTarget := series(t, fams, "elbow_alb_request_count_per_target_total")
	latency := series(t, fams, "elbow_target_response_time_seconds")
	for i := range 20 {
		labels := fmt.Sprintf("port=%d,target=i-%02d,target_group=web", 8000+i, i)
		if got := perTarget["load_balancer=app/web/1,"+labels].GetCounter().GetValue(); got != 3 {
			t.Errorf("elbow_alb_request_count_per_target_total{%s} = %v, want 3", labels, got)
		}
		for _, b := range latency[labels].GetHistogram().GetBucket() {
			if b.GetUpperBound() == 0.01 && b.GetCumulativeCount() != 3 {
				t.Errorf("elbow_target_response_time_seconds{%s} le=0.01: %d, want 3", labels, b.GetCumulativeCount())
			}
		}
	}
	if got := series(t, fams, "elbow_alb_request_count_total")["load_balancer=app/web/1,target_group=web"].GetCounter().GetValue(); got != 60 {
		t.Errorf("elbow_alb_request_count_total = %v, want 60", got)
	}
}

// TestOwnRegistry: two consoles in one process do not collide, as they
// would on the global default registry.
func TestOwnRegistry(t *testing.T) {
	a, b := New(Options{}), New(Options{})
	a.RecordResponses([]proxy.ResponseRecord{{Group: "g", StatusCode: 200}})
	fa, fb := scrape(t, serve(t, a)), scrape(t, serve(t, b))
	if _, ok := fa["elbow_requests_total"]; !ok {
		t.Error("console a lacks its request")
	}
	if _, ok := fb["elbow_requests_total"]; ok {
		t.Error("console b shows console a's request")
	}
	if _, ok := fa["go_goroutines"]; ok {
		t.Error("the console registry carries the default Go collector; it should hold elbow's metrics only")
	}
}

// BenchmarkRecordResponses counts batches of 40 responses from one
// target, as the proxy hands them over; ns/record is per response.
func BenchmarkRecordResponses(b *testing.B) {
	c := New(Options{})
	batch := make([]proxy.ResponseRecord, 40)
	for i := range batch {
		batch[i] = proxy.ResponseRecord{Group: "web", Target: healthcheck.Target{ID: "i-a", Port: 8000},
			StatusCode: 200, TargetStatusCode: 200, TargetLatency: time.Duration(i+1) * time.Millisecond}
	}
	b.ReportAllocs()
	for b.Loop() {
		c.RecordResponses(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
}

// TestOlderLatencyFamilySumsLoadBalancers: elbow_target_response_time_seconds
// has no load balancer label, so two load balancers' series of one target
// are one series there, and two in the elbow_alb_ family.
func TestOlderLatencyFamilySumsLoadBalancers(t *testing.T) {
	c := New(Options{})
	tg := healthcheck.Target{ID: "i-a", Port: 8000}
	c.RecordResponses([]proxy.ResponseRecord{
		{LoadBalancer: "app/one/1", Group: "web", Target: tg, StatusCode: 200, TargetStatusCode: 200, TargetLatency: time.Millisecond},
		{LoadBalancer: "app/two/2", Group: "web", Target: tg, StatusCode: 200, TargetStatusCode: 200, TargetLatency: time.Millisecond},
	})
	fams := scrape(t, serve(t, c))
	if got := series(t, fams, "elbow_target_response_time_seconds")["port=8000,target=i-a,target_group=web"].GetHistogram().GetSampleCount(); got != 2 {
		t.Errorf("elbow_target_response_time_seconds count %d, want 2", got)
	}
	alb := series(t, fams, "elbow_alb_target_response_time_seconds")
	for _, lb := range []string{"app/one/1", "app/two/2"} {
		if got := alb["load_balancer="+lb+",port=8000,target=i-a,target_group=web"].GetHistogram().GetSampleCount(); got != 1 {
			t.Errorf("elbow_alb_target_response_time_seconds{load_balancer=%s} count %d, want 1", lb, got)
		}
	}
}
