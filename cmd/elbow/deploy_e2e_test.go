package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// The end-to-end tests of deployments, configuration updates and auto
// scaling: `elbow up` runs a real Python app (its version read from a file
// of its folder, its health check failing when the folder says so), and
// `elbow deploy`, `elbow status` and `elbow events` run as a user runs them.

// versionApp is the app every deployment test runs. It reads VERSION and
// HEALTH from its folder at start, and GREETING from its environment.
const versionApp = `import http.server, os, signal, sys
DIR = os.path.dirname(os.path.abspath(__file__))
def read(name, default=""):
    try:
        with open(os.path.join(DIR, name)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return default
VERSION, HEALTH = read("VERSION"), read("HEALTH", "ok")
GREETING = os.environ.get("GREETING", "")
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path == "/health" and HEALTH != "ok":
            code, body = 500, b"unhealthy\n"
        else:
            code = 200
            body = ("version=%s greeting=%s instance=%s\n" % (VERSION, GREETING, os.environ.get("ELBOW_INSTANCE_ID", ""))).encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
Server((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
`

// deployEnv is one environment of a deployment test.
type deployEnv struct {
	dir, console, url string
	up                *upProcess
}

// startDeployEnv writes the app, its VERSION, and an elbow.yaml with extra
// appended, then runs elbow up and waits until n instances are healthy.
func startDeployEnv(t *testing.T, n int, extra string) *deployEnv {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("ELBOW_REQUIRE_E2E") == "1" {
			t.Fatal("python3 is required (ELBOW_REQUIRE_E2E=1)")
		}
		t.Skip("python3 not installed")
	}
	dir := t.TempDir()
	listen := freePort(t)
	yaml := fmt.Sprintf(`name: deploy-e2e
instances:
  command: [python3, app.py]
  port: %d
  min: %d
  max: 4
  env:
    GREETING: hello
  metadata_options:
    port: %d
target_groups:
  - name: web
    deregistration_delay: 1
    health_check:
      path: /health
      interval: 5
      timeout: 2
      healthy_threshold: 2
      unhealthy_threshold: 2
listeners:
  - port: %d
    default_action:
      target_group: web
console:
  address: 127.0.0.1:0
%s`, freePort(t), n, freePort(t), listen, extra)
	for name, content := range map[string]string{"app.py": versionApp, "VERSION": "v1\n", "elbow.yaml": yaml} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := startUpIn(t, dir, nil, "up", "-c", filepath.Join(dir, "elbow.yaml"))
	p.waitFor(t, `is up`, 30*time.Second)
	p.waitForN(t, `in web: healthy`, n, 30*time.Second)
	console := regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, time.Second))[1]
	return &deployEnv{dir: dir, console: console, url: fmt.Sprintf("http://127.0.0.1:%d/", listen), up: p}
}

// write changes a file of the project folder.
func (d *deployEnv) write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d.dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// elbow runs an elbow command against the environment's console and
// returns its output; it fails the test when the exit code is not want.
func (d *deployEnv) elbow(t *testing.T, want int, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append(args, "--console", d.console)...)
	cmd.Env = append(os.Environ(), "ELBOW_TEST_AS_MAIN=1")
	cmd.Dir = d.dir
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != want {
		t.Fatalf("elbow %s: exit %d, want %d:\n%s", strings.Join(args, " "), code, want, out)
	}
	return string(out)
}

// load sends requests from 4 clients until stop is closed (or 60 s, or
// 200,000 requests), counting answers by version and failures.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	byVersion  map[string]int
	firstErr   string
	stop       chan struct{}
	wg         sync.WaitGroup
	counting   atomic.Bool
}

var versionRe = regexp.MustCompile(`version=(\S+)`)

func startLoad(url string) *load {
	l := &load{byVersion: map[string]int{}, stop: make(chan struct{})}
	deadline := time.Now().Add(60 * time.Second)
	for range 4 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for n := 0; n < 50000 && time.Now().Before(deadline); n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				code, body, err := get(client, url)
				if err != nil || code != 200 {
					l.failed.Add(1)
					l.mu.Lock()
					if l.firstErr == "" {
						l.firstErr = fmt.Sprintf("code %d err %v body %q", code, err, body)
					}
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
				if m := versionRe.FindStringSubmatch(body); m != nil && l.counting.Load() {
					l.mu.Lock()
					l.byVersion[m[1]]++
					l.mu.Unlock()
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return l
}

func (l *load) end(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("load: %d ok, %d failed", l.ok.Load(), l.failed.Load())
	if l.failed.Load() != 0 {
		t.Errorf("%d of %d requests failed; first: %s", l.failed.Load(), l.ok.Load()+l.failed.Load(), l.firstErr)
	}
	if l.ok.Load() < 100 {
		t.Errorf("only %d requests succeeded: the load did not run", l.ok.Load())
	}
}

// versionsSeen asks n times and counts the answers by version.
func versionsSeen(t *testing.T, url string, n int) map[string]int {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	seen := map[string]int{}
	for range n {
		code, body, err := get(client, url)
		if err != nil || code != 200 {
			t.Fatalf("GET %s: %d %v", url, code, err)
		}
		if m := versionRe.FindStringSubmatch(body); m != nil {
			seen[m[1]]++
		}
	}
	return seen
}

// inOrder checks that the lines matching each pattern appear in order in out.
func inOrder(t *testing.T, out string, patterns ...string) {
	t.Helper()
	rest := out
	for _, p := range patterns {
		loc := regexp.MustCompile(p).FindStringIndex(rest)
		if loc == nil {
			t.Fatalf("%q not found in order after the previous events in:\n%s", p, out)
		}
		rest = rest[loc[1]:]
	}
}

const rollingYAML = `deployment:
  policy: Rolling
  batch_size_type: Fixed
  batch_size: 1
  timeout: 40
  health_gate: {checks: 2, window: 2}
`

// TestDeployRollingUnderLoad: a good version deployed with Rolling, one
// instance per batch, under load: no request fails, Beanstalk's events in
// order, and every instance ends on the new label.
func TestDeployRollingUnderLoad(t *testing.T) {
	t.Parallel()
	d := startDeployEnv(t, 2, rollingYAML)
	l := startLoad(d.url)
	testutil.Eventually(t, 10*time.Second, func() bool { return l.ok.Load() >= 50 }, "load running")
	d.write(t, "VERSION", "v2\n")
	out := d.elbow(t, 0, "deploy", "--label", "v2", "--message", "second version")
	l.end(t)
	inOrder(t, out,
		`INFO\s+Environment update is starting\.`,
		`INFO\s+Deploying new version to instance\(s\)\.`,
		`Batch 1: Starting application deployment on instance\(s\) \[i-[0-9a-f]{17}\]\.`,
		`Batch 1: De-registering instance\(s\) from the load balancer and waiting for them to go out of service\.`,
		`Command execution completed on 1 of 2 instances in environment\.`,
		`Batch 1: Registering instance\(s\) with the load balancer and waiting for them to be healthy\.`,
		`Batch 1: Completed application deployment\.`,
		`Batch 2: Starting application deployment`,
		`Command execution completed on 2 of 2 instances in environment\.`,
		`New application version was deployed to running EC2 instances\.`,
		`Environment update completed successfully\.`)
	if seen := versionsSeen(t, d.url, 20); seen["v2"] != 20 {
		t.Errorf("after the deployment, answers by version: %v; want every one v2", seen)
	}
	status := d.elbow(t, 0, "status")
	for _, want := range []string{"Deployed Version: v2", "Status: Ready", "Health: Green"} {
		if !strings.Contains(status, want) {
			t.Errorf("elbow status lacks %q:\n%s", want, status)
		}
	}
	if health := d.elbow(t, 0, "health"); strings.Count(health, "v2") < 2 {
		t.Errorf("elbow health does not show v2 on both instances:\n%s", health)
	}
}

// TestDeployRollingBadVersion: a version that fails its health check is
// aborted after the first batch; the old version keeps serving, and
// enhanced health says the versions differ.
func TestDeployRollingBadVersion(t *testing.T) {
	t.Parallel()
	d := startDeployEnv(t, 2, strings.Replace(rollingYAML, "timeout: 40", "timeout: 15", 1))
	d.write(t, "VERSION", "v2\n")
	d.write(t, "HEALTH", "fail\n")
	out := d.elbow(t, 1, "deploy", "--label", "v2")
	inOrder(t, out,
		`Batch 1: Registering instance\(s\) with the load balancer and waiting for them to be healthy\.`,
		`ERROR\s+Instance id\(s\) 'i-[0-9a-f]{17}' did not pass health check after command execution\. Aborting the operation\.`,
		`ERROR\s+Failed to deploy application\.`,
		`ERROR\s+During an aborted deployment, some instances may have deployed the new application version\.`)
	if strings.Contains(out, "Batch 2:") {
		t.Errorf("the deployment went on to batch 2 after batch 1 failed:\n%s", out)
	}
	if seen := versionsSeen(t, d.url, 20); seen["v1"] != 20 {
		t.Errorf("after the failed deployment, answers by version: %v; want every one from v1", seen)
	}
	testutil.Eventually(t, 40*time.Second, func() bool {
		h := d.elbow(t, 0, "health")
		return regexp.MustCompile(`Incorrect application version found on 1 out of 2 instances\. Expected version "app-[0-9_]+" \(deployment 1\)\.`).MatchString(h)
	}, "elbow health shows the mixed-version cause")
}

// TestDeployImmutableBadVersion: Immutable with a failing version launches a
// new instance, finds it unhealthy, terminates it, and leaves the old
// instances exactly as they were.
func TestDeployImmutableBadVersion(t *testing.T) {
	t.Parallel()
	d := startDeployEnv(t, 2, `deployment:
  policy: Immutable
  timeout: 15
  health_gate: {checks: 2, window: 2}
`)
	before := instanceID.FindAllString(d.elbow(t, 0, "health"), -1)
	d.write(t, "VERSION", "v2\n")
	d.write(t, "HEALTH", "fail\n")
	deployed := make(chan string, 1)
	go func() { deployed <- d.elbow(t, 1, "deploy", "--label", "v2") }()
	// A capacity change during the update would terminate its new
	// instances: it waits for the update's end, then applies.
	d.up.waitFor(t, `Created temporary auto scaling group`, 60*time.Second)
	raw, err := os.ReadFile(filepath.Join(d.dir, "elbow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	d.write(t, "elbow.yaml", strings.Replace(string(raw), "  max: 4\n", "  max: 3\n", 1))
	d.up.waitFor(t, `reload of .* waits: an update is in progress`, 20*time.Second)
	out := <-deployed
	d.up.waitFor(t, `reloaded .*instances: min 2, max 3`, 30*time.Second)
	inOrder(t, out,
		`Immutable deployment policy enabled\. Launching one instance with the new settings to verify health\.`,
		`Created temporary auto scaling group`,
		`Failed to deploy application\.`)
	testutil.Eventually(t, 30*time.Second, func() bool {
		after := instanceID.FindAllString(d.elbow(t, 0, "health"), -1)
		return sameSet(before, after)
	}, "the old instances alone remain")
	if seen := versionsSeen(t, d.url, 20); seen["v1"] != 20 {
		t.Errorf("answers by version: %v; want every one from v1", seen)
	}
}

func sameSet(a, b []string) bool {
	set := map[string]bool{}
	for _, x := range a {
		set[x] = true
	}
	other := map[string]bool{}
	for _, x := range b {
		other[x] = true
	}
	if len(set) != len(other) {
		return false
	}
	for x := range set {
		if !other[x] {
			return false
		}
	}
	return true
}

// TestDeployTrafficSplitting: during the evaluation, about
// NewVersionPercent of the requests reach the new version (measured); then
// every request does.
func TestDeployTrafficSplitting(t *testing.T) {
	t.Parallel()
	d := startDeployEnv(t, 2, `deployment:
  policy: TrafficSplitting
  timeout: 40
  new_version_percent: 30
  evaluation_time: 12
  health_gate: {checks: 2, window: 2}
`)
	d.write(t, "VERSION", "v2\n")
	l := startLoad(d.url)
	deployed := make(chan string, 1)
	go func() { deployed <- d.elbow(t, 0, "deploy", "--label", "v2") }()
	// Traffic shifts once the new instances are healthy; the evaluation
	// then runs for evaluation_time.
	d.up.waitFor(t, `Shifting 30% of traffic to the new instance`, 90*time.Second)
	d.up.waitFor(t, `Evaluating the health of the new instance\(s\) for 12 seconds\.`, 90*time.Second)
	l.counting.Store(true)
	time.Sleep(8 * time.Second)
	l.counting.Store(false)
	out := <-deployed
	l.end(t)
	l.mu.Lock()
	v1, v2 := l.byVersion["v1"], l.byVersion["v2"]
	l.mu.Unlock()
	share := float64(v2) / float64(v1+v2)
	t.Logf("during the evaluation: v1 %d, v2 %d (%.1f %% to v2)", v1, v2, 100*share)
	if v1+v2 < 200 || share < 0.20 || share > 0.40 {
		t.Errorf("during the evaluation %.1f %% of %d requests reached v2; want about 30 %%", 100*share, v1+v2)
	}
	if !strings.Contains(out, "Environment update completed successfully.") {
		t.Errorf("the deployment did not complete:\n%s", out)
	}
	if seen := versionsSeen(t, d.url, 20); seen["v2"] != 20 {
		t.Errorf("after the deployment, answers by version: %v; want every one v2", seen)
	}
}

// TestConfigUpdateRollingUnderLoad: an instance variable changed in the
// file under load is applied as a rolling configuration update, with no
// failed request, and every instance ends with the new value.
func TestConfigUpdateRollingUnderLoad(t *testing.T) {
	t.Parallel()
	d := startDeployEnv(t, 2, `rolling_update:
  enabled: true
  type: Health
  max_batch_size: 1
deployment:
  timeout: 40
  health_gate: {checks: 2, window: 2}
`)
	l := startLoad(d.url)
	testutil.Eventually(t, 10*time.Second, func() bool { return l.ok.Load() >= 50 }, "load running")
	raw, err := os.ReadFile(filepath.Join(d.dir, "elbow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	d.write(t, "elbow.yaml", strings.Replace(string(raw), "GREETING: hello", "GREETING: bonjour", 1))
	d.up.waitFor(t, `configuration update of the instances`, 20*time.Second)
	d.up.waitFor(t, `Environment update completed successfully\.`, 120*time.Second)
	l.end(t)
	client := &http.Client{Timeout: 5 * time.Second}
	for range 10 {
		_, body, err := get(client, d.url)
		if err != nil || !strings.Contains(body, "greeting=bonjour") {
			t.Fatalf("after the update: %q %v; want greeting=bonjour", body, err)
		}
	}
}

// TestAutoScalingOnRequestCount: load drives RequestCount past the upper
// threshold, and instances are added up to Max; without load they are
// removed down to Min; Cooldown separates the activities.
func TestAutoScalingOnRequestCount(t *testing.T) {
	t.Parallel()
	d := startDeployEnv(t, 1, `auto_scaling:
  cooldown: 4
  trigger:
    measure_name: RequestCount
    statistic: Sum
    unit: Count
    period: 2
    breach_duration: 2
    upper_threshold: 100
    lower_threshold: 10
    upper_breach_scale_increment: 1
    lower_breach_scale_increment: -1
`)
	l := startLoad(d.url)
	d.up.waitForN(t, `Added instance \[i-[0-9a-f]{17}\] to your environment\.`, 3, 60*time.Second)
	l.end(t)
	d.up.waitForN(t, `Removed instance \[i-[0-9a-f]{17}\] from your environment\.`, 2, 60*time.Second)
	out := d.up.output()
	if n := strings.Count(out, "Added instance ["); n > 4 {
		t.Errorf("%d instances added; max is 4 (1 at start)", n)
	}
	times := scalingTimes(out)
	if len(times) < 4 {
		t.Errorf("%d scaling activities of the trigger; want at least 4 (two out, two in):\n%s", len(times), out)
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < 4*time.Second {
			t.Errorf("scaling activities %v apart; cooldown is 4 s:\n%s", gap, out)
		}
	}
}

// scalingTimes are the times of the trigger's scaling activities, read
// from the events up prints.
func scalingTimes(out string) []time.Time {
	var times []time.Time
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "Auto scaling trigger:") || !strings.Contains(line, "Changing the desired capacity") {
			continue
		}
		if ts, err := time.ParseInLocation("15:04:05", strings.Fields(line)[0], time.Local); err == nil {
			times = append(times, ts)
		}
	}
	return times
}

// TestEBProjectDeployAndConfigUpdate: a Beanstalk project (examples/eb-node
// through real nginx) gets a new version with a Rolling deployment, each
// instance's engine deploying it as on a first launch; then an environment
// property added to .ebextensions is applied as a configuration update.
func TestEBProjectDeployAndConfigUpdate(t *testing.T) {
	testutil.RequireProgram(t, "nginx")
	testutil.RequireProgram(t, "npm")
	project := copyExample(t, "eb-node", `  aws:autoscaling:asg:
    MinSize: '2'
  aws:elasticbeanstalk:command:
    DeploymentPolicy: Rolling
    BatchSizeType: Fixed
    BatchSize: '1'
`)
	listen := freePort(t)
	yaml := fmt.Sprintf(`instances:
  metadata_options: {port: %d}
listeners:
  - port: %d
    default_action: {target_group: default}
console:
  address: 127.0.0.1:0
deployment:
  health_gate: {checks: 2, window: 2}
`, freePort(t), listen)
	if err := os.WriteFile(filepath.Join(project, "elbow.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startUpIn(t, project, nil, "up")
	p.waitFor(t, `is up`, 30*time.Second)
	p.waitForN(t, `:(80|10080)\) in default: healthy$`, 2, 90*time.Second)
	d := &deployEnv{dir: project, up: p, url: fmt.Sprintf("http://127.0.0.1:%d/", listen),
		console: regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, time.Second))[1]}

	server, err := os.ReadFile(filepath.Join(project, "server.js"))
	if err != nil {
		t.Fatal(err)
	}
	d.write(t, "server.js", strings.Replace(string(server), "Hello from Node.js on", "Hello from Node.js v2 on", 1))
	out := d.elbow(t, 0, "deploy", "--label", "node-v2")
	inOrder(t, out,
		`Batch 1: Starting application deployment command execution\.`,
		`Instance deployment completed successfully\.`,
		`Command execution completed on 1 of 2 instances in environment\.`,
		`Batch 2: Starting application deployment`,
		`Environment update completed successfully\.`)
	client := &http.Client{Timeout: 5 * time.Second}
	for range 10 {
		code, body, err := get(client, d.url)
		if err != nil || code != 200 || !strings.Contains(body, "Node.js v2 on") {
			t.Fatalf("after the deployment: %d %q %v; want the v2 greeting", code, body, err)
		}
	}

	cfg, err := os.ReadFile(filepath.Join(project, ".ebextensions", "99_test.config"))
	if err != nil {
		t.Fatal(err)
	}
	d.write(t, filepath.Join(".ebextensions", "99_test.config"), string(cfg)+"  aws:elasticbeanstalk:application:environment:\n    GREETING: bonjour\n")
	p.waitFor(t, `applied .*configuration update of the instances`, 20*time.Second)
	p.waitFor(t, `Successfully deployed new configuration to environment\.`, 120*time.Second)
	if status := d.elbow(t, 0, "status"); !strings.Contains(status, "Deployed Version: node-v2") {
		t.Errorf("elbow status after the configuration update:\n%s", status)
	}

	// Immutable, with a version whose prebuild hook fails: the new
	// instance's engine says so, the instance is terminated, and the two
	// running ones are left as they were.
	cfg, err = os.ReadFile(filepath.Join(project, ".ebextensions", "99_test.config"))
	if err != nil {
		t.Fatal(err)
	}
	d.write(t, filepath.Join(".ebextensions", "99_test.config"), strings.Replace(string(cfg), "DeploymentPolicy: Rolling", "DeploymentPolicy: Immutable", 1))
	p.waitFor(t, `applied .*deployment policy: Immutable`, 20*time.Second)
	hooks := filepath.Join(project, ".platform", "hooks", "prebuild")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hooks, "01_fail.sh"), []byte("#!/bin/sh\necho failing on purpose\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out = d.elbow(t, 1, "deploy", "--label", "node-bad")
	inOrder(t, out, `Immutable deployment policy enabled`, `Instance deployment failed`, `Failed to deploy application\.`)
	testutil.Eventually(t, 30*time.Second, func() bool {
		return strings.Contains(d.elbow(t, 0, "status"), "Running instances: 2")
	}, "the failed new instance terminated, the two old ones left")
	if status := d.elbow(t, 0, "status"); !strings.Contains(status, "Deployed Version: node-v2") {
		t.Errorf("elbow status after the failed deployment:\n%s", status)
	}
}

// TestELBHealthCheckTypeReplacesInstance: with health_check_type ELB, an
// instance whose app hangs (SIGSTOP: its process is still there, so an EC2
// status check would pass) fails its ELB health checks and is replaced
// after the grace period, as Auto Scaling does.
func TestELBHealthCheckTypeReplacesInstance(t *testing.T) {
	t.Parallel()
	d := startDeployEnv(t, 2, `auto_scaling:
  health_check_type: ELB
  health_check_grace_period: 5
`)
	victim := 0
	for _, pid := range markedProcesses(d.up.marker) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if bytes.Contains(cmdline, []byte("app.py")) && bytes.Contains(env, []byte("\x00HOST=127.0.0.3\x00")) {
			victim = pid
		}
	}
	if victim == 0 {
		t.Fatal("no app process on 127.0.0.3")
	}
	id := regexp.MustCompile(`instance\s+(i-[0-9a-f]{17})\s+127\.0\.0\.3:`).FindStringSubmatch(d.up.output())
	if id == nil {
		t.Fatal("no instance on 127.0.0.3 in elbow up's output")
	}
	syscall.Kill(victim, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(victim, syscall.SIGKILL) })
	d.up.waitFor(t, regexp.QuoteMeta(id[1])+`.*ELB system health check failure`, 60*time.Second)
	d.up.waitFor(t, `Removed instance \[`+id[1]+`\] from your environment\.`, 60*time.Second)
	d.up.waitForN(t, `Added instance \[i-[0-9a-f]{17}\] to your environment\.`, 3, 30*time.Second)
	d.up.waitForN(t, `in web: healthy`, 3, 30*time.Second)
}
