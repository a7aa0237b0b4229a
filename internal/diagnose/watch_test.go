package diagnose

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// reports passes each health report to the watcher, then to the test.
type reports struct {
	gw GroupWatcher
	c  chan healthcheck.TargetHealth
}

func (r reports) SetHealth(t healthcheck.Target, h healthcheck.TargetHealth) {
	r.gw.SetHealth(t, h)
	r.c <- h
}

// next waits for the report of state st, skipping others.
func (r reports) next(t *testing.T, st healthcheck.State) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case h := <-r.c:
			if h.State == st {
				return
			}
		case <-timeout:
			t.Fatalf("no %s report", st)
		}
	}
}

// TestWatcherDiagnosesRealChecks: a real target group probes a real app that
// answers 400 as Django does to a Host not in ALLOWED_HOSTS; when the target
// turns unhealthy the watcher diagnoses it from the failed probe, with the
// real Diagnoser, keeps the diagnosis while it stays unhealthy, forgets it
// when it recovers, and forgets the target when it is deregistered.
func TestWatcherDiagnosesRealChecks(t *testing.T) {
	var code atomic.Int32
	code.Store(http.StatusBadRequest)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := int(code.Load()); c != http.StatusOK {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(c)
			_, _ = w.Write([]byte("<h1>Bad Request (400)</h1>"))
		}
	}))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	tgt := healthcheck.Target{ID: "i-0123456789abcdef0", IP: host, Port: p}

	s := healthcheck.EBDefaults()
	s.Interval, s.Timeout, s.HealthyThreshold, s.UnhealthyThreshold = 20*time.Millisecond, 2*time.Second, 2, 2
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	diagnosed := make(chan Diagnosis, 4)
	w := NewWatcher(ctx, WatcherOptions{
		Settings: func(group string) (healthcheck.Settings, bool) { return s, group == "web" },
		Diagnosed: func(group string, got healthcheck.Target, d Diagnosis) {
			if group != "web" || got != tgt {
				t.Errorf("diagnosed %s %+v, want web %+v", group, got, tgt)
			}
			diagnosed <- d
		},
	})
	rep := reports{gw: w.For("web"), c: make(chan healthcheck.TargetHealth, 64)}
	tg := config.DefaultTargetGroup
	tg.Name, tg.Port = "web", p
	g, err := targetgroup.New(tg, targetgroup.Options{Reporters: []healthcheck.Reporter{rep}, Observers: []healthcheck.ResultObserver{w.For("web")}})
	if err != nil {
		t.Fatal(err)
	}
	g.ModifyHealthCheck(s)
	g.SetDeregistrationDelay(0)
	done := make(chan struct{})
	go func() { defer close(done); g.Run(ctx) }()
	g.Register(tgt)

	var d Diagnosis
	select {
	case d = <-diagnosed:
	case <-time.After(10 * time.Second):
		t.Fatal("no diagnosis of the unhealthy target")
	}
	if d.Evidence.HealthCheck.StatusCode != http.StatusBadRequest || d.Summary == "" || d.Case == "" {
		t.Errorf("diagnosis %+v, want one of the failed check's 400", d)
	}
	if kept, ok := w.Diagnosis("web", tgt); !ok || kept.Case != d.Case || kept.Summary != d.Summary {
		t.Errorf("Diagnosis(web) = %+v, %v; want the diagnosis made", kept, ok)
	}
	if _, ok := w.Diagnosis("other", tgt); ok {
		t.Error("a diagnosis under another group's name")
	}

	code.Store(http.StatusOK)
	rep.next(t, healthcheck.StateHealthy)
	if got, ok := w.Diagnosis("web", tgt); ok {
		t.Errorf("healthy target keeps its diagnosis %+v", got)
	}

	<-g.Deregister(tgt)
	rep.next(t, healthcheck.StateUnused)
	cancel()
	<-done
	w.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.lastFailure) != 0 || len(w.turn) != 0 || len(w.diagnoses) != 0 {
		t.Errorf("a deregistered target is still remembered: %d failures, %d turns, %d diagnoses",
			len(w.lastFailure), len(w.turn), len(w.diagnoses))
	}
}

// failed is a failed probe of t, as the checker gives it.
func failed(t healthcheck.Target) healthcheck.Result {
	return healthcheck.Result{Target: t, Addr: t.Addr(), StatusCode: 400, Reason: healthcheck.ReasonResponseCodeMismatch}
}

// TestWatcherDropsDiagnosisOfRecoveredTarget forces the interleaving in
// which a target recovers while its diagnosis is still being made: the
// late diagnosis must not be kept (the console would show a healthy target
// with a diagnosis until its next failure) nor printed.
func TestWatcherDropsDiagnosisOfRecoveredTarget(t *testing.T) {
	tgt := healthcheck.Target{ID: "i-1", IP: "127.0.0.1", Port: 8000}
	entered, release := make(chan struct{}), make(chan struct{})
	var printed atomic.Int32
	w := NewWatcher(context.Background(), WatcherOptions{
		Settings: func(string) (healthcheck.Settings, bool) { return healthcheck.EBDefaults(), true },
		Diagnose: func(context.Context, healthcheck.Target, healthcheck.Settings, healthcheck.Result) Diagnosis {
			close(entered)
			<-release
			return Diagnosis{Case: "late"}
		},
		Diagnosed: func(string, healthcheck.Target, Diagnosis) { printed.Add(1) },
	})
	gw := w.For("web")
	gw.ObserveProbe(failed(tgt))
	gw.SetHealth(tgt, failed(tgt).Health())
	<-entered
	gw.SetHealth(tgt, healthcheck.TargetHealth{State: healthcheck.StateHealthy})
	close(release)
	w.Wait()
	if d, ok := w.Diagnosis("web", tgt); ok {
		t.Errorf("recovered target has the late diagnosis %+v", d)
	}
	if n := printed.Load(); n != 0 {
		t.Errorf("late diagnosis reported %d times, want 0", n)
	}
}

// TestWatcherDiagnosesOnlyWhatItCan: no diagnosis without a failed probe
// to read, for a group that is gone, or after the watcher's context ended;
// passing probes are not remembered; the same target in two groups has a
// diagnosis in each.
func TestWatcherDiagnosesOnlyWhatItCan(t *testing.T) {
	tgt := healthcheck.Target{ID: "i-1", IP: "127.0.0.1", Port: 8000}
	unhealthy := failed(tgt).Health()
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	w := NewWatcher(ctx, WatcherOptions{
		Settings: func(group string) (healthcheck.Settings, bool) { return healthcheck.EBDefaults(), group != "gone" },
		Diagnose: func(_ context.Context, _ healthcheck.Target, _ healthcheck.Settings, r healthcheck.Result) Diagnosis {
			calls.Add(1)
			return Diagnosis{Case: "case-" + strconv.Itoa(r.StatusCode)}
		},
	})

	w.For("a").ObserveProbe(healthcheck.Result{Target: tgt, StatusCode: 200})
	w.For("a").SetHealth(tgt, unhealthy)
	w.Wait()
	if n := calls.Load(); n != 0 {
		t.Errorf("diagnosed %d times without a failed probe", n)
	}

	w.For("gone").ObserveProbe(failed(tgt))
	w.For("gone").SetHealth(tgt, unhealthy)
	w.Wait()
	if _, ok := w.Diagnosis("gone", tgt); ok || calls.Load() != 0 {
		t.Errorf("diagnosed a target of a group that is gone (%d calls)", calls.Load())
	}

	for _, g := range []string{"a", "b"} {
		w.For(g).ObserveProbe(failed(tgt))
		w.For(g).SetHealth(tgt, unhealthy)
	}
	w.Wait()
	for _, g := range []string{"a", "b"} {
		if d, ok := w.Diagnosis(g, tgt); !ok || d.Case != "case-400" {
			t.Errorf("group %s: diagnosis %+v, %v", g, d, ok)
		}
	}

	w.For("a").SetHealth(tgt, healthcheck.Health(healthcheck.StateUnused, healthcheck.ReasonNotRegistered))
	w.For("a").SetHealth(tgt, unhealthy) // registered again: its old failure is forgotten
	w.Wait()
	if _, ok := w.Diagnosis("a", tgt); ok {
		t.Error("a deregistered target was diagnosed from the failure of its previous registration")
	}
	if _, ok := w.Diagnosis("b", tgt); !ok {
		t.Error("deregistering from a forgot the diagnosis in b")
	}

	cancel()
	w.For("c").ObserveProbe(failed(tgt))
	w.For("c").SetHealth(tgt, unhealthy)
	w.Wait()
	if _, ok := w.Diagnosis("c", tgt); ok {
		t.Error("a diagnosis kept after the watcher's context ended")
	}
}

// TestWatcherDiagnosesTheFailureThatTurnedTheTarget: the checker reports a
// change before it hands over the probe that caused it. A target that was
// refusing connections while its app started, then turned unhealthy on a
// [301], must be diagnosed from the 301, not from the refusal.
func TestWatcherDiagnosesTheFailureThatTurnedTheTarget(t *testing.T) {
	tgt := healthcheck.Target{ID: "i-1", IP: "127.0.0.1", Port: 8000}
	var seen []int
	w := NewWatcher(context.Background(), WatcherOptions{
		Settings: func(string) (healthcheck.Settings, bool) { return healthcheck.EBDefaults(), true },
		Diagnose: func(_ context.Context, _ healthcheck.Target, _ healthcheck.Settings, r healthcheck.Result) Diagnosis {
			return Diagnosis{Case: "from-" + strconv.Itoa(r.StatusCode)}
		},
		Diagnosed: func(_ string, _ healthcheck.Target, d Diagnosis) {
			n, _ := strconv.Atoi(d.Case[len("from-"):])
			seen = append(seen, n)
		},
	})
	gw := w.For("web")
	refused := healthcheck.Result{Target: tgt, Reason: healthcheck.ReasonFailedHealthChecks}
	redirect := healthcheck.Result{Target: tgt, StatusCode: 301, Reason: healthcheck.ReasonResponseCodeMismatch}

	gw.ObserveProbe(refused)
	gw.SetHealth(tgt, redirect.Health()) // the report of the 301's probe...
	w.Wait()
	if _, ok := w.Diagnosis("web", tgt); ok {
		t.Fatal("diagnosed before the probe that turned the target arrived")
	}
	gw.ObserveProbe(redirect) // ...then the probe itself
	w.Wait()
	if d, ok := w.Diagnosis("web", tgt); !ok || d.Case != "from-301" {
		t.Errorf("diagnosis %+v, %v; want it made from the 301", d, ok)
	}
	gw.ObserveProbe(redirect) // the next failures of the same kind diagnose nothing more
	w.Wait()
	if len(seen) != 1 {
		t.Errorf("diagnoses made from %v, want one, from 301", seen)
	}
}
