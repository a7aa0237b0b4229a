package ebengine

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/ebproject"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// syncBuffer collects the engine's standard output (its events).
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range strings.Split(s.b.String(), "\n") {
		if ev, ok := ParseEvent(l); ok {
			out = append(out, ev.Severity+" "+ev.Message)
		}
	}
	return out
}

// project writes a project whose every step appends its name to ORDER.
func project(t *testing.T, failing string) (Spec, string) {
	t.Helper()
	dir, run := t.TempDir(), t.TempDir()
	order := filepath.Join(run, "order")
	hook := func(stage string) string {
		rel := ".platform/hooks/" + stage + "/01_note.sh"
		path := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, []byte("#!/bin/sh\necho "+stage+" >> \"$ORDER\"\n"), 0o755)
		return rel
	}
	spec := Spec{
		ProjectDir: dir, RunDir: filepath.Join(run, "eb"), LogDir: filepath.Join(run, "logs"),
		Platform: ebproject.Python, Network: "vpc", HasProcfile: true, AppPort: 8000, InstancePort: 8000, Proxy: "none",
		Processes: []ebproject.Process{{Name: "web", Command: `echo "web pwd=$(basename $(dirname $PWD))/$(basename $PWD) port=$PORT" >> "$ORDER"; echo to stdout; exit 1`}},
		Build:     []ebproject.Process{{Name: "make", Command: `echo build >> "$ORDER"`}},
		Commands: []ebproject.ContainerCommand{
			{Name: "01_migrate", Command: `echo migrate >> "$ORDER"`, LeaderOnly: true, Source: ebproject.Source{File: ".ebextensions/db.config"}},
			{Name: "02_collect", Command: `echo collect >> "$ORDER"; echo boom; exit ` + map[bool]string{true: "3", false: "0"}[failing == "collect"], Source: ebproject.Source{File: ".ebextensions/db.config"}},
		},
		Hooks: map[string][]string{"prebuild": {hook("prebuild")}, "predeploy": {hook("predeploy")}, "postdeploy": {hook("postdeploy")}},
	}
	t.Setenv("ORDER", order)
	return spec, order
}

func run(t *testing.T, spec Spec, leader bool) (*syncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, spec, Instance{ID: "i-0123456789abcdef0", IP: netip.MustParseAddr("172.31.5.17"), Leader: leader}, out)
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return out, stop
}

func readLines(path string) []string {
	b, _ := os.ReadFile(path)
	return strings.Fields(strings.ReplaceAll(string(b), "\n", " "))
}

func TestDeploymentOrderLeaderAndRestarts(t *testing.T) {
	for _, leader := range []bool{true, false} {
		spec, order := project(t, "")
		out, stop := run(t, spec, leader)
		testutil.Eventually(t, 10*time.Second, func() bool {
			return strings.Count(strings.Join(readLines(order), " "), "web") >= 2
		}, "the web process ran and was restarted after it exited")
		stop()
		want := []string{"prebuild", "build", "migrate", "collect", "predeploy", "postdeploy"}
		if !leader {
			want = append(want[:2:2], want[3:]...)
		}
		got := readLines(order)
		var steps []string
		firstWeb := -1
		for i, w := range got {
			switch {
			case w == "web" && firstWeb < 0:
				firstWeb = i
			case w == "web" || strings.HasPrefix(w, "pwd=") || strings.HasPrefix(w, "port="):
			default:
				steps = append(steps, w)
			}
		}
		// The processes start after predeploy, in the current folder, with PORT.
		if strings.Join(steps, " ") != strings.Join(want, " ") || firstWeb < indexOf(got, "predeploy") ||
			got[firstWeb+1] != "pwd=i-0123456789abcdef0/current" || got[firstWeb+2] != "port=8000" {
			t.Fatalf("leader %v: ran %v, want the steps %v and the web process after predeploy", leader, got, want)
		}
		evs := out.events()
		if len(evs) != 2 || evs[0] != "INFO Instance deployment used the commands in your 'Procfile' to initiate startup of your application." ||
			evs[1] != "INFO Instance deployment completed successfully." {
			t.Fatalf("events %q", evs)
		}
		web, _ := os.ReadFile(filepath.Join(spec.LogDir, "i-0123456789abcdef0", "web.stdout.log"))
		if !regexp.MustCompile(`(?m)^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ip-172-31-5-17 web\[\d+\]: to stdout$`).Match(web) {
			t.Fatalf("web.stdout.log is not as rsyslog writes it:\n%s", web)
		}
	}
}

func TestFailingContainerCommandStopsTheDeployment(t *testing.T) {
	spec, order := project(t, "collect")
	out, stop := run(t, spec, true)
	testutil.Eventually(t, 10*time.Second, func() bool { return len(out.events()) >= 2 }, "failure events")
	time.Sleep(300 * time.Millisecond) // nothing may start after the failure
	stop()
	want := []string{
		"ERROR Instance deployment failed. For details, see 'eb-engine.log'.",
		"ERROR [Instance: i-0123456789abcdef0] Command failed on instance. Return code: 3 Output: boom.",
	}
	if evs := out.events(); strings.Join(evs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(evs, "\n"), strings.Join(want, "\n"))
	}
	if got := readLines(order); contains(got, "predeploy") || contains(got, "web") {
		t.Fatalf("steps after the failure ran: %v", got)
	}
	log, _ := os.ReadFile(filepath.Join(spec.LogDir, "i-0123456789abcdef0", "eb-engine.log"))
	if !strings.Contains(string(log), "[ERROR] container command 02_collect in .ebextensions/db.config failed with exit status 3: boom") {
		t.Fatalf("eb-engine.log does not say which command failed:\n%s", log)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
