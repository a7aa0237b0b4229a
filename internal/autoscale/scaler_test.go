package autoscale

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeFleet records what the scaler asks of it.
type fakeFleet struct {
	mu       sync.Mutex
	members  []Member
	desired  int
	sets     []int
	replaced []string
	events   []string
}

func (f *fakeFleet) Members() []Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.members)
}
func (f *fakeFleet) Desired() int { f.mu.Lock(); defer f.mu.Unlock(); return f.desired }
func (f *fakeFleet) SetDesired(_ context.Context, n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sets = append(f.sets, n)
	f.desired = n
	return nil
}
func (f *fakeFleet) Replace(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replaced = append(f.replaced, id)
	return nil
}
func (f *fakeFleet) Event(sev, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, sev+" "+msg)
}
func (f *fakeFleet) snapshot() (sets []int, replaced, events []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sets), slices.Clone(f.replaced), slices.Clone(f.events)
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                     { return c.t }
func (fixedClock) After(time.Duration) <-chan time.Time { return nil }

var t0 = time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)

func newFleet(n int) *fakeFleet {
	f := &fakeFleet{desired: n}
	for i := range n {
		f.members = append(f.members, Member{ID: "i-" + string(rune('a'+i)), Launched: t0, ELBKnown: true, ELBHealthy: true})
	}
	return f
}

func netOut(period, breach time.Duration) Trigger {
	return Trigger{MeasureName: "NetworkOut", Statistic: "Average", Unit: "Bytes", Period: period, BreachDuration: breach,
		UpperThreshold: 6000000, LowerThreshold: 2000000, UpperBreachScaleIncrement: 1, LowerBreachScaleIncrement: -1}
}

// sendOut records bytes sent by every member of f.
func sendOut(fig *Figures, f *fakeFleet, bytes int64) {
	for _, m := range f.Members() {
		fig.RecordRequest(m.ID, 100, bytes, time.Millisecond)
	}
}

func TestBreachUpAndDown(t *testing.T) {
	f, fig := newFleet(2), NewFigures()
	s := New(Group{Min: 1, Max: 4, Cooldown: 0}, netOut(time.Minute, time.Minute), f, fig, Options{Clock: fixedClock{t0}})
	sendOut(fig, f, 7000000)
	s.Step(t0.Add(59 * time.Second)) // not a period yet: nothing read
	if sets, _, _ := f.snapshot(); len(sets) != 0 {
		t.Fatalf("acted before a period passed: %v", sets)
	}
	s.Step(t0.Add(time.Minute))
	sets, _, events := f.snapshot()
	if !slices.Equal(sets, []int{3}) {
		t.Fatalf("SetDesired calls %v, want [3]", sets)
	}
	want := "INFO Auto scaling trigger: NetworkOut (Average) was 7000000 Bytes, above the upper threshold of 6000000, for 1 period of 1m0s. Changing the desired capacity from 2 to 3."
	if len(events) != 1 || events[0] != want {
		t.Errorf("events %q\nwant %q", events, want)
	}
	// Between the thresholds: nothing.
	sendOut(fig, f, 3000000)
	s.Step(t0.Add(2 * time.Minute))
	// Below the lower threshold: one fewer.
	sendOut(fig, f, 1000)
	s.Step(t0.Add(3 * time.Minute))
	sets, _, events = f.snapshot()
	if !slices.Equal(sets, []int{3, 2}) {
		t.Fatalf("SetDesired calls %v, want [3 2]", sets)
	}
	if !strings.Contains(events[1], "was 1000 Bytes, below the lower threshold of 2000000") {
		t.Errorf("event %q", events[1])
	}
}

// TestBreachDurationNeedsEveryPeriod: with BreachDuration 3 periods, the
// measure must be beyond the threshold in each of the last 3.
func TestBreachDurationNeedsEveryPeriod(t *testing.T) {
	f, fig := newFleet(2), NewFigures()
	s := New(Group{Min: 1, Max: 4}, netOut(time.Minute, 3*time.Minute), f, fig, Options{Clock: fixedClock{t0}})
	high := []bool{true, true, false, true, true, true}
	for i, h := range high {
		if h {
			sendOut(fig, f, 9000000)
		} else {
			sendOut(fig, f, 4000000)
		}
		s.Step(t0.Add(time.Duration(i+1) * time.Minute))
		sets, _, _ := f.snapshot()
		wantActed := i == 5
		if (len(sets) > 0) != wantActed {
			t.Fatalf("after period %d: SetDesired %v", i+1, sets)
		}
	}
	if _, _, ev := f.snapshot(); !strings.Contains(ev[0], "for 3 periods of 1m0s") {
		t.Errorf("event %q", ev[0])
	}
}

func TestCooldownRespected(t *testing.T) {
	f, fig := newFleet(1), NewFigures()
	s := New(Group{Min: 1, Max: 10, Cooldown: 150 * time.Second}, netOut(time.Minute, time.Minute), f, fig, Options{Clock: fixedClock{t0}})
	var got []int
	for i := 1; i <= 5; i++ {
		sendOut(fig, f, 8000000)
		s.Step(t0.Add(time.Duration(i) * time.Minute))
		sets, _, _ := f.snapshot()
		got = append(got, len(sets))
	}
	// Acts at 1 min; cooldown until 3.5 min; acts again at 4 min.
	if !slices.Equal(got, []int{1, 1, 1, 2, 2}) {
		t.Errorf("scaling activities after each period: %v, want [1 1 1 2 2]", got)
	}
}

func TestMinMaxBounds(t *testing.T) {
	cases := []struct {
		name          string
		desired, inc  int
		high          bool
		wantSet       []int
		wantEventPart string
	}{
		{"step beyond max stops at max", 3, 2, true, []int{4}, "from 3 to 4"},
		{"at max stays", 4, 1, true, nil, "The desired capacity stays at 4, the group's maximum."},
		{"step below min stops at min", 3, -5, false, []int{2}, "from 3 to 2"},
		{"at min stays", 2, -1, false, nil, "The desired capacity stays at 2, the group's minimum."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, fig := newFleet(tc.desired), NewFigures()
			tr := netOut(time.Minute, time.Minute)
			tr.UpperBreachScaleIncrement, tr.LowerBreachScaleIncrement = tc.inc, tc.inc
			s := New(Group{Min: 2, Max: 4}, tr, f, fig, Options{Clock: fixedClock{t0}})
			if tc.high {
				sendOut(fig, f, 9000000)
			} else {
				sendOut(fig, f, 10)
			}
			s.Step(t0.Add(time.Minute))
			sets, _, ev := f.snapshot()
			if !slices.Equal(sets, tc.wantSet) || len(ev) != 1 || !strings.Contains(ev[0], tc.wantEventPart) {
				t.Errorf("sets %v events %q", sets, ev)
			}
			if tc.wantSet != nil {
				return
			}
			// Still at the bound the next period: said once, not again.
			if tc.high {
				sendOut(fig, f, 9000000)
			} else {
				sendOut(fig, f, 10)
			}
			s.Step(t0.Add(2 * time.Minute))
			if _, _, ev := f.snapshot(); len(ev) != 1 {
				t.Errorf("events after a second period at the bound: %q", ev)
			}
		})
	}
}

// TestStatistics: each measure and statistic, as CloudWatch computes them
// on the group.
func TestStatistics(t *testing.T) {
	members := []Member{{ID: "a", ELBKnown: true, ELBHealthy: true}, {ID: "b", ELBKnown: true}, {ID: "c"}}
	feed := func() *Figures {
		fig := NewFigures()
		fig.RecordRequest("a", 10, 1000, 100*time.Millisecond)
		fig.RecordRequest("a", 10, 1000, 300*time.Millisecond)
		fig.RecordRequest("b", 40, 4000, 200*time.Millisecond)
		// c serves nothing: 0 bytes, and no CPU sample.
		fig.SetCPU("a", 20)
		fig.SetCPU("a", 40)
		fig.SetCPU("b", 90)
		fig.RecordELBRequest(10, 10) // not a RequestCount
		return fig
	}
	cases := []struct {
		measure, stat, unit string
		want                float64
	}{
		{"NetworkOut", "Average", "Bytes", 2000},
		{"NetworkOut", "Minimum", "Bytes", 0},
		{"NetworkOut", "Maximum", "Bytes", 4000},
		{"NetworkOut", "Sum", "Bytes", 6000},
		{"NetworkOut", "Sum", "Bits", 48000},
		{"NetworkOut", "Sum", "Bytes/Second", 100},
		{"NetworkIn", "Average", "Bytes", 20},
		{"NetworkIn", "Maximum", "Bytes", 40},
		{"CPUUtilization", "Average", "Percent", 60}, // (30 + 90) / 2: c is never sampled
		{"CPUUtilization", "Minimum", "Percent", 30},
		{"CPUUtilization", "Maximum", "Percent", 90},
		{"CPUUtilization", "Sum", "Percent", 120},
		{"RequestCount", "Sum", "Count", 3},
		{"RequestCount", "Sum", "Count/Second", 0.05},
		{"RequestCount", "Average", "Count", 1},
		{"RequestCount", "Maximum", "Count", 1},
		{"Latency", "Average", "Seconds", 0.2},
		{"TargetResponseTime", "Minimum", "Seconds", 0.1},
		{"TargetResponseTime", "Maximum", "Seconds", 0.3},
		{"TargetResponseTime", "Sum", "Seconds", 0.6},
		{"HealthyHostCount", "Average", "Count", 1},
		{"UnhealthyHostCount", "Maximum", "Count", 1},
	}
	for _, tc := range cases {
		fig := feed()
		samples := make([]sample, len(members))
		for i, m := range members {
			samples[i] = fig.take(m.ID)
		}
		tr := Trigger{MeasureName: tc.measure, Statistic: tc.stat, Unit: tc.unit, Period: time.Minute}
		if got := measure(tr, members, samples); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s %s %s = %v, want %v", tc.measure, tc.stat, tc.unit, got, tc.want)
		}
	}
	// No data: no requests for the response time, no samples for CPU, the
	// disk measures elbow does not take.
	empty := []sample{NewFigures().take("a")}
	for _, m := range []string{"Latency", "TargetResponseTime", "CPUUtilization", "DiskReadOps"} {
		if got := measure(Trigger{MeasureName: m, Statistic: "Average", Period: time.Minute}, members[:1], empty); !math.IsNaN(got) {
			t.Errorf("%s without data = %v, want NaN", m, got)
		}
	}
	if got := measure(Trigger{MeasureName: "RequestCount", Statistic: "Sum", Period: time.Minute}, members[:1], empty); got != 0 {
		t.Errorf("RequestCount Sum without requests = %v, want 0", got)
	}
}

// TestNoDataBreachesNothing: a period without data ends a breach streak.
func TestNoDataBreachesNothing(t *testing.T) {
	f, fig := newFleet(2), NewFigures()
	tr := Trigger{MeasureName: "Latency", Statistic: "Average", Unit: "Seconds", Period: time.Minute, BreachDuration: 2 * time.Minute,
		UpperThreshold: 1, LowerThreshold: 0.5, UpperBreachScaleIncrement: 1, LowerBreachScaleIncrement: -1}
	s := New(Group{Min: 1, Max: 4}, tr, f, fig, Options{Clock: fixedClock{t0}})
	fig.RecordRequest("i-a", 1, 1, 2*time.Second)
	s.Step(t0.Add(time.Minute))
	s.Step(t0.Add(2 * time.Minute)) // no requests: no data
	fig.RecordRequest("i-a", 1, 1, 2*time.Second)
	s.Step(t0.Add(3 * time.Minute))
	if sets, _, _ := f.snapshot(); len(sets) != 0 {
		t.Fatalf("a period without data counted as a breach: %v", sets)
	}
	fig.RecordRequest("i-b", 1, 1, 3*time.Second)
	s.Step(t0.Add(4 * time.Minute))
	if sets, _, _ := f.snapshot(); !slices.Equal(sets, []int{3}) {
		t.Fatalf("SetDesired %v, want [3]", sets)
	}
}

func TestELBReplacementAfterGraceOnly(t *testing.T) {
	f := newFleet(3)
	f.members[0].ELBHealthy = false                               // unhealthy
	f.members[1].ELBKnown, f.members[1].ELBHealthy = false, false // still registering
	f.members[2].Launched = t0.Add(4 * time.Minute)
	f.members[2].ELBHealthy = false // unhealthy, launched later
	s := New(Group{Min: 1, Max: 4, HealthCheckType: "ELB", HealthCheckGracePeriod: 5 * time.Minute},
		netOut(time.Hour, time.Hour), f, NewFigures(), Options{Clock: fixedClock{t0}})
	s.Step(t0.Add(5*time.Minute - time.Second))
	if _, r, _ := f.snapshot(); len(r) != 0 {
		t.Fatalf("replaced within the grace period: %v", r)
	}
	s.Step(t0.Add(5 * time.Minute))
	s.Step(t0.Add(6 * time.Minute)) // once per member
	_, r, ev := f.snapshot()
	if !slices.Equal(r, []string{"i-a"}) {
		t.Fatalf("replaced %v, want [i-a]", r)
	}
	if ev[0] != "WARN Instance [i-a] was taken out of service in response to an ELB system health check failure. Replacing it." {
		t.Errorf("event %q", ev[0])
	}
	s.Step(t0.Add(9 * time.Minute)) // i-c's grace is over
	if _, r, _ := f.snapshot(); !slices.Equal(r, []string{"i-a", "i-c"}) {
		t.Fatalf("replaced %v, want [i-a i-c]", r)
	}
}

func TestEC2HealthCheckReplacesNothing(t *testing.T) {
	f := newFleet(2)
	f.members[0].ELBHealthy = false
	s := New(Group{Min: 1, Max: 4, HealthCheckType: "EC2", HealthCheckGracePeriod: 0},
		netOut(time.Hour, time.Hour), f, NewFigures(), Options{Clock: fixedClock{t0}})
	s.Step(t0.Add(time.Hour))
	if _, r, _ := f.snapshot(); len(r) != 0 {
		t.Fatalf("EC2 health check type replaced %v", r)
	}
	// Turned to ELB while running, the unhealthy member is replaced.
	s.Update(Group{Min: 1, Max: 4, HealthCheckType: "ELB"}, netOut(time.Hour, time.Hour))
	s.Step(t0.Add(time.Hour + time.Second))
	if _, r, _ := f.snapshot(); !slices.Equal(r, []string{"i-a"}) {
		t.Fatalf("replaced %v, want [i-a]", r)
	}
}

// TestUpdateMidRun: new thresholds apply at the next evaluation; a new
// period starts the breach count again.
func TestUpdateMidRun(t *testing.T) {
	f, fig := newFleet(2), NewFigures()
	tr := netOut(time.Minute, 2*time.Minute)
	s := New(Group{Min: 1, Max: 4}, tr, f, fig, Options{Clock: fixedClock{t0}})
	sendOut(fig, f, 5000000) // between the thresholds
	s.Step(t0.Add(time.Minute))
	tr.UpperThreshold = 4000000
	s.Update(Group{Min: 1, Max: 4}, tr)
	sendOut(fig, f, 5000000)
	s.Step(t0.Add(2 * time.Minute))
	// The first period's value is above the new threshold too: 2 periods.
	if sets, _, _ := f.snapshot(); !slices.Equal(sets, []int{3}) {
		t.Fatalf("SetDesired %v, want [3]", sets)
	}
	tr.Period, tr.BreachDuration = 30*time.Second, time.Minute
	s.Update(Group{Min: 1, Max: 4}, tr)
	sendOut(fig, f, 5000000)
	s.Step(t0.Add(2*time.Minute + 30*time.Second))
	if sets, _, _ := f.snapshot(); len(sets) != 1 {
		t.Fatalf("acted on one period of a new 2-period alarm: %v", sets)
	}
	sendOut(fig, f, 5000000)
	s.Step(t0.Add(3 * time.Minute))
	if sets, _, _ := f.snapshot(); !slices.Equal(sets, []int{3, 4}) {
		t.Fatalf("SetDesired %v, want [3 4]", sets)
	}
}

// TestRunEvaluatesEveryPeriod drives Run on synctest's fake time.
func TestRunEvaluatesEveryPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, fig := newFleet(1), NewFigures()
		tr := Trigger{MeasureName: "RequestCount", Statistic: "Sum", Unit: "Count", Period: 2 * time.Second, BreachDuration: 4 * time.Second,
			UpperThreshold: 10, LowerThreshold: 1, UpperBreachScaleIncrement: 1, LowerBreachScaleIncrement: -1}
		s := New(Group{Min: 1, Max: 3, Cooldown: 5 * time.Second}, tr, f, fig, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		load := func(d time.Duration) { // 20 requests per second for d
			for range int(d / (50 * time.Millisecond)) {
				fig.RecordRequest("i-a", 1, 1, time.Millisecond)
				time.Sleep(50 * time.Millisecond)
			}
		}
		load(4100 * time.Millisecond)
		synctest.Wait()
		if sets, _, _ := f.snapshot(); !slices.Equal(sets, []int{2}) {
			t.Fatalf("after two loaded periods: SetDesired %v, want [2]", sets)
		}
		load(4 * time.Second) // in cooldown until 9 s
		synctest.Wait()
		if sets, _, _ := f.snapshot(); !slices.Equal(sets, []int{2}) {
			t.Fatalf("in cooldown: SetDesired %v, want [2]", sets)
		}
		time.Sleep(6 * time.Second) // quiet: below the lower threshold
		synctest.Wait()
		if sets, _, _ := f.snapshot(); !slices.Equal(sets, []int{2, 1}) {
			t.Fatalf("after quiet periods: SetDesired %v, want [2 1]", sets)
		}
		cancel()
		<-done
	})
}
