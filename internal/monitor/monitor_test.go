package monitor

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// clock is a synthetic clock the test advances by hand; the monitor may
// read it from other goroutines (AddInstance).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *clock) tick() time.Time { c.advance(windowSpan); return c.now() }

// fakeProcs returns fixed samples per pid, advanced by the test.
type fakeProcs struct {
	mu      sync.Mutex
	samples map[int]ProcessSample
}

func (f *fakeProcs) Sample(roots []int) map[int]ProcessSample {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int]ProcessSample{}
	for _, r := range roots {
		if s, ok := f.samples[r]; ok {
			out[r] = s
		}
	}
	return out
}

func newTestMonitor(t *testing.T, rules config.EnhancedHealth) (*Monitor, *clock, *fakeProcs) {
	t.Helper()
	c := &clock{t: t0}
	p := &fakeProcs{samples: map[int]ProcessSample{}}
	m := New(Options{EnvironmentName: "elbow-env", Rules: rules, Now: c.now, Processes: p, CPUs: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return m, c, p
}

func target(id string) healthcheck.Target {
	return healthcheck.Target{ID: id, IP: "127.0.0.2", Port: 8000}
}

var (
	healthy  = healthcheck.TargetHealth{State: healthcheck.StateHealthy}
	mismatch = healthcheck.TargetHealth{State: healthcheck.StateUnhealthy, Reason: healthcheck.ReasonResponseCodeMismatch,
		Description: "Health checks failed with these codes: [400]"}
)

// serve records n requests per window for each code in mix, then evaluates,
// for windows windows.
func serve(m *Monitor, c *clock, id string, windows int, mix map[int]int) {
	for w := 0; w < windows; w++ {
		for code, n := range mix {
			for i := 0; i < n; i++ {
				m.RecordRequest(id, code, 20*time.Millisecond)
			}
		}
		m.Evaluate(c.tick())
	}
}

// started adds an instance launched long enough ago to be past its grace.
func started(m *Monitor, c *clock, id string) {
	m.AddInstance(id, c.now().Add(-time.Hour), nil)
	m.SetHealth(target(id), healthy)
}

func TestAWSObservations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mix    map[int]int
		want   Status
		causes []string
	}{
		{"5 % 4xx is Ok", map[int]int{200: 95, 404: 5}, StatusOk, []string{}},
		{"about 1.5 % 5xx is Warning", map[int]int{200: 197, 500: 3}, StatusWarning, []string{"1.5 % of the requests are failing with HTTP 5xx."}},
		{"19.9 % 5xx is Degraded", map[int]int{200: 3391, 503: 843}, StatusDegraded, []string{"19.9 % of the requests are failing with HTTP 5xx."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, c, _ := newTestMonitor(t, config.DefaultEnhancedHealth)
			started(m, c, "i-1")
			serve(m, c, "i-1", 6, tc.mix)
			ih := m.InstancesHealth().InstanceHealthList[0]
			eh := m.EnvironmentHealth()
			for _, got := range []struct {
				s      Status
				causes []string
			}{{ih.HealthStatus, ih.Causes}, {eh.HealthStatus, eh.Causes}} {
				if got.s != tc.want || strings.Join(got.causes, "|") != strings.Join(tc.causes, "|") {
					t.Errorf("got %s %q, want %s %q", got.s, got.causes, tc.want, tc.causes)
				}
			}
		})
	}

	t.Run("100 % 4xx from the health checker alone is Severe", func(t *testing.T) {
		m, c, _ := newTestMonitor(t, config.DefaultEnhancedHealth)
		m.AddInstance("i-1", c.now().Add(-time.Hour), nil)
		m.SetHealth(target("i-1"), mismatch)
		// One check every 15 s, each answered 400: 4 requests a minute.
		for s := 0; s < 120; s += 5 {
			if s%15 == 0 {
				m.ObserveProbe(healthcheck.Result{Target: target("i-1"), StatusCode: 400, Latency: 3 * time.Millisecond,
					Reason: healthcheck.ReasonResponseCodeMismatch})
			}
			if s%10 == 5 {
				c.advance(5 * time.Second)
				m.Evaluate(c.now())
				c.advance(-5 * time.Second)
			}
			c.advance(5 * time.Second)
		}
		eh := m.EnvironmentHealth()
		want := []string{"ELB health is failing or not available for all instances.", "100.0 % of the requests are erroring with HTTP 4xx."}
		if eh.HealthStatus != StatusSevere || strings.Join(eh.Causes, "|") != strings.Join(want, "|") {
			t.Errorf("environment %s %q, want Severe %q", eh.HealthStatus, eh.Causes, want)
		}
		ih := m.InstancesHealth().InstanceHealthList[0]
		if ih.HealthStatus != StatusSevere || ih.Causes[0] != "Target.ResponseCodeMismatch" {
			t.Errorf("instance %s %q, want Severe with Target.ResponseCodeMismatch first", ih.HealthStatus, ih.Causes)
		}
	})

	t.Run("too few requests decide nothing", func(t *testing.T) {
		rules := config.DefaultEnhancedHealth
		rules.MinRequestRate = 10
		m, c, _ := newTestMonitor(t, rules)
		started(m, c, "i-1")
		serve(m, c, "i-1", 6, map[int]int{404: 1})
		eh := m.EnvironmentHealth()
		want := "Insufficient request rate (6.0 requests/min) to determine application health."
		if eh.HealthStatus == StatusSevere || eh.HealthStatus.Color() != Green || len(eh.Causes) != 1 || eh.Causes[0] != want {
			t.Errorf("environment %s %q, want green with %q", eh.HealthStatus, eh.Causes, want)
		}
	})
}

func TestLaunchGraceThenOk(t *testing.T) {
	m, c, _ := newTestMonitor(t, config.DefaultEnhancedHealth)
	m.AddInstance("i-1", c.now(), nil)
	m.Evaluate(c.tick())
	ih := m.InstancesHealth().InstanceHealthList[0]
	if ih.HealthStatus != StatusPending || ih.Causes[0] != "Performing initialization (running for 10 seconds)." {
		t.Fatalf("new instance %s %q, want Pending, performing initialization", ih.HealthStatus, ih.Causes)
	}
	if eh := m.EnvironmentHealth(); eh.HealthStatus != StatusPending || eh.InstancesHealth.Pending != 1 {
		t.Fatalf("environment %s %+v, want Pending with 1 pending instance", eh.HealthStatus, eh.InstancesHealth)
	}
	m.SetHealth(target("i-1"), healthy)
	// 3 evaluations for the instance to adopt Ok, 3 more for the environment,
	// which reads the instances' published statuses.
	for i := 0; i < 6; i++ {
		m.Evaluate(c.tick())
	}
	if ih := m.InstancesHealth().InstanceHealthList[0]; ih.HealthStatus != StatusOk {
		t.Fatalf("instance %s %q after turning healthy, want Ok", ih.HealthStatus, ih.Causes)
	}
	evs := m.Events(time.Time{})
	want := []string{
		"Instance i-1 health has transitioned from Pending to Ok.",
		"Environment health has transitioned from Pending to Ok.",
	}
	if len(evs) != 2 || evs[0].Message != want[0] || evs[1].Message != want[1] || evs[0].Severity != "INFO" {
		t.Fatalf("events %+v, want %q", evs, want)
	}
}

func TestEventsOrderAndFlapping(t *testing.T) {
	m, c, _ := newTestMonitor(t, config.DefaultEnhancedHealth)
	started(m, c, "i-1")
	sub := m.Subscribe(16)
	defer sub.Close()
	serve(m, c, "i-1", 3, map[int]int{200: 10}) // Ok: Pending to Ok, for the instance and the environment
	first := len(m.Events(time.Time{}))
	// Flapping: failing for two evaluations, then back, never three in a row.
	for i := 0; i < 4; i++ {
		m.SetHealth(target("i-1"), mismatch)
		m.Evaluate(c.tick())
		m.Evaluate(c.tick())
		m.SetHealth(target("i-1"), healthy)
		m.Evaluate(c.tick())
	}
	if evs := m.Events(time.Time{}); len(evs) != first {
		t.Fatalf("flapping produced %d events (%q), want none", len(evs)-first, evs[len(evs)-1].Message)
	}
	m.SetHealth(target("i-1"), mismatch)
	for i := 0; i < 3; i++ {
		m.Evaluate(c.tick())
	}
	severeAt := c.now()
	m.SetHealth(target("i-1"), healthy)
	for i := 0; i < 3; i++ {
		m.Evaluate(c.tick())
	}
	evs := m.Events(time.Time{})[first:]
	want := []struct{ sev, msg string }{
		{"WARN", "Instance i-1 health has transitioned from Ok to Severe. Target.ResponseCodeMismatch"},
		{"WARN", "Environment health has transitioned from Ok to Severe. ELB health is failing or not available for all instances."},
		{"INFO", "Instance i-1 health has transitioned from Severe to Ok."},
		{"INFO", "Environment health has transitioned from Severe to Ok."},
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		if evs[i].Severity != w.sev || evs[i].Message != w.msg || evs[i].Seq != uint64(first+i+1) {
			t.Errorf("event %d: %d %s %q, want %d %s %q", i, evs[i].Seq, evs[i].Severity, evs[i].Message, first+i+1, w.sev, w.msg)
		}
	}
	if !evs[0].EventDate.Equal(severeAt) {
		t.Errorf("first event dated %v, want %v", evs[0].EventDate, severeAt)
	}
	if got := m.Events(severeAt); len(got) != 2 {
		t.Errorf("Events(since the Severe transition) = %d events, want the 2 after it", len(got))
	}
	if got := m.EventsAfter(uint64(first + 3)); len(got) != 1 || got[0].Seq != uint64(first+4) {
		t.Errorf("EventsAfter(%d) = %+v, want event %d", first+3, got, first+4)
	}
	for i := range first + len(want) {
		select {
		case e := <-sub.C:
			if e.Seq != uint64(i+1) {
				t.Errorf("subscriber got event %d in position %d", e.Seq, i)
			}
		default:
			t.Fatalf("subscriber got %d events, want %d", i, first+len(want))
		}
	}
}

func TestEventRingBound(t *testing.T) {
	r := newEventRing(10)
	for i := 0; i < 25; i++ {
		r.add(Event{Message: "e"})
	}
	all := r.all(func(Event) bool { return true })
	if len(all) != 10 || all[0].Seq != 16 || all[9].Seq != 25 {
		t.Fatalf("ring holds %d events from %d to %d, want the last 10, 16 to 25", len(all), all[0].Seq, all[len(all)-1].Seq)
	}
}

func TestSlowSubscriberNeverBlocks(t *testing.T) {
	var s subscribers
	slow := s.add(1)
	fast := s.add(8)
	s.publish([]Event{{Seq: 1}, {Seq: 2}, {Seq: 3}})
	if slow.Dropped() != 2 || fast.Dropped() != 0 || len(fast.C) != 3 {
		t.Fatalf("dropped slow %d fast %d, fast holds %d; want 2, 0, 3", slow.Dropped(), fast.Dropped(), len(fast.C))
	}
	slow.Close()
	slow.Close()
	s.publish([]Event{{Seq: 4}})
	if _, open := <-slow.C; !open {
		t.Fatal("slow subscription lost its buffered event on close")
	}
}

func TestMetricsAndShapes(t *testing.T) {
	m, c, p := newTestMonitor(t, config.DefaultEnhancedHealth)
	m.AddInstance("i-1", c.now().Add(-time.Hour), func() int { return 42 })
	m.SetHealth(target("i-1"), healthy)
	m.SetCapacity(2, 1)
	p.samples[42] = ProcessSample{User: 10 * time.Second, System: 2 * time.Second, Runnable: 2}
	m.Evaluate(c.tick())
	for i := 1; i <= 100; i++ {
		m.RecordRequest("i-1", 200, time.Duration(i)*time.Millisecond)
	}
	m.RecordRequest("i-1", 301, time.Millisecond)
	m.RecordRequest("i-1", 404, time.Millisecond)
	m.RecordRequest("i-1", 0, 0) // target gave no answer: an ELB 5xx, not the instance's
	m.RecordELBResponse(503)
	// 10 s on 2 CPUs: 18.6 s of CPU would be 93 %.
	p.samples[42] = ProcessSample{User: 10*time.Second + 15*time.Second, System: 2*time.Second + 3600*time.Millisecond, Runnable: 2}
	m.Evaluate(c.tick())

	ih := m.InstancesHealth().InstanceHealthList[0]
	am := ih.ApplicationMetrics
	if am.Duration != 10 || am.RequestCount != 102 || am.StatusCodes != (StatusCodes{Status2xx: 100, Status3xx: 1, Status4xx: 1}) {
		t.Errorf("metrics %+v, want 10 s, 102 requests, 100/1/1/0", am)
	}
	if am.Codes[200] != 100 || am.Codes[301] != 1 || am.Codes[404] != 1 {
		t.Errorf("codes %v, want 200:100 301:1 404:1", am.Codes)
	}
	if am.Latency.P50 < 0.048 || am.Latency.P50 > 0.052 || am.Latency.P99 < 0.097 || am.Latency.P99 > 0.101 {
		t.Errorf("latency %+v, want P50 about 0.050 and P99 about 0.099", am.Latency)
	}
	if ih.System == nil || ih.System.CPUUtilization.User != 75 || ih.System.CPUUtilization.System != 18 || ih.System.CPUUtilization.Idle != 7 {
		t.Fatalf("system %+v, want user 75 system 18 idle 7", ih.System)
	}
	if len(ih.System.LoadAverage) != 3 || ih.System.LoadAverage[0] <= 0 {
		t.Errorf("load %v, want three positive averages", ih.System.LoadAverage)
	}
	if ih.HealthStatus != StatusOk || ih.Causes == nil {
		t.Errorf("instance %s %q: 93 %% CPU adopted before %d evaluations", ih.HealthStatus, ih.Causes, config.DefaultEnhancedHealth.TransitionEvaluations)
	}
	// The environment's first verdict is adopted at once: below minimum size.
	eh := m.EnvironmentHealth()
	if eh.ApplicationMetrics.RequestCount != 102 || eh.InstancesHealth.Ok != 1 || eh.Status != "Ready" || eh.Color != Red {
		t.Errorf("environment %+v", eh)
	}
	b, err := json.Marshal(eh)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"EnvironmentName":"elbow-env"`, `"HealthStatus":"Degraded"`, `"Causes":["1 instance online`, `"Status2xx":100`, `"P999":`, `"InstancesHealth":{"NoData":0`, `"RefreshedAt":`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("JSON lacks %s: %s", field, b)
		}
	}
	// Two more evaluations at 93 % CPU: the instance adopts Warning; the
	// ELB's 2 errors of 104 requests are still within the 60 s period.
	for i := 0; i < 2; i++ {
		p.samples[42] = ProcessSample{User: p.samples[42].User + 15*time.Second, System: p.samples[42].System + 3600*time.Millisecond, Runnable: 2}
		m.Evaluate(c.tick())
	}
	eh = m.EnvironmentHealth()
	want := []string{"1 instance online is below Auto Scaling group minimum size 2.", "1.9 % of the requests to the ELB are failing with HTTP 5xx.", "93 % of CPU is in use."}
	if eh.HealthStatus != StatusDegraded || strings.Join(eh.Causes, "|") != strings.Join(want, "|") {
		t.Errorf("environment %s %q, want Degraded %q", eh.HealthStatus, eh.Causes, want)
	}
	if ih := m.InstancesHealth().InstanceHealthList[0]; ih.HealthStatus != StatusWarning || ih.Causes[0] != "93 % of CPU is in use." {
		t.Errorf("instance %s %q, want Warning, 93 %% of CPU", ih.HealthStatus, ih.Causes)
	}
}

func TestRemoveInstanceAndNoData(t *testing.T) {
	m, c, _ := newTestMonitor(t, config.DefaultEnhancedHealth)
	pid := 0
	m.AddInstance("i-1", c.now().Add(-time.Hour), func() int { return pid })
	m.AddInstance("i-2", c.now().Add(-time.Hour), nil)
	m.RemoveInstance("i-2")
	m.RecordRequest("i-2", 200, time.Millisecond) // unknown now: ignored
	for i := 0; i < 3; i++ {
		m.Evaluate(c.tick())
	}
	list := m.InstancesHealth().InstanceHealthList
	if len(list) != 1 || list[0].HealthStatus != StatusNoData || list[0].Causes[0] != "No data." {
		t.Fatalf("instances %+v, want i-1 alone, No Data", list)
	}
	if eh := m.EnvironmentHealth(); eh.HealthStatus != StatusSevere || eh.Causes[0] != "None of the instances are sending data." {
		t.Fatalf("environment %s %q, want Severe, none sending data", eh.HealthStatus, eh.Causes)
	}
	m.Suspend("Monitoring stopped.")
	m.Evaluate(c.tick())
	m.Evaluate(c.tick())
	m.Evaluate(c.tick())
	if eh := m.EnvironmentHealth(); eh.HealthStatus != StatusSuspended || eh.Color != Grey {
		t.Fatalf("environment %s, want Suspended", eh.HealthStatus)
	}
}

// TestConcurrentRecording runs recorders against evaluations and instance
// churn; run with -race. No request may be lost.
func TestConcurrentRecording(t *testing.T) {
	m, c, _ := newTestMonitor(t, config.DefaultEnhancedHealth)
	started(m, c, "i-1")
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				m.RecordRequest("i-1", 200, time.Millisecond)
				m.ObserveProbe(healthcheck.Result{Target: target("i-1"), StatusCode: 200})
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	churnDone := make(chan struct{})
	go func() {
		defer close(churnDone)
		for {
			select {
			case <-finished:
				return
			default:
			}
			m.SetHealth(target("i-1"), healthy)
			m.AddInstance("i-x", t0, nil)
			m.RemoveInstance("i-x")
			_ = m.EnvironmentHealth()
		}
	}()
	total := 0
	for running := true; running; {
		select {
		case <-finished:
			running = false // one last evaluation collects the rest
		default:
		}
		m.Evaluate(c.tick())
		total += m.InstancesHealth().InstanceHealthList[0].ApplicationMetrics.RequestCount
	}
	<-churnDone
	if total != 2*workers*each {
		t.Fatalf("counted %d requests, want %d", total, 2*workers*each)
	}
}
