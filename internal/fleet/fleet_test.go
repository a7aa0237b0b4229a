package fleet_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/testutil"
)

var instanceIDPattern = regexp.MustCompile(`^i-[0-9a-f]{17}$`)

func TestEachInstanceHasItsOwnIPOnTheSamePortWithItsEnvironment(t *testing.T) {
	marker := newMarker(t)
	t.Setenv(parentVar, "from elbow")
	port := freePort(t)
	logDir := t.TempDir()
	rec := &recorder{}
	f := startFleet(t, fleet.Config{
		Command: []string{selfExe(t)},
		Env: []string{testAppEnv + "=http", markerEnv + "=" + marker, userVarName + "=from user",
			"PORT=1", "HOST=0.0.0.0"}, // the user cannot move the instance off its address
		Port:   port,
		Min:    3,
		Max:    3,
		LogDir: logDir,
		Hooks: fleet.Hooks{
			Prepare: func(_ context.Context, inst fleet.Instance) ([]string, func(), error) {
				rec.call("prepare " + inst.ID)
				return []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + inst.IP.String() + ":1338"},
					func() { rec.call("cleanup " + inst.ID) }, nil
			},
			Launched: func(inst fleet.Instance) { rec.call("launched " + inst.ID) },
			Terminating: func(_ context.Context, inst fleet.Instance) {
				// The app must still be up while the caller drains it.
				resp, err := httpClient.Get("http://" + inst.Addr() + "/")
				if err == nil {
					resp.Body.Close()
					rec.call("terminating " + inst.ID + " while up")
				} else {
					rec.call("terminating " + inst.ID + " while down: " + err.Error())
				}
			},
			Event: rec.event,
		},
	})

	statuses := f.Instances()
	if len(statuses) != 3 {
		t.Fatalf("Instances() = %d instances, want 3", len(statuses))
	}
	ids := map[string]bool{}
	for i, st := range statuses {
		wantIP := netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 2)})
		if st.Index != i+1 || st.IP != wantIP || st.Port != port {
			t.Errorf("instance %d: index %d ip %s port %d, want %d %s %d", i, st.Index, st.IP, st.Port, i+1, wantIP, port)
		}
		if !instanceIDPattern.MatchString(st.ID) || ids[st.ID] {
			t.Errorf("instance id %q is not a fresh EC2-like id", st.ID)
		}
		ids[st.ID] = true
		if st.State != fleet.StateRunning || st.PID <= 0 || st.SupervisorPID <= 0 || st.PID == st.SupervisorPID {
			t.Errorf("instance %s: state %s pid %d supervisor %d", st.ID, st.State, st.PID, st.SupervisorPID)
		}

		rep := askApp(t, st.Addr())
		want := map[string]string{
			"HOST":                              wantIP.String(),
			"PORT":                              strconv.Itoa(port),
			"ELBOW_INSTANCE_ID":                 st.ID,
			"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://" + wantIP.String() + ":1338",
			userVarName:                         "from user",
			parentVar:                           "from elbow",
		}
		for k, v := range want {
			if rep.Env[k] != v {
				t.Errorf("instance %s: %s=%q, want %q", st.ID, k, rep.Env[k], v)
			}
		}
		if rep.LocalAddr != st.Addr() {
			t.Errorf("instance %s answered on %s, want %s", st.ID, rep.LocalAddr, st.Addr())
		}
		if rep.PID != st.PID || rep.ProcessPGID != st.SupervisorPID {
			t.Errorf("instance %s: app pid %d pgid %d, snapshot says pid %d supervisor %d",
				st.ID, rep.PID, rep.ProcessPGID, st.PID, st.SupervisorPID)
		}

		testutil.Eventually(t, 5*time.Second, func() bool {
			tail := strings.Join(f.Tail(st.ID, 10), "\n")
			return strings.Contains(tail, "listening on "+st.Addr()) && strings.Contains(tail, "a line on stderr")
		}, "output of "+st.ID+" in its tail")
		testutil.Eventually(t, 5*time.Second, func() bool {
			b, _ := os.ReadFile(filepath.Join(logDir, st.ID+".log"))
			return strings.Contains(string(b), "listening on "+st.Addr()) && strings.Contains(string(b), "a line on stderr")
		}, "output of "+st.ID+" in its log file")
		if st.LogPath != filepath.Join(logDir, st.ID+".log") {
			t.Errorf("LogPath = %q", st.LogPath)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.StopAll(ctx)

	for _, st := range statuses {
		wantCalls := []string{"prepare " + st.ID, "launched " + st.ID, "terminating " + st.ID + " while up", "cleanup " + st.ID}
		var got []string
		for _, c := range rec.callsSnapshot() {
			if strings.Contains(c, st.ID) {
				got = append(got, c)
			}
		}
		if !slices.Equal(got, wantCalls) {
			t.Errorf("hook calls of %s = %q, want %q", st.ID, got, wantCalls)
		}
		wantKinds := []fleet.EventKind{fleet.EventLaunched, fleet.EventTerminating, fleet.EventTerminated}
		if kinds := rec.kindsOf(st.ID); !slices.Equal(kinds, wantKinds) {
			t.Errorf("events of %s = %v, want %v", st.ID, kinds, wantKinds)
		}
		evs := rec.eventsOf(st.ID)
		if len(evs) > 0 && evs[0].Message != "Added instance ["+st.ID+"] to your environment." {
			t.Errorf("launch event says %q", evs[0].Message)
		}
		if len(evs) == 3 && evs[2].Message != "Removed instance ["+st.ID+"] from your environment." {
			t.Errorf("terminate event says %q", evs[2].Message)
		}
	}
	if left := markedProcesses(marker); len(left) > 0 {
		t.Errorf("processes left after StopAll:%s", describeProcesses(left))
	}
	for _, st := range f.Instances() {
		if st.State != fleet.StateTerminated {
			t.Errorf("after StopAll instance %s is %s", st.ID, st.State)
		}
	}
	if _, err := f.Launch(context.Background()); !errors.Is(err, fleet.ErrStopped) {
		t.Errorf("Launch after StopAll: %v, want ErrStopped", err)
	}
}

func TestACrashedInstanceRestartsWithBackoffKeepingItsIDAndIP(t *testing.T) {
	marker := newMarker(t)
	logDir := t.TempDir()
	rec := &recorder{}
	f := startFleet(t, fleet.Config{
		Command:         []string{selfExe(t)},
		Env:             []string{testAppEnv + "=crash", markerEnv + "=" + marker},
		Port:            freePort(t),
		Min:             1,
		Max:             1,
		LogDir:          logDir,
		RestartDelay:    40 * time.Millisecond,
		MaxRestartDelay: 100 * time.Millisecond,
		ResetAfter:      time.Minute,
		Hooks:           fleet.Hooks{Event: rec.event},
	})
	id := f.Instances()[0].ID
	testutil.Eventually(t, 10*time.Second, func() bool {
		n := 0
		for _, k := range rec.kindsOf(id) {
			if k == fleet.EventExited {
				n++
			}
		}
		return n >= 4
	}, "four crashes")

	evs := rec.eventsOf(id)
	wantKinds := []fleet.EventKind{fleet.EventLaunched, fleet.EventExited, fleet.EventRestarted,
		fleet.EventExited, fleet.EventRestarted, fleet.EventExited, fleet.EventRestarted, fleet.EventExited}
	if kinds := rec.kindsOf(id)[:len(wantKinds)]; !slices.Equal(kinds, wantKinds) {
		t.Fatalf("events = %v, want %v first", kinds, wantKinds)
	}
	wantDelays := []time.Duration{40 * time.Millisecond, 80 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}
	for i, delay := range wantDelays {
		exited := evs[1+2*i]
		want := fmt.Sprintf("Instance %s (127.0.0.2) exited with status 3; restarting in %s (restart %d).", id, delay, i+1)
		if exited.Message != want || exited.Severity != fleet.SeverityWarn {
			t.Errorf("crash %d: %s %q, want WARN %q", i+1, exited.Severity, exited.Message, want)
		}
		if i < 3 {
			restarted := evs[2+2*i]
			if gap := restarted.Time.Sub(exited.Time); gap < delay {
				t.Errorf("restart %d came %s after the crash, before its backoff of %s", i+1, gap, delay)
			}
		}
	}

	st, ok := f.Status(id)
	if !ok || st.IP != netip.MustParseAddr("127.0.0.2") || st.Index != 1 || st.Restarts < 4 {
		t.Errorf("status after crashes: %+v", st)
	}
	if st.LastExit == nil || st.LastExit.Code != 3 || st.LastExit.Signal != 0 {
		t.Errorf("last exit = %v, want status 3", st.LastExit)
	}
	if len(f.Instances()) != 1 {
		t.Errorf("a restart created a new instance: %+v", f.Instances())
	}
	// Every run appended to the same log; the tail holds the last ones.
	testutil.Eventually(t, 5*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(logDir, id+".log"))
		return strings.Count(string(b), "crash output from pid") >= 4 && strings.Count(string(b), "crash stderr") >= 4
	}, "four runs in the log file")
	if tail := f.Tail(id, 4); len(tail) != 4 || !slices.ContainsFunc(tail, func(l string) bool { return strings.HasPrefix(l, "crash output") }) {
		t.Errorf("Tail(id, 4) = %q", tail)
	}
}

func TestBackoffStartsOverAfterTheInstanceStayedUp(t *testing.T) {
	marker := newMarker(t)
	rec := &recorder{}
	f := startFleet(t, fleet.Config{
		Command:      []string{selfExe(t)},
		Env:          []string{testAppEnv + "=crash", crashDelay + "=150ms", markerEnv + "=" + marker},
		Port:         freePort(t),
		Min:          1,
		Max:          1,
		RestartDelay: 30 * time.Millisecond,
		ResetAfter:   100 * time.Millisecond,
		Hooks:        fleet.Hooks{Event: rec.event},
	})
	id := f.Instances()[0].ID
	var exits []fleet.Event
	testutil.Eventually(t, 10*time.Second, func() bool {
		exits = nil
		for _, ev := range rec.eventsOf(id) {
			if ev.Kind == fleet.EventExited {
				exits = append(exits, ev)
			}
		}
		return len(exits) >= 3
	}, "three crashes")
	for i, ev := range exits[:3] {
		if !strings.Contains(ev.Message, fmt.Sprintf("restarting in 30ms (restart %d)", i+1)) {
			t.Errorf("crash %d after staying up: %q, want the first backoff again", i+1, ev.Message)
		}
	}
}

func TestStopTerminatesTheWholeProcessTree(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ignoreTerm bool
	}{
		{"app exits on SIGTERM", false},
		{"app ignores SIGTERM", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := newMarker(t)
			rec := &recorder{}
			env := []string{testAppEnv + "=http", forkEnv + "=1", markerEnv + "=" + marker}
			// Generous when the app obeys SIGTERM, so a loaded machine
			// does not turn it into a SIGKILL; short when it will not.
			stopTimeout := 5 * time.Second
			if tc.ignoreTerm {
				env = append(env, ignoreTerm+"=1")
				stopTimeout = 300 * time.Millisecond
			}
			f := startFleet(t, fleet.Config{
				Command:     []string{selfExe(t)},
				Env:         env,
				Port:        freePort(t),
				Min:         1,
				Max:         1,
				StopTimeout: stopTimeout,
				Hooks:       fleet.Hooks{Event: rec.event},
			})
			st := f.Instances()[0]
			rep := askApp(t, st.Addr())
			if rep.Grandchild == 0 || rep.Escapee == 0 {
				t.Fatalf("the app did not fork its children: %+v", rep)
			}
			// supervisor, app, grandchild in the group, escapee in its own session
			testutil.Eventually(t, 5*time.Second, func() bool {
				return len(markedProcesses(marker)) == 4
			}, "four processes of the instance")
			began := time.Now()
			if err := f.Terminate(context.Background(), st.ID); err != nil {
				t.Fatal(err)
			}
			t.Logf("Terminate took %s", time.Since(began))
			if left := markedProcesses(marker); len(left) > 0 {
				t.Fatalf("processes left after Terminate returned:%s", describeProcesses(left))
			}
			killed := slices.Contains(rec.kindsOf(st.ID), fleet.EventKilled)
			if killed != tc.ignoreTerm {
				t.Errorf("SIGKILL escalation = %v, want %v (events %v)", killed, tc.ignoreTerm, rec.kindsOf(st.ID))
			}
			last, _ := f.Status(st.ID)
			wantSignal := syscall.SIGTERM
			if tc.ignoreTerm {
				wantSignal = syscall.SIGKILL
			}
			if last.State != fleet.StateTerminated || last.LastExit == nil || last.LastExit.Signal != wantSignal {
				t.Errorf("after Terminate: state %s last exit %v, want terminated by %v", last.State, last.LastExit, wantSignal)
			}
		})
	}
}

func TestMaxIsEnforcedAndTheLowestFreeIPIsReused(t *testing.T) {
	marker := newMarker(t)
	f := startFleet(t, fleet.Config{
		Command: []string{selfExe(t)},
		Env:     []string{testAppEnv + "=sleeper", markerEnv + "=" + marker},
		Port:    freePort(t),
		Min:     1,
		Max:     3,
	})
	ctx := context.Background()
	second, err := f.Launch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	third, err := f.Launch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.IP.String() != "127.0.0.3" || third.IP.String() != "127.0.0.4" {
		t.Fatalf("launched on %s and %s, want 127.0.0.3 and 127.0.0.4", second.IP, third.IP)
	}
	_, err = f.Launch(ctx)
	if !errors.Is(err, fleet.ErrAtMax) || !strings.Contains(err.Error(), "max 3") {
		t.Fatalf("fourth Launch: %v, want ErrAtMax naming max 3", err)
	}
	if n := len(f.Instances()); n != 3 {
		t.Fatalf("%d instances after a refused launch, want 3", n)
	}

	if err := f.Terminate(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	again, err := f.Launch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.IP != second.IP || again.Index != 2 || again.ID == second.ID {
		t.Errorf("relaunch got %+v, want index 2 on %s with a new id", again, second.IP)
	}

	for _, want := range []fleet.Instance{third, again} {
		got, err := f.ScaleIn(ctx)
		if err != nil || got.ID != want.ID {
			t.Fatalf("ScaleIn = %+v, %v; want the newest, %s", got, err, want.ID)
		}
	}
	if _, err := f.ScaleIn(ctx); !errors.Is(err, fleet.ErrAtMin) || !strings.Contains(err.Error(), "min 1") {
		t.Errorf("ScaleIn at min: %v, want ErrAtMin naming min 1", err)
	}
	if err := f.Terminate(ctx, "i-00000000000000000"); !errors.Is(err, fleet.ErrUnknownInstance) {
		t.Errorf("Terminate(unknown) = %v", err)
	}
}

func TestAnAppThatCannotStartIsNotLaunched(t *testing.T) {
	cleanups := 0
	f, err := fleet.New(fleet.Config{
		Command: []string{filepath.Join(t.TempDir(), "no-such-app")},
		Port:    8000,
		Max:     1,
		Hooks: fleet.Hooks{Prepare: func(context.Context, fleet.Instance) ([]string, func(), error) {
			return nil, func() { cleanups++ }, nil
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.StopAll(context.Background())
	_, err = f.Launch(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no-such-app") {
		t.Fatalf("Launch = %v, want an error naming the command", err)
	}
	if n := len(f.Instances()); n != 0 || cleanups != 1 {
		t.Errorf("after a failed launch: %d instances, %d cleanups; want 0 and 1", n, cleanups)
	}
	// The slot is free again.
	if _, err := f.Launch(context.Background()); errors.Is(err, fleet.ErrAtMax) {
		t.Errorf("a failed launch kept its slot: %v", err)
	}
}

func TestTailIsBounded(t *testing.T) {
	marker := newMarker(t)
	f := startFleet(t, fleet.Config{
		Command:   []string{selfExe(t)},
		Env:       []string{testAppEnv + "=chatty", linesEnv + "=1000", markerEnv + "=" + marker},
		Port:      freePort(t),
		Min:       1,
		Max:       1,
		TailLines: 50,
	})
	id := f.Instances()[0].ID
	var tail []string
	testutil.Eventually(t, 5*time.Second, func() bool {
		tail = f.Tail(id, 100)
		return len(tail) > 0 && tail[len(tail)-1] == "line 999"
	}, "the last line in the tail")
	if len(tail) != 50 || tail[0] != "line 950" {
		t.Errorf("Tail(id, 100) has %d lines from %q, want 50 from line 950", len(tail), tail[0])
	}
	if got := f.Tail(id, 2); !slices.Equal(got, []string{"line 998", "line 999"}) {
		t.Errorf("Tail(id, 2) = %q", got)
	}
	if f.Tail("i-unknown", 5) != nil {
		t.Error("Tail of an unknown instance is not nil")
	}
}

func TestConfigIsValidated(t *testing.T) {
	base := fleet.Config{Command: []string{"app"}, Port: 8000, Min: 1, Max: 2}
	for _, tc := range []struct {
		name   string
		mutate func(*fleet.Config)
		want   string
	}{
		{"empty command", func(c *fleet.Config) { c.Command = nil }, "command is empty"},
		{"port", func(c *fleet.Config) { c.Port = 70000 }, "port 70000 is out of range 1-65535"},
		{"max", func(c *fleet.Config) { c.Max = 254 }, "max 254 is out of range 1-253"},
		{"min above max", func(c *fleet.Config) { c.Min = 3 }, "min 3 is out of range 0-2"},
	} {
		cfg := base
		tc.mutate(&cfg)
		if _, err := fleet.New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestNoProcessOutlivesAKilledElbow is the promise of the package: an
// elbow-like parent launches instances whose apps fork a child and a setsid'd
// child, and one through sh -c whose shell forks sleeps; the parent is
// SIGKILLed, and nothing of it is left.
func TestNoProcessOutlivesAKilledElbow(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh:", err)
	}
	marker := newMarker(t)
	parent := exec.Command(selfExe(t))
	parent.Env = append(os.Environ(), testAppEnv+"=parent", markerEnv+"="+marker,
		parentPort+"="+strconv.Itoa(freePort(t)))
	parent.Stderr = os.Stderr
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		parent.Process.Kill()
		parent.Wait()
	})

	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var lines []string
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- nil
				return
			}
			lines = append(lines, sc.Text())
		}
		ready <- fmt.Errorf("parent ended before ready: %q", lines)
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("parent not ready after 15s")
	}

	// parent + 2 × (supervisor, app, grandchild, setsid'd grandchild)
	// + supervisor, sh and its two sleeps
	testutil.Eventually(t, 10*time.Second, func() bool {
		return len(markedProcesses(marker)) == 13
	}, "thirteen marked processes")
	before := markedProcesses(marker)

	if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	parent.Wait()

	var left []int
	defer func() {
		if len(left) > 0 {
			t.Logf("%d of its %d processes live on:%s", len(left), len(before), describeProcesses(left))
		}
	}()
	testutil.Eventually(t, 5*time.Second, func() bool {
		left = markedProcesses(marker)
		return len(left) == 0
	}, "processes of elbow live on 5s after it was SIGKILLed")
}

// TestAnInstanceOutlivesTheThreadsOfElbow guards against golang/go#27505:
// the supervisor's parent-death signal follows the OS thread that forked it,
// and a Go thread exits whenever a goroutine locked to it returns. Here many
// goroutines lock their threads and return, which ends most of the
// program's threads; the instances must not notice.
func TestAnInstanceOutlivesTheThreadsOfElbow(t *testing.T) {
	marker := newMarker(t)
	rec := &recorder{}
	f := startFleet(t, fleet.Config{
		Command: []string{selfExe(t)},
		Env:     []string{testAppEnv + "=sleeper", markerEnv + "=" + marker},
		Port:    freePort(t),
		Min:     4,
		Max:     4,
		Hooks:   fleet.Hooks{Event: rec.event},
	})
	for range 3 {
		var threadsEnded sync.WaitGroup
		for range 100 {
			threadsEnded.Go(func() {
				runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
				time.Sleep(time.Millisecond)
			})
		}
		threadsEnded.Wait()
	}
	// A parent-death signal, had one fired, kills the supervisor within
	// milliseconds and the fleet reports the exit.
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		for _, st := range f.Instances() {
			if slices.Contains(rec.kindsOf(st.ID), fleet.EventExited) {
				t.Fatalf("instance %s died with a thread of elbow: %v", st.ID, rec.eventsOf(st.ID))
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTerminateCutsTheGraceShortWhenTheContextEnds(t *testing.T) {
	marker := newMarker(t)
	rec := &recorder{}
	f := startFleet(t, fleet.Config{
		Command:     []string{selfExe(t)},
		Env:         []string{testAppEnv + "=http", ignoreTerm + "=1", markerEnv + "=" + marker},
		Port:        freePort(t),
		Min:         1,
		Max:         1,
		StopTimeout: time.Minute,
		Hooks:       fleet.Hooks{Event: rec.event},
	})
	st := f.Instances()[0]
	askApp(t, st.Addr()) // SIGTERM is ignored from here on
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	began := time.Now()
	f.Terminate(ctx, st.ID)
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("Terminate with an ended context took %s", took)
	}
	if !slices.Contains(rec.kindsOf(st.ID), fleet.EventKilled) {
		t.Errorf("events %v, want a SIGKILL", rec.kindsOf(st.ID))
	}
	if left := markedProcesses(marker); len(left) > 0 {
		t.Errorf("processes left:%s", describeProcesses(left))
	}
}

func TestTerminateDuringTheRestartBackoff(t *testing.T) {
	marker := newMarker(t)
	rec := &recorder{}
	f := startFleet(t, fleet.Config{
		Command:      []string{selfExe(t)},
		Env:          []string{testAppEnv + "=crash", markerEnv + "=" + marker},
		Port:         freePort(t),
		Min:          1,
		Max:          1,
		RestartDelay: time.Minute,
		Hooks: fleet.Hooks{
			Event:       rec.event,
			Terminating: func(_ context.Context, inst fleet.Instance) { rec.call("terminating " + inst.ID) },
		},
	})
	id := f.Instances()[0].ID
	testutil.Eventually(t, 5*time.Second, func() bool {
		st, _ := f.Status(id)
		return st.State == fleet.StateRestarting
	}, "the crash")
	began := time.Now()
	if err := f.Terminate(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("Terminate waited out the backoff: %s", took)
	}
	want := []fleet.EventKind{fleet.EventLaunched, fleet.EventExited, fleet.EventTerminating, fleet.EventTerminated}
	if got := rec.kindsOf(id); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if calls := rec.callsSnapshot(); !slices.Equal(calls, []string{"terminating " + id}) {
		t.Errorf("hook calls %q: a registered instance must be deregistered even while down", calls)
	}
}
