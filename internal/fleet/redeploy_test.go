package fleet_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// TestRedeployKeepsTheInstanceAndChangesWhatRuns deploys a second template
// to one instance of two: the instance keeps its ID, index, IP and the
// Prepare hook's environment, runs the new argv and environment, the old
// process is gone, no Terminating hook or cleanup ran, and the other
// instance is untouched.
func TestRedeployKeepsTheInstanceAndChangesWhatRuns(t *testing.T) {
	marker := newMarker(t)
	port := freePort(t)
	rec := &recorder{}
	f := startFleet(t, fleet.Config{
		Command: []string{selfExe(t), "v1"},
		Env:     []string{testAppEnv + "=http", markerEnv + "=" + marker, userVarName + "=one"},
		Port:    port,
		Version: "app-1",
		Min:     2,
		Max:     2,
		Hooks: fleet.Hooks{
			Prepare: func(_ context.Context, inst fleet.Instance) ([]string, func(), error) {
				rec.call("prepare " + inst.ID)
				return []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + inst.IP.String() + ":1338"},
					func() { rec.call("cleanup " + inst.ID) }, nil
			},
			Launched:    func(inst fleet.Instance) { rec.call("launched " + inst.ID) },
			Terminating: func(_ context.Context, inst fleet.Instance) { rec.call("terminating " + inst.ID) },
			Event:       rec.event,
		},
	})
	before := f.Instances()
	target, other := before[0], before[1]
	if target.Version != "app-1" || target.Deployment != 1 {
		t.Fatalf("initial instance runs version %q deployment %d, want app-1 and 1", target.Version, target.Deployment)
	}
	old := askApp(t, target.Addr())
	if !slices.Equal(old.Args, []string{"v1"}) || old.Env[userVarName] != "one" {
		t.Fatalf("initial app: args %q %s=%q", old.Args, userVarName, old.Env[userVarName])
	}

	v2 := fleet.Template{
		Version: "app-2", Deployment: 2,
		Command: []string{selfExe(t), "v2", "--flag"},
		Env:     []string{testAppEnv + "=http", markerEnv + "=" + marker, userVarName + "=two"},
		Port:    port,
	}
	if err := f.Redeploy(context.Background(), target.ID, v2); err != nil {
		t.Fatal(err)
	}

	st, ok := f.Status(target.ID)
	if !ok || st.Instance != target.Instance || st.State != fleet.StateRunning || st.Version != "app-2" || st.Deployment != 2 {
		t.Fatalf("after Redeploy: %+v, want the same instance %+v running app-2 deployment 2", st, target.Instance)
	}
	if st.PID == target.PID || st.PID <= 0 {
		t.Errorf("after Redeploy the app's pid is %d, before %d: want a new process", st.PID, target.PID)
	}
	rep := askApp(t, target.Addr())
	want := map[string]string{
		"HOST":                              target.IP.String(),
		"PORT":                              strconv.Itoa(port),
		"ELBOW_INSTANCE_ID":                 target.ID,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://" + target.IP.String() + ":1338",
		userVarName:                         "two",
	}
	for k, v := range want {
		if rep.Env[k] != v {
			t.Errorf("redeployed app: %s=%q, want %q", k, rep.Env[k], v)
		}
	}
	if !slices.Equal(rep.Args, []string{"v2", "--flag"}) || rep.PID != st.PID {
		t.Errorf("redeployed app: args %q pid %d, want [v2 --flag] and pid %d", rep.Args, rep.PID, st.PID)
	}

	// The old app and its supervisor are gone; two processes per instance remain.
	procs := markedProcesses(marker)
	if slices.Contains(procs, target.PID) || slices.Contains(procs, target.SupervisorPID) || len(procs) != 4 {
		t.Errorf("after Redeploy: processes %v (old app %d, old supervisor %d), want 4 without the old ones%s",
			procs, target.PID, target.SupervisorPID, describeProcesses(procs))
	}
	if o, _ := f.Status(other.ID); o.PID != other.PID || o.Version != "app-1" || o.Restarts != 0 {
		t.Errorf("the other instance changed: %+v", o)
	}
	for _, c := range rec.callsSnapshot() {
		if strings.HasPrefix(c, "terminating") || strings.HasPrefix(c, "cleanup") {
			t.Errorf("Redeploy called the hook %q", c)
		}
	}
	if n := countCalls(rec, "prepare "+target.ID) + countCalls(rec, "launched "+target.ID); n != 2 {
		t.Errorf("Prepare and Launched ran %d times in all for %s, want once each: %q", n, target.ID, rec.callsSnapshot())
	}
	kinds := rec.kindsOf(target.ID)
	if !slices.Equal(kinds, []fleet.EventKind{fleet.EventLaunched, fleet.EventRedeploying, fleet.EventRedeployed}) {
		t.Errorf("events of %s: %v", target.ID, kinds)
	}
	evs := rec.eventsOf(target.ID)
	if msg := evs[len(evs)-1].Message; !strings.Contains(msg, "app-2") || !strings.Contains(msg, "deployment 2") {
		t.Errorf("redeployed event %q does not name the version and deployment", msg)
	}
}

func countCalls(rec *recorder, call string) int {
	n := 0
	for _, c := range rec.callsSnapshot() {
		if c == call {
			n++
		}
	}
	return n
}

func TestRedeployRefusesAPortChangeAndABadTemplate(t *testing.T) {
	marker := newMarker(t)
	port := freePort(t)
	f := startFleet(t, fleet.Config{
		Command: []string{selfExe(t)},
		Env:     []string{testAppEnv + "=sleeper", markerEnv + "=" + marker},
		Port:    port,
		Min:     1,
		Max:     1,
	})
	st := f.Instances()[0]
	tmpl := f.Template()
	tmpl.Port = port + 1
	err := f.Redeploy(context.Background(), st.ID, tmpl)
	if err == nil || !strings.Contains(err.Error(), "port "+strconv.Itoa(port+1)) || !strings.Contains(err.Error(), "needs a new instance") {
		t.Errorf("Redeploy with another port: %v", err)
	}
	tmpl.Port, tmpl.Command = port, nil
	if err := f.Redeploy(context.Background(), st.ID, tmpl); err == nil || !strings.Contains(err.Error(), "command is empty") {
		t.Errorf("Redeploy without a command: %v", err)
	}
	if err := f.Redeploy(context.Background(), "i-00000000000000000", f.Template()); !errors.Is(err, fleet.ErrUnknownInstance) {
		t.Errorf("Redeploy of an unknown instance: %v", err)
	}
	if now, _ := f.Status(st.ID); now.PID != st.PID || now.State != fleet.StateRunning {
		t.Errorf("a refused Redeploy touched the instance: %+v", now)
	}
}

// TestRedeployOfAnAppThatCannotStartKeepsRetryingAndARedeployFixesIt: a
// template whose command does not exist fails Redeploy with the start
// error; the instance keeps its place and waits out the backoff, and a
// second Redeploy during that backoff starts the good template at once.
func TestRedeployOfAnAppThatCannotStartKeepsRetryingAndARedeployFixesIt(t *testing.T) {
	marker := newMarker(t)
	port := freePort(t)
	rec := &recorder{}
	f := startFleet(t, fleet.Config{
		Command:      []string{selfExe(t)},
		Env:          []string{testAppEnv + "=http", markerEnv + "=" + marker},
		Port:         port,
		Min:          1,
		Max:          1,
		RestartDelay: time.Hour, // only a Redeploy ends the backoff within the test
		Hooks:        fleet.Hooks{Event: rec.event},
	})
	st := f.Instances()[0]
	bad := f.Template()
	bad.Version, bad.Deployment, bad.Command = "app-bad", 2, []string{"/nonexistent/elbow-test-app"}
	err := f.Redeploy(context.Background(), st.ID, bad)
	if err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Fatalf("Redeploy of a command that does not exist: %v", err)
	}
	now, _ := f.Status(st.ID)
	if now.State != fleet.StateRestarting || now.Version != "app-bad" || now.LastExit == nil || now.LastExit.StartError == "" {
		t.Fatalf("after a failed Redeploy: %+v, want restarting app-bad with a start error", now)
	}

	good := f.Template()
	good.Version, good.Deployment = "app-good", 3
	if err := f.Redeploy(context.Background(), st.ID, good); err != nil {
		t.Fatal(err)
	}
	if rep := askApp(t, st.Addr()); rep.Env["ELBOW_INSTANCE_ID"] != st.ID {
		t.Errorf("redeployed app answers as %q", rep.Env["ELBOW_INSTANCE_ID"])
	}
	now, _ = f.Status(st.ID)
	if now.State != fleet.StateRunning || now.Version != "app-good" || now.Deployment != 3 || now.IP != st.IP {
		t.Errorf("after the second Redeploy: %+v", now)
	}
}

// TestRedeployRacingTerminateLeaksNothing forces both orders: a Redeploy
// that arrives while the instance is terminating is refused, and a
// Terminate that arrives while Redeploy waits for the old process to stop
// wins: the new template never starts and nothing is left.
func TestRedeployRacingTerminateLeaksNothing(t *testing.T) {
	t.Run("terminate first", func(t *testing.T) {
		marker := newMarker(t)
		release := make(chan struct{})
		entered := make(chan struct{}, 1)
		f := startFleet(t, fleet.Config{
			Command: []string{selfExe(t)},
			Env:     []string{testAppEnv + "=sleeper", markerEnv + "=" + marker},
			Port:    freePort(t),
			Min:     1,
			Max:     1,
			Hooks: fleet.Hooks{Terminating: func(context.Context, fleet.Instance) {
				entered <- struct{}{}
				<-release
			}},
		})
		id := f.Instances()[0].ID
		terminated := make(chan error, 1)
		go func() { terminated <- f.Terminate(context.Background(), id) }()
		<-entered
		if err := f.Redeploy(context.Background(), id, f.Template()); !errors.Is(err, fleet.ErrTerminating) {
			t.Errorf("Redeploy of a terminating instance: %v, want ErrTerminating", err)
		}
		close(release)
		if err := <-terminated; err != nil {
			t.Fatal(err)
		}
		if err := f.Redeploy(context.Background(), id, f.Template()); !errors.Is(err, fleet.ErrUnknownInstance) {
			t.Errorf("Redeploy of a terminated instance: %v, want ErrUnknownInstance", err)
		}
		if procs := markedProcesses(marker); len(procs) != 0 {
			t.Errorf("left behind:%s", describeProcesses(procs))
		}
	})
	t.Run("redeploy first", func(t *testing.T) {
		marker := newMarker(t)
		rec := &recorder{}
		f := startFleet(t, fleet.Config{
			Command:     []string{selfExe(t)},
			Env:         []string{testAppEnv + "=http", ignoreTerm + "=1", markerEnv + "=" + marker},
			Port:        freePort(t),
			Min:         1,
			Max:         1,
			StopTimeout: time.Hour, // the old app ignores SIGTERM: only the Redeploy's context ends its grace
			Hooks:       fleet.Hooks{Event: rec.event},
		})
		st := f.Instances()[0]
		askApp(t, st.Addr()) // the app ignores SIGTERM only once it runs its main
		next := f.Template()
		next.Version, next.Deployment = "app-2", 2
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		redeployed := make(chan error, 1)
		go func() { redeployed <- f.Redeploy(ctx, st.ID, next) }()
		testutil.Eventually(t, 10*time.Second, func() bool {
			now, _ := f.Status(st.ID)
			return now.State == fleet.StateDeploying
		}, "instance is deploying")

		terminated := make(chan error, 1)
		go func() { terminated <- f.Terminate(context.Background(), st.ID) }()
		testutil.Eventually(t, 10*time.Second, func() bool {
			// ScaleIn counts the instances not being terminated.
			_, err := f.ScaleIn(context.Background())
			return err != nil && strings.Contains(err.Error(), "has 0 instances")
		}, "termination requested")
		cancel() // the grace ends: SIGKILL
		if err := <-redeployed; !errors.Is(err, fleet.ErrTerminating) {
			t.Errorf("Redeploy overtaken by Terminate: %v, want ErrTerminating", err)
		}
		if err := <-terminated; err != nil {
			t.Fatal(err)
		}
		if kinds := rec.kindsOf(st.ID); slices.Contains(kinds, fleet.EventRedeployed) {
			t.Errorf("the new template started on a terminated instance: %v", kinds)
		}
		if procs := markedProcesses(marker); len(procs) != 0 {
			t.Errorf("left behind:%s", describeProcesses(procs))
		}
	})
}

// TestRedeployBlocksNoOtherInstance: while one instance's Redeploy waits
// out its old process's grace, another instance launches and terminates.
func TestRedeployBlocksNoOtherInstance(t *testing.T) {
	marker := newMarker(t)
	f := startFleet(t, fleet.Config{
		Command:     []string{selfExe(t)},
		Env:         []string{testAppEnv + "=http", ignoreTerm + "=1", markerEnv + "=" + marker},
		Port:        freePort(t),
		Min:         1,
		Max:         2,
		StopTimeout: time.Hour, // only the Redeploy's context ends the grace
	})
	st := f.Instances()[0]
	askApp(t, st.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	redeployed := make(chan error, 1)
	go func() { redeployed <- f.Redeploy(ctx, st.ID, f.Template()) }()
	testutil.Eventually(t, 10*time.Second, func() bool {
		now, _ := f.Status(st.ID)
		return now.State == fleet.StateDeploying
	}, "instance is deploying")

	other, err := f.Launch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stopCtx, stopCancel := context.WithCancel(context.Background())
	stopCancel() // no grace: the app ignores SIGTERM
	if err := f.Terminate(stopCtx, other.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-redeployed:
		t.Fatalf("Redeploy returned %v before its grace ended", err)
	default:
	}
	cancel()
	if err := <-redeployed; err != nil {
		t.Fatal(err)
	}
	if now, _ := f.Status(st.ID); now.State != fleet.StateRunning || now.PID == st.PID {
		t.Errorf("after Redeploy: %+v", now)
	}
}
