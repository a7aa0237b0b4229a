package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/testutil"
)

const (
	causeELB = "ELB health is failing or not available for all instances."
	cause4xx = "100.0 % of the requests are erroring with HTTP 4xx."
)

// TestEnhancedHealthSevereAndRecovery: targets that answer 400 to the health
// check turn instances and the environment Severe with both causes, in the
// output of elbow up, the console API, elbow health --json and /metrics; when
// they answer 200 again, the environment returns to Ok and an event says so.
func TestEnhancedHealthSevereAndRecovery(t *testing.T) {
	t.Parallel()
	python := testutil.RequireProgram(t, testutil.SystemPython)
	app, _ := filepath.Abs("testdata/switchapp.py")
	broken := filepath.Join(t.TempDir(), "broken")
	os.WriteFile(broken, nil, 0o644)
	yaml := testutil.AppEnv{Name: "e2e-health", Command: []string{python, app}, Min: 2,
		Env:     map[string]string{"BROKEN_FILE": broken},
		AppPort: freePort(t), IMDSPort: freePort(t), ListenPort: freePort(t)}.String()
	p := startUp(t, yaml)
	consoleURL := regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, 30*time.Second))[1]

	severe := p.waitFor(t, `Environment health has transitioned from \w+ to Severe\.`, 60*time.Second)
	for _, c := range []string{causeELB, cause4xx} {
		if !strings.Contains(severe, c) {
			t.Errorf("the Severe event does not give the cause %q: %s", c, severe)
		}
	}
	// Instance transitions come before the environment's, which reads them.
	out := p.output()
	if i, e := strings.Index(out, "health has transitioned from"), strings.Index(out, "Environment health has transitioned"); i < 0 || i > e {
		t.Errorf("no instance transition before the environment's:\n%s", out)
	}

	var env struct {
		HealthStatus, Color string
		Causes              []string
	}
	getJSON(t, consoleURL+"/api/v1/environment", &env)
	if env.HealthStatus != "Severe" || env.Color != "Red" || !contains(env.Causes, causeELB) || !contains(env.Causes, cause4xx) {
		t.Errorf("API environment: %+v", env)
	}
	var inst struct {
		InstanceHealthList []struct {
			InstanceId   string //nolint:revive // AWS's spelling
			HealthStatus string
			Causes       []string
		}
	}
	getJSON(t, consoleURL+"/api/v1/instances", &inst)
	if len(inst.InstanceHealthList) != 2 {
		t.Fatalf("API instances: %+v", inst)
	}
	for _, in := range inst.InstanceHealthList {
		if in.HealthStatus != "Severe" || !contains(in.Causes, cause4xx) {
			t.Errorf("instance %s: %s %v", in.InstanceId, in.HealthStatus, in.Causes)
		}
	}
	cli := exec.Command(os.Args[0], "health", "--json", "--console", consoleURL)
	cli.Env = append(os.Environ(), "ELBOW_TEST_AS_MAIN=1")
	b, err := cli.Output()
	if err != nil {
		t.Fatalf("elbow health --json: %v", err)
	}
	var doc struct {
		Environment struct {
			HealthStatus string
			Causes       []string
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Environment.HealthStatus != "Severe" || !contains(doc.Environment.Causes, cause4xx) {
		t.Errorf("elbow health --json: %v %s", err, b)
	}
	metrics := getText(t, consoleURL+"/metrics")
	if !regexp.MustCompile(`(?m)^elbow_environment_health\{environment="e2e-health"\} 25$`).MatchString(metrics) {
		t.Errorf("/metrics has no environment health 25 (Severe):\n%s", grep(metrics, "elbow_environment_health"))
	}
	if !regexp.MustCompile(`(?m)^elbow_target_group_unhealthy_hosts\{target_group="web"\} 2$`).MatchString(metrics) {
		t.Errorf("/metrics: %s", grep(metrics, "unhealthy_hosts"))
	}

	os.Remove(broken)
	ok := p.waitFor(t, `Environment health has transitioned from \w+ to Ok\.`, 60*time.Second)
	t.Logf("recovered: %s", ok)
	getJSON(t, consoleURL+"/api/v1/environment", &env)
	if env.HealthStatus != "Ok" || env.Color != "Green" {
		t.Errorf("API environment after recovery: %+v", env)
	}
	var events struct {
		Events []struct{ Message string }
	}
	getJSON(t, consoleURL+"/api/v1/events", &events)
	if len(events.Events) == 0 || !strings.Contains(events.Events[0].Message, "to Ok.") {
		t.Errorf("newest event is not the recovery: %+v", events)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(getText(t, url)), v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func grep(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestUpGracefulShutdown: on SIGTERM elbow stops accepting, lets the
// requests in flight finish, and exits 0.
func TestUpGracefulShutdown(t *testing.T) {
	t.Parallel()
	python := testutil.RequireProgram(t, testutil.SystemPython)
	app, _ := filepath.Abs("testdata/switchapp.py")
	listen := freePort(t)
	p := startUp(t, fmt.Sprintf(`name: e2e-shutdown
instances:
  command: [%q, %q]
  port: %d
  min: 2
  metadata_options:
    port: %d
target_groups:
  - name: web
    deregistration_delay: 5
    health_check: {interval: 5, timeout: 2}
listeners:
  - port: %d
    default_action:
      target_group: web
console:
  address: 127.0.0.1:0
`, python, app, freePort(t), freePort(t), listen))
	p.waitForN(t, `in web: healthy`, 2, 30*time.Second)

	const inFlight = 6
	results := make(chan string, inFlight)
	for range inFlight {
		go func() {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/slow", listen))
			if err != nil {
				results <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- fmt.Sprintf("%d %s", resp.StatusCode, body)
		}()
	}
	time.Sleep(500 * time.Millisecond) // the requests are at the instances now
	p.cmd.Process.Signal(os.Interrupt)
	testutil.Eventually(t, 2*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", listen), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, "the listener still accepts connections 2s after SIGINT")
	for range inFlight {
		select {
		case r := <-results:
			if r != "200 ok" {
				t.Errorf("a request in flight at shutdown got %q, want 200 ok", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a request in flight never finished")
		}
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("elbow up exited with %v, want status 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("elbow up did not exit after SIGINT")
	}
	p.waitFor(t, `environment "e2e-shutdown" stopped`, time.Second)
}
