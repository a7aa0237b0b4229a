package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/monitor"
)

// scriptedUpdates is an environment whose deployment progresses one step
// each time its status is read, recording Beanstalk's events in a real
// monitor, so that the commands follow it without timers.
type scriptedUpdates struct {
	mon *monitor.Monitor

	mu       sync.Mutex
	steps    []func() // what happens at each status read while updating
	updating bool
	desired  int
	aborted  bool
}

func (s *scriptedUpdates) event(severity, msg string) { s.mon.Record(time.Now(), "", severity, msg) }

func (s *scriptedUpdates) Deploy(_ context.Context, label, description string) (apiv1.DeployResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.updating {
		return apiv1.DeployResult{}, console.ErrUpdateInProgress
	}
	s.updating = true
	s.event("INFO", "Environment update is starting.")
	s.steps = []func(){
		func() { s.event("INFO", "Deploying new version to instance(s).") },
		func() {
			if label == "bad" {
				s.event("ERROR", "Instance id(s) 'i-1' did not pass health check after command execution. Aborting the operation.")
				s.event("ERROR", "Failed to deploy application.")
			} else {
				s.event("INFO", "New application version was deployed to running EC2 instances.")
				s.event("INFO", "Environment update completed successfully.")
			}
			s.updating = false
		},
	}
	return apiv1.DeployResult{VersionLabel: label, Deployment: 2}, nil
}

func (s *scriptedUpdates) Abort() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.updating {
		return console.ErrNoUpdate
	}
	s.aborted, s.updating = true, false
	return nil
}

func (s *scriptedUpdates) Scale(_ context.Context, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > 4 {
		return &console.InvalidParameterError{Message: fmt.Sprintf("New SetDesiredCapacity value %d is above max value 4 for the AutoScalingGroup.", n)}
	}
	s.desired = n
	return nil
}

func (s *scriptedUpdates) Status() apiv1.EnvironmentStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.updating && len(s.steps) > 0 {
		step := s.steps[0]
		s.steps = s.steps[1:]
		step()
	}
	st := "Ready"
	if s.updating {
		st = "Updating"
	}
	return apiv1.EnvironmentStatus{ApplicationName: "shop", EnvironmentName: "shop-env", EnvironmentId: "e-abcdefghij",
		Region: "us-west-2", VersionLabel: "v2", SolutionStackName: "elbow", Tier: "WebServer-Standard-1.0",
		CNAME: "127.0.0.1:8080", DateUpdated: time.Date(2026, 1, 2, 15, 4, 5, 123000000, time.UTC), Status: st,
		Instances: 2, DesiredCapacity: s.desired}
}

func (s *scriptedUpdates) Versions() []apiv1.ApplicationVersion { return nil }

func updatesConsole(t *testing.T) (*scriptedUpdates, string) {
	t.Helper()
	mon := monitor.New(monitor.Options{EnvironmentName: "shop-env", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	u := &scriptedUpdates{mon: mon, desired: 2}
	srv := httptest.NewServer(console.New(console.Options{Health: mon, Updates: u}))
	t.Cleanup(srv.Close)
	return u, srv.URL
}

var eventLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d    (INFO|WARN|ERROR)    (.+)$`)

// messages checks every line but the first is an event line and returns
// "SEVERITY message" of each.
func messages(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var got []string
	for _, l := range lines[1:] {
		m := eventLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not an eb event line:\n%s", l, out)
		}
		got = append(got, m[1]+" "+m[2])
	}
	return got
}

func TestDeployFollowsEvents(t *testing.T) {
	u, url := updatesConsole(t)
	u.event("INFO", "an event from before the deployment")
	out, err := elbow(t, "deploy", "--label", "v2", "-m", "fix", "--console", url, "--poll-interval", "1ms")
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	if first := strings.SplitN(out, "\n", 2)[0]; first != `Created application version "v2" (deployment 2).` {
		t.Errorf("first line %q", first)
	}
	want := []string{
		"INFO Environment update is starting.",
		"INFO Deploying new version to instance(s).",
		"INFO New application version was deployed to running EC2 instances.",
		"INFO Environment update completed successfully.",
	}
	if got := messages(t, out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDeployFailureExits1(t *testing.T) {
	_, url := updatesConsole(t)
	out, err := elbow(t, "deploy", "--label", "bad", "--console", url, "--poll-interval", "1ms")
	ee, ok := err.(*exitError)
	if !ok || ee.code != 1 || !strings.Contains(err.Error(), "the update of shop-env failed") {
		t.Fatalf("err = %v, want exit 1", err)
	}
	got := messages(t, out)
	if len(got) != 4 || got[3] != "ERROR Failed to deploy application." {
		t.Errorf("events %q", got)
	}
}

func TestDeployNoWaitThenRefusedThenAbort(t *testing.T) {
	u, url := updatesConsole(t)
	out, err := elbow(t, "deploy", "--nowait", "--label", "v3", "--console", url)
	if err != nil || out != "Created application version \"v3\" (deployment 2).\n" {
		t.Fatalf("deploy --nowait: %q, %v", out, err)
	}
	_, err = elbow(t, "deploy", "--label", "v4", "--console", url)
	if err == nil || err.Error() != "InvalidParameterValue: Environment named shop-env is in an invalid state for this operation. Must be Ready." {
		t.Errorf("second deploy: %v", err)
	}
	if out, err = elbow(t, "abort", "--console", url); err != nil || out != "Aborting update to environment \"shop-env\".\n" || !u.aborted {
		t.Errorf("abort: %q, %v", out, err)
	}
	_, err = elbow(t, "abort", "--console", url)
	if err == nil || !strings.Contains(err.Error(), "Must be pending deployment.") {
		t.Errorf("abort with no update: %v", err)
	}
}

func TestScaleAndStatus(t *testing.T) {
	u, url := updatesConsole(t)
	out, err := elbow(t, "scale", "3", "--console", url)
	if err != nil || out != "Desired capacity of shop-env set to 3 (2 running now).\n" || u.desired != 3 {
		t.Errorf("scale 3: %q, %v", out, err)
	}
	if _, err = elbow(t, "scale", "5", "--console", url); err == nil || !strings.Contains(err.Error(), "above max value 4") {
		t.Errorf("scale 5: %v", err)
	}
	if _, err = elbow(t, "scale", "-1", "--console", url); !isUsageError(err) {
		t.Errorf("scale -1: %v, want a usage error", err)
	}
	out, err = elbow(t, "status", "--console", url)
	if err != nil {
		t.Fatal(err)
	}
	want := `Environment details for: shop-env
  Application name: shop
  Region: us-west-2
  Deployed Version: v2
  Environment ID: e-abcdefghij
  Platform: elbow
  Tier: WebServer-Standard-1.0
  CNAME: 127.0.0.1:8080
  Updated: 2026-01-02 15:04:05.123000+00:00
  Status: Ready
  Health: Grey
  Running instances: 2
`
	if out != want {
		t.Errorf("status:\n%s\nwant:\n%s", out, want)
	}
}

func TestEventsOldestFirst(t *testing.T) {
	u, url := updatesConsole(t)
	u.event("INFO", "first")
	u.event("WARN", "second")
	out, err := elbow(t, "events", "--console", url)
	if err != nil {
		t.Fatal(err)
	}
	got := messages(t, "header\n"+out)
	if strings.Join(got, "|") != "INFO first|WARN second" {
		t.Errorf("events %q", got)
	}
}

// lineWriter hands each line written to a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		s := w.buf.String()
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.lines <- s[:i]
		w.buf.Reset()
		w.buf.WriteString(s[i+1:])
	}
}

func TestEventsFollow(t *testing.T) {
	u, url := updatesConsole(t)
	u.event("INFO", "first")
	root := newRootCmd()
	w := &lineWriter{lines: make(chan string, 16)}
	root.SetOut(w)
	root.SetErr(io.Discard)
	root.SetArgs([]string{"events", "-f", "--poll-interval", "1ms", "--console", url})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	next := func() string {
		select {
		case l := <-w.lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no line within 10 s")
			return ""
		}
	}
	if l := next(); !strings.HasSuffix(l, "    INFO    first") {
		t.Errorf("first line %q", l)
	}
	u.event("WARN", "second")
	if l := next(); !strings.HasSuffix(l, "    WARN    second") {
		t.Errorf("followed line %q", l)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("events -f after interrupt: %v", err)
	}
	select {
	case l := <-w.lines:
		t.Errorf("an event printed twice or more: %q", l)
	default:
	}
}
