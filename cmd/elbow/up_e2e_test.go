package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// upProcess is `elbow up` running as a child process (the test binary in
// main mode), with its output collected line by line.
type upProcess struct {
	cmd    *exec.Cmd
	marker string
	mu     sync.Mutex
	lines  []string
	added  chan struct{}
}

// freePort finds a port free on every loopback address the test uses.
func freePort(t *testing.T) int {
	return testutil.FreePortOnAll(t, "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
}

func startUp(t *testing.T, yaml string) *upProcess {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "elbow.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return startUpIn(t, dir, nil, "up", "-c", path)
}

// startUpIn runs `elbow ARGS` (up and its flags) in dir, with env added to
// the test's environment.
func startUpIn(t *testing.T, dir string, env []string, args ...string) *upProcess {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	p := &upProcess{marker: "ELBOW_E2E_MARKER=" + hex.EncodeToString(b), added: make(chan struct{}, 1)}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = append(append(os.Environ(), env...), "ELBOW_TEST_AS_MAIN=1", p.marker, "GORACE=atexit_sleep_ms=0")
	p.cmd.Dir = dir
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.added <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { p.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				p.cmd.Process.Kill()
			}
		}
		killMarked(p.marker)
		if t.Failed() {
			t.Logf("elbow up output:\n%s", p.output())
		}
	})
	return p
}

func (p *upProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitFor waits until a line matches re, and returns it.
func (p *upProcess) waitFor(t *testing.T, re string, within time.Duration) string {
	t.Helper()
	return p.waitForN(t, re, 1, within)
}

// waitForN waits until n lines match re, and returns the last.
func (p *upProcess) waitForN(t *testing.T, re string, n int, within time.Duration) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(within)
	for {
		p.mu.Lock()
		lines := append([]string(nil), p.lines...)
		p.mu.Unlock()
		found := 0
		for _, l := range lines {
			if rx.MatchString(l) {
				if found++; found == n {
					return l
				}
			}
		}
		select {
		case <-p.added:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("not %d line(s) matching %q within %v", n, re, within)
		}
	}
}

// markedProcesses lists the pids whose environment holds marker.
func markedProcesses(marker string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		if bytes.Contains(env, []byte(marker+"\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func killMarked(marker string) {
	for _, pid := range markedProcesses(marker) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// appPID finds the app process of the instance on ip (not its supervisor).
func appPID(marker, ip string) int {
	for _, pid := range markedProcesses(marker) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if bytes.HasPrefix(cmdline, []byte("elbow-supervisor")) || !bytes.Contains(cmdline, []byte("sample-app")) {
			continue
		}
		if bytes.Contains(env, []byte("\x00HOST="+ip+"\x00")) {
			return pid
		}
	}
	return 0
}

func sampleYAML(instances, appPort, imdsPort, listenPort int) string {
	return fmt.Sprintf(`name: e2e
instances:
  sample_app: true
  port: %d
  min: %d
  max: 4
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
`, appPort, instances, imdsPort, listenPort)
}

func get(client *http.Client, url string) (int, string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

var instanceID = regexp.MustCompile(`i-[0-9a-f]{17}`)

// TestUpServesAndLeavesNoOrphans: the sample environment answers through
// the listener from both instances, each page read from its own metadata
// service; SIGKILL of elbow leaves no process behind.
func TestUpServesAndLeavesNoOrphans(t *testing.T) {
	t.Parallel()
	listen := freePort(t)
	p := startUp(t, sampleYAML(2, freePort(t), freePort(t), listen))
	p.waitFor(t, `is up`, 30*time.Second)
	p.waitForN(t, `in web: healthy`, 2, 20*time.Second)

	client := &http.Client{Timeout: 5 * time.Second}
	seen := map[string]bool{}
	for i := 0; i < 20 && len(seen) < 2; i++ {
		code, body, err := get(client, fmt.Sprintf("http://127.0.0.1:%d/", listen))
		if err != nil || code != 200 {
			t.Fatalf("GET through the listener: %d %v", code, err)
		}
		if id := instanceID.FindString(body); id != "" {
			seen[id] = true
		}
	}
	if len(seen) != 2 {
		t.Fatalf("pages came from %d instance(s), want 2 (round robin): %v", len(seen), seen)
	}
	out := p.output()
	for id := range seen {
		if !strings.Contains(out, id) {
			t.Errorf("instance %s answered but elbow up did not print it", id)
		}
	}
	// Each instance's output is kept: its tail through the console, all of it in a file.
	consoleURL := regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, time.Second))[1]
	for id := range seen {
		var tail struct {
			Lines   []string
			LogFile string
		}
		getJSON(t, consoleURL+"/api/v1/instances/"+id+"/log?lines=50", &tail)
		if !strings.Contains(strings.Join(tail.Lines, "\n"), "sample app listening") {
			t.Errorf("log tail of %s lacks the app's start line: %q", id, tail.Lines)
		}
		if b, err := os.ReadFile(tail.LogFile); err != nil || !strings.Contains(string(b), "sample app listening") {
			t.Errorf("log file %q of %s: %v", tail.LogFile, id, err)
		}
	}
	if n := len(markedProcesses(p.marker)); n < 5 { // elbow, 2 supervisors, 2 apps
		t.Fatalf("%d processes before the kill, want at least 5", n)
	}

	p.cmd.Process.Kill()
	p.cmd.Wait()
	testutil.Eventually(t, 10*time.Second, func() bool { return len(markedProcesses(p.marker)) == 0 },
		"processes left 10s after SIGKILL of elbow")
}

// TestUpKillInstanceUnderLoad: an instance killed with SIGKILL under load is
// restarted (an event says so) and clients see no error, thanks to the
// load balancer's retry of requests that failed to connect.
func TestUpKillInstanceUnderLoad(t *testing.T) {
	t.Parallel()
	listen := freePort(t)
	p := startUp(t, sampleYAML(3, freePort(t), freePort(t), listen))
	p.waitFor(t, `is up`, 30*time.Second)
	p.waitForN(t, `in web: healthy`, 3, 20*time.Second)

	url := fmt.Sprintf("http://127.0.0.1:%d/health", listen)
	// Load runs for a bounded time and count; the kill lands in its middle.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	var ok, failed, afterKill atomic.Int64
	var killed atomic.Bool
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for n := 0; n < 100000 && ctx.Err() == nil; n++ {
				code, _, err := get(client, url)
				if err != nil || code != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("code %d err %v", code, err))
					continue
				}
				ok.Add(1)
				if killed.Load() {
					afterKill.Add(1)
				}
			}
		}()
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return ok.Load() >= 100 }, "100 requests through before the kill")
	victim := appPID(p.marker, "127.0.0.3")
	if victim == 0 {
		t.Fatal("no app process for 127.0.0.3")
	}
	syscall.Kill(victim, syscall.SIGKILL)
	killed.Store(true)
	wg.Wait()
	t.Logf("%d requests, %d after the kill, %d failed", ok.Load()+failed.Load(), afterKill.Load(), failed.Load())
	if afterKill.Load() < 100 {
		t.Errorf("only %d requests after the kill: the load did not cover it", afterKill.Load())
	}

	if failed.Load() != 0 {
		t.Errorf("%d of %d client requests failed while an instance was killed; first: %v", failed.Load(), ok.Load()+failed.Load(), firstErr.Load())
	}
	if ok.Load() < 100 {
		t.Errorf("only %d requests succeeded", ok.Load())
	}
	p.waitFor(t, `\(127\.0\.0\.3\).*(was killed|exited).*restart`, 10*time.Second)
	p.waitFor(t, `restarted|Restarted`, 10*time.Second)
	if pid := appPID(p.marker, "127.0.0.3"); pid == 0 || pid == victim {
		t.Errorf("instance on 127.0.0.3 not restarted (pid %d, killed %d)", pid, victim)
	}
}

// TestUpReloadsConfig: a valid change to elbow.yaml applies live under load
// with no failed request (health check, instance count); an invalid file is
// refused with its errors, and the environment keeps serving as it was.
func TestUpReloadsConfig(t *testing.T) {
	t.Parallel()
	listen, appPort, imdsPort := freePort(t), freePort(t), freePort(t)
	yaml := sampleYAML(2, appPort, imdsPort, listen)
	p := startUp(t, yaml)
	path := p.cmd.Args[3]
	p.waitFor(t, `is up`, 30*time.Second)
	p.waitForN(t, `in web: healthy`, 2, 20*time.Second)

	url := fmt.Sprintf("http://127.0.0.1:%d/health", listen)
	ctx, cancel := context.WithCancel(context.Background())
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for n := 0; n < 200000 && ctx.Err() == nil; n++ {
				if code, _, err := get(client, url); err != nil || code != 200 {
					failed.Add(1)
					continue
				}
				ok.Add(1)
			}
		}()
	}

	changed := strings.Replace(yaml, "  min: 2\n", "  min: 3\n", 1)
	changed = strings.Replace(changed, "      path: /health\n", "      path: /health\n      matcher: \"200-299\"\n", 1)
	second := freePort(t)
	changed = strings.Replace(changed, "listeners:\n", fmt.Sprintf("listeners:\n  - port: %d\n    default_action:\n      fixed_response: {status_code: \"200\", message_body: second}\n", second), 1)
	if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	line := p.waitFor(t, `reloaded .*applied`, 10*time.Second)
	for _, want := range []string{"matcher 200-299", "instances: min 3", fmt.Sprintf("listener HTTP http://127.0.0.1:%d added", second)} {
		if !strings.Contains(line, want) {
			t.Errorf("reload line %q does not say %q", line, want)
		}
	}
	p.waitFor(t, `127\.0\.0\.4:\d+\) in web: healthy`, 20*time.Second)
	if code, body, err := get(&http.Client{Timeout: 5 * time.Second}, fmt.Sprintf("http://127.0.0.1:%d/", second)); err != nil || code != 200 || body != "second" {
		t.Errorf("the listener added by the reload: %d %q %v", code, body, err)
	}

	invalid := strings.Replace(changed, "interval: 5", "interval: 3", 1)
	os.WriteFile(path, []byte(invalid), 0o644)
	p.waitFor(t, `reload of .* refused, the environment is unchanged; 1 error`, 10*time.Second)
	p.waitFor(t, `target_groups\[0\]\.health_check\.interval: 3 is out of range: must be between 5 and 300 seconds`, 5*time.Second)
	// The load goes on after the refused reload.
	after := ok.Load()
	testutil.Eventually(t, 10*time.Second, func() bool { return ok.Load() >= after+50 }, "50 requests after the refused reload")
	cancel()
	wg.Wait()
	if failed.Load() != 0 || ok.Load() < 100 {
		t.Errorf("%d requests failed, %d succeeded during the reloads", failed.Load(), ok.Load())
	}
	if n := strings.Count(p.output(), "Added instance"); n != 3 {
		t.Errorf("%d instances added, want 3", n)
	}
}

// TestUpExistingTargets: instances.targets registers servers that already
// run; elbow checks and balances them, and shows them by IP as ip targets.
func TestUpExistingTargets(t *testing.T) {
	t.Parallel()
	var addrs []string
	for _, ip := range []string{"127.0.0.6", "127.0.0.7"} {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "server %s", ip)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		addrs = append(addrs, ln.Addr().String())
	}
	listen := freePort(t)
	p := startUp(t, fmt.Sprintf(`name: e2e-targets
instances:
  targets: [%s, %s]
  port: 8000
target_groups:
  - name: web
    health_check: {interval: 5, timeout: 2}
listeners:
  - port: %d
    default_action:
      target_group: web
console:
  address: 127.0.0.1:0
`, addrs[0], addrs[1], listen))
	p.waitForN(t, `Target 127\.0\.0\.[67] \(127\.0\.0\.[67]:\d+\) in web: healthy`, 2, 30*time.Second)
	seen := map[string]bool{}
	client := &http.Client{Timeout: 5 * time.Second}
	for range 10 {
		code, body, err := get(client, fmt.Sprintf("http://127.0.0.1:%d/", listen))
		if err != nil || code != 200 {
			t.Fatalf("through the listener: %d %v", code, err)
		}
		seen[body] = true
	}
	if !seen["server 127.0.0.6"] || !seen["server 127.0.0.7"] {
		t.Errorf("answers came from %v, want both servers", seen)
	}
}
