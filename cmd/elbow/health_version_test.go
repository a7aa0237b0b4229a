package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
)

// After an aborted rolling deployment, elbow health shows which version
// each instance runs, beside the cause that says they differ.
func TestHealthShowsEachInstanceVersion(t *testing.T) {
	now := time.Now().Add(-3 * time.Minute)
	mon := monitor.New(monitor.Options{EnvironmentName: "shop-env", Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mon.AddInstance("i-1", now.Add(-time.Hour), nil)
	mon.AddInstance("i-2", now.Add(-time.Hour), nil)
	mon.AddInstance("i-3", now.Add(-time.Hour), nil) // a target that runs elsewhere: no version
	mon.SetInstanceVersion("i-1", "app-260102_150405", 2)
	mon.SetInstanceVersion("i-2", "v1", 1)
	mon.SetUpdate(monitor.Update{ExpectedLabel: "v1", ExpectedDeployment: 1})
	for _, id := range []string{"i-1", "i-2", "i-3"} {
		mon.SetHealth(healthcheck.Target{ID: id, IP: "127.0.0.2", Port: 8000}, healthcheck.TargetHealth{State: healthcheck.StateHealthy})
	}
	now = now.Add(3 * time.Minute)
	mon.Evaluate(now)
	srv := httptest.NewServer(console.New(console.Options{Health: mon}))
	t.Cleanup(srv.Close)
	out, err := elbow(t, "health", "--console", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"  instance-id   status     id   version            ago       deployments",
		"  i-1           Deployed   2    app-260102_150405  3 mins",
		"  i-2           Deployed   1    v1                 3 mins",
		"  i-3           -          -    -                  -",
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < len(want) {
		t.Fatalf("output too short:\n%s", out)
	}
	got := lines[len(lines)-len(want):]
	for i := range want {
		if strings.TrimRight(got[i], " ") != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q\n%s", i, got[i], want[i], out)
		}
	}
	if !strings.Contains(out, `Incorrect application version "app-260102_150405" (deployment 2). Expected version "v1" (deployment 1).`) {
		t.Errorf("no version cause for i-1:\n%s", out)
	}
}
