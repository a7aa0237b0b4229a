package environment

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console"
)

func reload(t *testing.T, f *fixture, next *config.Config) []string {
	t.Helper()
	applied, err := f.env.Reload(context.Background(), next)
	if err != nil {
		t.Fatalf("Reload: %v (applied %q)", err, applied)
	}
	if f.env.Config() != next {
		t.Errorf("Config() is not the reloaded config")
	}
	return applied
}

func wantApplied(t *testing.T, applied []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(applied, w) {
			t.Errorf("applied %q, want %q among them", applied, w)
		}
	}
}

func wantAnswer(t *testing.T, url string, code int, body string) {
	t.Helper()
	c, b, err := get(url)
	if err != nil || c != code || (body != "" && b != body) {
		t.Errorf("GET %s: %d %q %v, want %d %q", url, c, b, err, code, body)
	}
}

// TestReloadTargetGroups: a group added with a rule that forwards to it
// takes the rule's requests (503: no targets registered in it); removed with
// its rule, the requests go back to the default action.
func TestReloadTargetGroups(t *testing.T) {
	f := start(t, baseYAML)
	wantAnswer(t, f.url("listen")+"/api/x", 200, "web")

	withAPI := baseYAML + `
    rules:
      - priority: 1
        conditions: [{path_pattern: ["/api/*"]}]
        action: {target_group: api}
`
	withAPI = strings.Replace(withAPI, "listeners:\n", "  - name: api\n    health_check: {path: /}\nlisteners:\n", 1)
	applied := reload(t, f, f.parse(t, withAPI))
	wantApplied(t, applied, "target group api added", "listener rules and actions")
	if f.env.Group("api") == nil || f.env.Groups()["api"] == nil {
		t.Fatal("group api is not running after the reload")
	}
	wantAnswer(t, f.url("listen")+"/api/x", 503, "")
	wantAnswer(t, f.url("listen")+"/", 200, "web")

	applied = reload(t, f, f.parse(t, baseYAML))
	wantApplied(t, applied, "target group api removed", "listener rules and actions")
	if f.env.Group("api") != nil {
		t.Error("group api still there after its removal")
	}
	wantAnswer(t, f.url("listen")+"/api/x", 200, "web")

	// Added again, it is a new group with its own checker, not the stopped one.
	old := f.env.Group("web")
	applied = reload(t, f, f.parse(t, withAPI))
	wantApplied(t, applied, "target group api added")
	if f.env.Group("api") == nil || f.env.Group("web") != old {
		t.Error("groups after adding api again")
	}
	wantAnswer(t, f.url("listen")+"/api/x", 503, "")
}

// TestReloadListeners: a listener added serves at once; removed, it stops
// listening; the first listener serves throughout.
func TestReloadListeners(t *testing.T) {
	f := start(t, baseYAML)
	two := baseYAML + `  - port: {{second}}
    default_action:
      fixed_response: {status_code: "200", message_body: second}
`
	applied := reload(t, f, f.parse(t, two))
	wantApplied(t, applied, fmt.Sprintf("listener HTTP %s added", f.url("second")))
	wantAnswer(t, f.url("second")+"/", 200, "second")
	if n := len(f.env.Listeners()); n != 2 {
		t.Errorf("%d listeners, want 2", n)
	}

	applied = reload(t, f, f.parse(t, baseYAML))
	wantApplied(t, applied, fmt.Sprintf("listener HTTP %s removed", f.url("second")))
	if _, _, err := get(f.url("second") + "/"); err == nil {
		t.Error("the removed listener still answers")
	}
	wantAnswer(t, f.url("listen")+"/", 200, "web")
}

// TestReloadHealthCheckAndDelay: health check settings and the
// deregistration delay apply to the running group.
func TestReloadHealthCheckAndDelay(t *testing.T) {
	f := start(t, baseYAML)
	next := f.parse(t, strings.Replace(baseYAML, "{path: /health}", "{path: /ready, interval: 10, matcher: \"200-299\"}\n    deregistration_delay: 7", 1))
	applied := reload(t, f, next)
	g := f.env.Group("web")
	if hc := g.HealthCheck(); hc.Path != "/ready" || hc.Interval != 10*time.Second || hc.Matcher.String() != "200-299" {
		t.Errorf("health check after the reload: %+v", hc)
	}
	if d := g.DeregistrationDelay(); d != 7*time.Second {
		t.Errorf("deregistration delay %v, want 7s", d)
	}
	wantApplied(t, applied, "target group web deregistration delay: 7 s")
	if len(applied) != 2 || !strings.Contains(applied[0], "target group web health check: HTTP /ready port traffic-port, interval 10 s") {
		t.Errorf("applied %q", applied)
	}

	// The same file again changes nothing.
	if applied := reload(t, f, f.parse(t, strings.Replace(baseYAML, "{path: /health}", "{path: /ready, interval: 10, matcher: \"200-299\"}\n    deregistration_delay: 7", 1))); len(applied) != 0 {
		t.Errorf("the same file applied %q", applied)
	}
}

// TestReloadNeedsRestart: each change a running environment cannot take is
// refused, named by its key, with nothing applied: not even the live change
// (a health check interval) that comes with it.
func TestReloadNeedsRestart(t *testing.T) {
	f := start(t, baseYAML)
	before := f.env.Config()
	cases := []struct {
		key    string
		change func(c *config.Config)
	}{
		{"name", func(c *config.Config) { c.Name = "other" }},
		{"region", func(c *config.Config) { c.Region = "eu-west-1" }},
		{"instances.targets", func(c *config.Config) { c.Instances.Targets = append(c.Instances.Targets, "127.0.0.1:1") }},
		{"instances.log_dir", func(c *config.Config) { c.Instances.LogDir = "logs" }},
		{"load_balancer.public_host", func(c *config.Config) { c.LoadBalancer.PublicHost = "www.example.org" }},
		{"console.address", func(c *config.Config) { c.Console.Address = "127.0.0.1:1" }},
		{"console.credentials", func(c *config.Config) {
			c.Console.Credentials = &config.ConsoleCredentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "s"}
		}},
		// The monitor is built with the thresholds: before config.Diff, this
		// change was taken as applied while the monitor kept the old ones.
		{"enhanced_health.cpu.warning", func(c *config.Config) { c.EnhancedHealth.CPU.Warning = 80 }},
		{"target_groups[web].protocol", func(c *config.Config) { c.TargetGroups[0].Protocol = "HTTPS" }},
		{"target_groups[web].port", func(c *config.Config) { c.TargetGroups[0].Port = 9000 }},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			next := f.parse(t, baseYAML)
			next.TargetGroups[0].HealthCheck.Interval = 10
			tc.change(next)
			applied, err := f.env.Reload(context.Background(), next)
			if !errors.Is(err, ErrNeedsRestart) {
				t.Fatalf("Reload: %v, want ErrNeedsRestart", err)
			}
			if want := tc.key + " changed: needs a restart of elbow up"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if applied != nil || f.env.Config() != before {
				t.Errorf("applied %q, config replaced: %v", applied, f.env.Config() != before)
			}
			if iv := f.env.Group("web").HealthCheck().Interval; iv != 15*time.Second {
				t.Errorf("the health check changed to interval %v although the reload was refused", iv)
			}
		})
	}

	// Several at once: one line each.
	next := f.parse(t, baseYAML)
	next.Name, next.Console.Address = "other", "127.0.0.1:1"
	_, err := f.env.Reload(context.Background(), next)
	if err == nil || strings.Count(err.Error(), "needs a restart") != 2 {
		t.Errorf("two refused keys: %v", err)
	}
}

// TestReloadWithConsoleCredentials: the same credentials in the reloaded
// file are no change. Before config.Diff the console block was compared with
// ==, which compares the credentials' pointers, so every reload of a file
// with credentials was refused as "console.address changed".
func TestReloadWithConsoleCredentials(t *testing.T) {
	yaml := strings.Replace(baseYAML, "  address: 127.0.0.1:0\n",
		"  address: 127.0.0.1:0\n  credentials: {access_key_id: AKIAIOSFODNN7EXAMPLE, secret_access_key: wJalrXUtnFEMI}\n", 1)
	f := start(t, yaml)
	applied := reload(t, f, f.parse(t, strings.Replace(yaml, "{path: /health}", "{path: /ready}", 1)))
	if len(applied) != 1 || !strings.HasPrefix(applied[0], "target group web health check: HTTP /ready") {
		t.Errorf("applied %q", applied)
	}
}

// TestModifyHealthCheck: the console's change reaches the running group and
// the environment's config, and is reported; a group the environment does
// not have is the console's TargetGroupNotFound.
func TestModifyHealthCheck(t *testing.T) {
	f := start(t, baseYAML)
	hc := f.env.Config().TargetGroup("web").HealthCheck
	hc.Path, hc.HealthyThreshold = "/ready", 2
	delay := 9
	if err := f.env.ModifyHealthCheck("web", hc, &delay); err != nil {
		t.Fatal(err)
	}
	g := f.env.Group("web")
	if s := g.HealthCheck(); s.Path != "/ready" || s.HealthyThreshold != 2 {
		t.Errorf("group's health check %+v", s)
	}
	if d := g.DeregistrationDelay(); d != 9*time.Second {
		t.Errorf("deregistration delay %v, want 9s", d)
	}
	if tg := f.env.Config().TargetGroup("web"); tg.HealthCheck != hc || tg.DeregistrationDelay != 9 {
		t.Errorf("config after the change: %+v", tg)
	}
	if !slices.ContainsFunc(f.messages(), func(m string) bool {
		return strings.HasPrefix(m, "Target group web modified: health check HTTP /ready")
	}) {
		t.Errorf("no event for the change: %q", f.messages())
	}

	// nil delay keeps it.
	hc.Path = "/"
	if err := f.env.ModifyHealthCheck("web", hc, nil); err != nil {
		t.Fatal(err)
	}
	if d := g.DeregistrationDelay(); d != 9*time.Second || f.env.Config().TargetGroup("web").DeregistrationDelay != 9 {
		t.Errorf("deregistration delay %v after a change without one", d)
	}

	err := f.env.ModifyHealthCheck("nope", hc, nil)
	if !errors.Is(err, console.ErrTargetGroupNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown group: %v, want console.ErrTargetGroupNotFound naming it", err)
	}
}

// TestReloadLoadBalancerAttributes: the load balancer and target group
// attributes AWS changes live (ModifyLoadBalancerAttributes,
// ModifyTargetGroupAttributes) apply to the running environment: the access
// log appears beside the config, a request with both framings gets 400 in
// strictest mode, the group takes its new algorithm and slow start. An
// access log path that cannot be opened changes nothing.
func TestReloadLoadBalancerAttributes(t *testing.T) {
	f := start(t, baseYAML)
	bad := f.parse(t, baseYAML+"load_balancer:\n  access_logs: {enabled: true, path: missing/access.log}\n  idle_timeout: 5\n")
	before := f.env.Config()
	if applied, err := f.env.Reload(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "missing") || applied != nil {
		t.Fatalf("an access log that cannot be opened: applied %q, err %v", applied, err)
	}
	if f.env.Config() != before {
		t.Fatal("the config was replaced by a reload that failed")
	}

	withAttrs := strings.Replace(baseYAML, "{path: /health}", "{path: /health}\n    slow_start: 30\n    load_balancing_algorithm_type: weighted_random", 1) +
		"load_balancer:\n  access_logs: {enabled: true, path: access.log}\n  desync_mitigation_mode: strictest\n  idle_timeout: 5\n  drop_invalid_header_fields: true\n"
	applied := reload(t, f, f.parse(t, withAttrs))
	wantApplied(t, applied, "load balancer idle timeout: 5 s", "load balancer drop invalid header fields: true",
		"load balancer desync mitigation mode: strictest", "load balancer access logs: enabled, to access.log",
		"target group web slow start: 30 s", "target group web load balancing algorithm: weighted_random")
	g := f.env.Group("web")
	if g.Algorithm() != "weighted_random" || g.SlowStart() != 30*time.Second {
		t.Errorf("group after the reload: algorithm %s, slow start %v", g.Algorithm(), g.SlowStart())
	}
	wantAnswer(t, f.url("listen")+"/logged", 200, "web")

	nc, err := net.DialTimeout("tcp", "127.0.0.1:"+f.vars["listen"], 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(nc, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || res.StatusCode != 400 {
		t.Fatalf("strictest, reloaded: a request with both framings got %v %v, want 400", res, err)
	}

	// Disabled again: the file keeps what it had.
	wantApplied(t, reload(t, f, f.parse(t, baseYAML)), "load balancer access logs: disabled")
	wantAnswer(t, f.url("listen")+"/after", 200, "web")
	log, err := os.ReadFile(filepath.Join(filepath.Dir(f.file), "access.log"))
	if err != nil || !strings.Contains(string(log), "/logged") || strings.Contains(string(log), "/after") {
		t.Errorf("access log %q (%v): want /logged and not /after", log, err)
	}
}
