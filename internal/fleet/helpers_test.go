package fleet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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

// newMarker returns a value unique to the calling test, put in the
// environment of every process the test starts, and registers a cleanup
// that SIGKILLs any of them still alive, so a failing test leaks nothing.
func newMarker(t *testing.T) string {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	marker := hex.EncodeToString(b[:])
	t.Cleanup(func() {
		for _, pid := range markedProcesses(marker) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return marker
}

// markedProcesses lists the live processes whose environment carries marker.
func markedProcesses(marker string) []int {
	needle := []byte(markerEnv + "=" + marker + "\x00")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, needle) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			s := string(stat)
			if i := strings.LastIndexByte(s, ')'); i > 0 && len(s) > i+2 && (s[i+2] == 'Z' || s[i+2] == 'X') {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

func describeProcesses(pids []int) string {
	var b strings.Builder
	for _, pid := range pids {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		fmt.Fprintf(&b, "\n  pid %d: %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return b.String()
}

// freePort returns a port free on the loopback addresses the tests use.
func freePort(t *testing.T) int {
	return testutil.FreePortOnAll(t, "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6")
}

func selfExe(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// recorder records events and hook calls in order.
type recorder struct {
	mu     sync.Mutex
	events []fleet.Event
	calls  []string // "launched i-..", "terminating i-..", "cleanup i-.."
}

func (r *recorder) event(ev fleet.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) call(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, what)
}

func (r *recorder) eventsOf(id string) []fleet.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []fleet.Event
	for _, ev := range r.events {
		if ev.InstanceID == id {
			out = append(out, ev)
		}
	}
	return out
}

func (r *recorder) kindsOf(id string) []fleet.EventKind {
	var kinds []fleet.EventKind
	for _, ev := range r.eventsOf(id) {
		kinds = append(kinds, ev.Kind)
	}
	return kinds
}

func (r *recorder) callsSnapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// startFleet creates a fleet, starts it, and stops it at cleanup.
func startFleet(t *testing.T, cfg fleet.Config) *fleet.Fleet {
	t.Helper()
	f, err := fleet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.StopAll(ctx)
	})
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

var httpClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// askApp polls the instance's app until it answers, and returns its report.
func askApp(t *testing.T, addr string) appReport {
	t.Helper()
	var rep appReport
	testutil.Eventually(t, 10*time.Second, func() bool {
		resp, err := httpClient.Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&rep) == nil
	}, "app at "+addr+" answers")
	return rep
}
