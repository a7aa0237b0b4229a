package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/elbow-lb/elbow/internal/targetgroup"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// startConsole serves c on a loopback port until the test ends.
func startConsole(t *testing.T, c *console.Console) string { return testutil.Serve(t, c.Serve) }

// realEnv is a real target group "web" checking two loopback apps, one
// answering 200 and one 400 (Django's answer to a Host not in
// ALLOWED_HOSTS), reported to a real monitor, served by a real console.
type realEnv struct {
	url       string
	mon       *monitor.Monitor
	good, bad healthcheck.Target
}

func newRealEnv(t *testing.T, diagnose console.Diagnoser) *realEnv {
	t.Helper()
	target := func(id string, code int) healthcheck.Target {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }))
		t.Cleanup(s.Close)
		host, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
		p, _ := strconv.Atoi(port)
		return healthcheck.Target{ID: id, IP: host, Port: p}
	}
	e := &realEnv{good: target("i-0aaaaaaaaaaaaaaa1", 200), bad: target("i-0bbbbbbbbbbbbbbb2", 400)}
	rules := config.DefaultEnhancedHealth
	rules.TransitionEvaluations = 1
	e.mon = monitor.New(monitor.Options{EnvironmentName: "elbow-env", Rules: rules, Logger: slog.New(slog.DiscardHandler)})
	for _, tg := range []healthcheck.Target{e.good, e.bad} {
		e.mon.AddInstance(tg.ID, time.Now().Add(-time.Hour), nil)
	}
	cfg := config.DefaultTargetGroup
	cfg.Name, cfg.Port = "web", e.good.Port
	g, err := targetgroup.New(cfg, targetgroup.Options{Reporters: []healthcheck.Reporter{e.mon}, Observers: []healthcheck.ResultObserver{e.mon}})
	if err != nil {
		t.Fatal(err)
	}
	fast := g.HealthCheck()
	fast.Interval, fast.Timeout, fast.UnhealthyThreshold = 50*time.Millisecond, 40*time.Millisecond, 2
	g.ModifyHealthCheck(fast)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go g.Run(ctx)
	g.Register(e.good)
	g.Register(e.bad)
	testutil.Eventually(t, 10*time.Second, func() bool {
		return g.Health(e.bad).State == healthcheck.StateUnhealthy && g.Health(e.good).State == healthcheck.StateHealthy
	}, "targets did not settle: want good healthy, bad unhealthy")
	e.mon.Evaluate(time.Now())
	e.url = startConsole(t, console.New(console.Options{Health: e.mon, TargetGroups: console.Groups(g), Diagnose: diagnose}))
	return e
}

// elbow runs the CLI in process and returns its output and error.
func elbow(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestHealthJSONIsTheAPIDocuments(t *testing.T) {
	e := newRealEnv(t, nil)
	out, err := elbow(t, "health", "--json", "--console", e.url)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Environment monitor.EnvironmentHealth
		Instances   monitor.InstancesHealth
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, out)
	}
	want := e.mon.EnvironmentHealth()
	if doc.Environment.EnvironmentName != "elbow-env" || doc.Environment.HealthStatus != want.HealthStatus ||
		strings.Join(doc.Environment.Causes, "|") != strings.Join(want.Causes, "|") {
		t.Errorf("Environment %+v, want the monitor's %+v", doc.Environment, want)
	}
	if len(doc.Instances.InstanceHealthList) != 2 || doc.Instances.InstanceHealthList[1].HealthStatus != monitor.StatusSevere {
		t.Errorf("Instances %+v, want two, the second Severe", doc.Instances)
	}
	for _, field := range []string{`"HealthStatus"`, `"InstancesHealth"`, `"InstanceHealthList"`, `"RefreshedAt"`, `"ApplicationMetrics"`} {
		if !strings.Contains(out, field) {
			t.Errorf("--json lacks %s", field)
		}
	}
}

func TestHealthTextOfRealEnvironment(t *testing.T) {
	e := newRealEnv(t, nil)
	out, err := elbow(t, "health", "--console", e.url)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colors written to a pipe:\n%q", out)
	}
	env := e.mon.EnvironmentHealth()
	lines := strings.Split(out, "\n")
	if f := strings.Fields(lines[0]); len(f) < 2 || f[0] != "elbow-env" || f[1] != env.HealthStatus.Name() {
		t.Errorf("environment line %q, want elbow-env %s <time>", lines[0], env.HealthStatus.Name())
	}
	for _, want := range []string{
		"ELB health is failing or not available for 1 out of 2 instances.",
		"  " + e.bad.ID + "  Severe",
		"  " + e.good.ID + "  Ok\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// fixedHealth serves documents the test controls, for exact layout checks.
type fixedHealth struct {
	mu   sync.Mutex
	env  monitor.EnvironmentHealth
	inst monitor.InstancesHealth
}

func (f *fixedHealth) EnvironmentHealth() monitor.EnvironmentHealth {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.env
}

func (f *fixedHealth) InstancesHealth() monitor.InstancesHealth {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inst
}
func (f *fixedHealth) Events(time.Time) []monitor.Event { return nil }

func (f *fixedHealth) set(st monitor.Status, causes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.env.HealthStatus, f.env.Color, f.env.Causes = st, st.Color(), causes
}

func sampleHealth() *fixedHealth {
	launched := time.Now().Add(-12*time.Minute - 5*time.Second)
	lat := monitor.Latency{P99: 0.003, P90: 0.002, P75: 0.001, P50: 0.001, P10: 0}
	// The period the causes were read from: 8 health checks in 60 s, all
	// 400, while the last 10 s window holds other figures.
	period := &monitor.PeriodMetrics{End: time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local),
		ApplicationMetrics: monitor.ApplicationMetrics{Duration: 60, RequestCount: 8, StatusCodes: monitor.StatusCodes{Status4xx: 8}, Latency: lat}}
	return &fixedHealth{
		env: monitor.EnvironmentHealth{
			EnvironmentName: "elbow-env", HealthStatus: monitor.StatusSevere, Status: "Ready", Color: monitor.Red,
			Causes: []string{"100.0 % of the requests are erroring with HTTP 4xx.", "ELB health is failing or not available for all instances."},
			ApplicationMetrics: monitor.ApplicationMetrics{Duration: 10, RequestCount: 4,
				StatusCodes: monitor.StatusCodes{Status4xx: 4}, Latency: lat},
			InstancesHealth:   monitor.InstanceHealthSummary{Severe: 1, Ok: 1, NoData: 1},
			EvaluationMetrics: period,
		},
		inst: monitor.InstancesHealth{InstanceHealthList: []monitor.SingleInstanceHealth{
			{InstanceId: "i-d581497d", HealthStatus: monitor.StatusSevere, Color: monitor.Red,
				Causes:     []string{"100.0 % of the requests are erroring with HTTP 4xx."},
				LaunchedAt: launched, ApplicationMetrics: monitor.ApplicationMetrics{Duration: 10, RequestCount: 1430,
					StatusCodes: monitor.StatusCodes{Status2xx: 1430}, Latency: lat},
				System: &monitor.SystemStatus{CPUUtilization: monitor.CPUUtilization{User: 6.2, System: 1, Idle: 92.5, IOWait: 0.1},
					LoadAverage: []float64{0, 0.04, 0.05}},
				InstanceType: "t2.micro", AvailabilityZone: "us-east-1a", EvaluationMetrics: period},
			{InstanceId: "i-0e0e0e0e", HealthStatus: monitor.StatusOk, Color: monitor.Green},
			{InstanceId: "i-nodata", HealthStatus: monitor.StatusNoData, Color: monitor.Grey},
		}},
	}
}

// TestHealthLayout checks the columns of `eb health` (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-ebcli.html;
// github.com/aws/aws-elastic-beanstalk-cli, ebcli/display).
func TestHealthLayout(t *testing.T) {
	url := startConsole(t, console.New(console.Options{Health: sampleHealth()}))
	out, err := elbow(t, "health", "--console", url)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	wantLines := []string{
		"  total      ok    warning  degraded  severe    info   pending  unknown",
		"    3        1        0        0        1        0        0        1",
		"",
		"  instance-id   status     cause                                                  health",
		"    Overall     Severe     100.0 % of the requests are erroring with HTTP 4xx.",
		"                           ELB health is failing or not available for all instances.",
		"  i-d581497d    Severe     100.0 % of the requests are erroring with HTTP 4xx.",
		"  i-0e0e0e0e    Ok",
		"  i-nodata      No Data",
		"  requests over the 60 s to 03:04:05, the evaluation period the causes are read from",
		"  instance-id   r/sec    %2xx   %3xx   %4xx   %5xx      p99      p90      p75     p50     p10   requests",
		"    Overall       0.1     0.0    0.0  100.0    0.0   0.003*   0.002*    0.001   0.001   0.000",
		"  i-d581497d      0.1       0      0      8      0   0.003*   0.002*    0.001   0.001   0.000",
		"  i-0e0e0e0e      0.0       0      0      0      0   0.000*   0.000*    0.000   0.000   0.000",
		"  i-nodata        0.0       0      0      0      0   0.000*   0.000*    0.000   0.000   0.000",
		"  instance-id   type       az   running     load 1  load 5      user%  nice%  system%  idle%   iowait%   cpu",
		"  i-d581497d    t2.micro   1a   12 mins       0.00    0.04        6.2    0.0      1.0   92.5       0.1",
		"  i-0e0e0e0e    -          -    -                -       -          -      -        -      -         -",
	}
	if len(lines) < 2+len(wantLines) {
		t.Fatalf("output too short:\n%s", out)
	}
	if f := strings.Fields(lines[0]); len(f) != 4 || f[0] != "elbow-env" || f[1] != "Severe" {
		t.Errorf("environment line %q", lines[0])
	} else if _, err := time.Parse(time.DateTime, f[2]+" "+f[3]); err != nil {
		t.Errorf("environment line %q: no time: %v", lines[0], err)
	}
	if strings.Index(lines[0], "Severe") != 58 {
		t.Errorf("environment status at column %d, want 58: %q", strings.Index(lines[0], "Severe"), lines[0])
	}
	for i, want := range wantLines {
		if got := strings.TrimRight(lines[2+i], " "); got != want {
			t.Errorf("line %d:\n got %q\nwant %q", 2+i, got, want)
		}
	}
}

func TestHealthUnreachableConsole(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = elbow(t, "health", "--console", "http://"+addr)
	want := "no elbow environment answering at http://" + addr + ": is `elbow up` running?"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to say %q", err, want)
	}
	if isUsageError(err) {
		t.Error("an unreachable console is not a usage error")
	}
}

func TestHealthUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"health", "--console", "127.0.0.1:8099"},
		{"health", "--console", "ftp://127.0.0.1"},
		{"health", "--json", "--refresh"},
		{"health", "extra"},
		{"health", "--nope"},
		{"targets", "a", "b"},
		{"targets", "--console", "::"},
	} {
		if code := run(args); code != 2 {
			t.Errorf("elbow %s: exit %d, want 2", strings.Join(args, " "), code)
		}
	}
}

func TestHealthNotAConsole(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }))
	defer s.Close()
	_, err := elbow(t, "health", "--console", s.URL)
	if err == nil || !strings.Contains(err.Error(), "is it an elbow console?") {
		t.Errorf("error %v", err)
	}
}

func TestRefreshRedrawsWithoutTerminal(t *testing.T) {
	h := sampleHealth()
	url := startConsole(t, console.New(console.Options{Health: h}))
	c, err := apiv1.NewClient(url, apiv1.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- refreshHealth(ctx, c, pw, false, false, 20*time.Millisecond); pw.Close() }()
	var seen bytes.Buffer
	buf := make([]byte, 4096)
	deadline := time.Now().Add(10 * time.Second)
	switched := false
	for !strings.Contains(seen.String(), "redraw-marker") {
		if time.Now().After(deadline) {
			t.Fatalf("no redraw with the new state:\n%s", seen.String())
		}
		n, err := pr.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		seen.Write(buf[:n])
		if !switched && strings.Contains(seen.String(), "Severe") {
			h.set(monitor.StatusOk, "redraw-marker")
			switched = true
		}
	}
	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if err := <-done; err != nil {
		t.Errorf("refresh ended with %v, want nil on cancel", err)
	}
	if strings.Contains(seen.String(), "\x1b[2J") {
		t.Error("screen clearing written to a pipe")
	}
}
