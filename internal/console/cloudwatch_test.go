package console

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/proxy"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestALBMetricsFromRealTraffic: a 404 from a target counts as Target 4XX,
// a 502 for a dead target as ELB 5XX and a target connection error, and
// the connections and bytes move; promtool accepts the exposition.
func TestALBMetricsFromRealTraffic(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(app.Close)
	live, _ := hostPort(t, app.URL)
	_, livePort := hostPort(t, app.URL)
	dead := freeAddr(t)
	deadIP, deadPort := hostPort(t, "http://"+dead)
	webAddr, downAddr, tlsAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	_, webPort := hostPort(t, "http://"+webAddr)
	_, downPort := hostPort(t, "http://"+downAddr)
	_, tlsPort := hostPort(t, "http://"+tlsAddr)
	yaml := fmt.Sprintf(`
name: metrics-test
instances:
  targets: ["%s"]
target_groups:
  - name: web
  - name: down
  - name: tls
    protocol: HTTPS
listeners:
  - port: %d
    default_action: {target_group: web}
  - port: %d
    default_action: {target_group: down}
  - port: %d
    default_action: {target_group: tls}
`, app.Listener.Addr().String(), webPort, downPort, tlsPort)
	file := filepath.Join(t.TempDir(), "elbow.yaml")
	cfg, err := config.Parse(file, []byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	groups := proxy.Groups{}
	for _, tg := range cfg.TargetGroups {
		g, err := targetgroup.New(tg, targetgroup.Options{})
		if err != nil {
			t.Fatal(err)
		}
		groups[tg.Name] = g
	}
	groups["web"].Register(healthcheck.Target{ID: "i-live", IP: live, Port: livePort})
	groups["down"].Register(healthcheck.Target{ID: "i-dead", IP: deadIP, Port: deadPort})
	// An HTTPS group whose target speaks plain HTTP: the handshake fails.
	groups["tls"].Register(healthcheck.Target{ID: "i-plain", IP: live, Port: livePort})

	var c *Console
	var p *proxy.Proxy
	c = New(Options{LoadBalancerStats: func() proxy.Stats { return p.Stats() },
		TargetGroups: Groups(groups["web"], groups["down"])})
	p, err = proxy.New(cfg, groups, proxy.Options{Recorder: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
	})
	for _, tc := range []struct {
		addr string
		want int
	}{{webAddr, 404}, {downAddr, 502}, {tlsAddr, 502}} {
		resp, err := http.Get("http://" + tc.addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("%s: status %d, want %d", tc.addr, resp.StatusCode, tc.want)
		}
	}
	url := serve(t, c)
	lb := p.Stats().LoadBalancer
	counter := func(name, labels string) float64 {
		t.Helper()
		var got float64
		// The recorder runs off the request path: wait for it.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			m, ok := series(t, scrape(t, url), name)[labels]
			if ok {
				if got = m.GetCounter().GetValue(); got > 0 {
					return got
				}
			}
		}
		return got
	}
	for _, tc := range []struct{ name, labels string }{
		{"elbow_alb_httpcode_target_total", fmt.Sprintf("code_class=4XX,load_balancer=%s,port=%d,target=i-live,target_group=web", lb, livePort)},
		{"elbow_alb_httpcode_elb_total", "code=502,code_class=5XX,load_balancer=" + lb},
		{"elbow_alb_target_connection_error_count_total", "load_balancer=" + lb + ",target=" + dead},
		{"elbow_alb_target_tls_negotiation_error_count_total", "load_balancer=" + lb + ",target=" + app.Listener.Addr().String()},
		{"elbow_alb_request_count_total", "load_balancer=" + lb + ",target_group=web"},
		{"elbow_alb_request_count_total", "load_balancer=" + lb + ",target_group=down"},
		{"elbow_alb_new_connection_count_total", "load_balancer=" + lb},
		{"elbow_alb_processed_bytes_total", "load_balancer=" + lb},
	} {
		if got := counter(tc.name, tc.labels); got <= 0 {
			t.Errorf("%s{%s} = %v, want > 0", tc.name, tc.labels, got)
		}
	}
	if got := counter("elbow_alb_httpcode_target_total", fmt.Sprintf("code_class=5XX,load_balancer=%s,port=%d,target=i-live,target_group=web", lb, livePort)); got != 0 {
		t.Errorf("target 5XX = %v, want 0", got)
	}
	// HealthyHostCount and UnHealthyHostCount under CloudWatch's
	// dimensions, equal to the per-group counts.
	fams := scrape(t, url)
	for _, pair := range [][2]string{{"elbow_alb_healthy_hosts", "elbow_target_group_healthy_hosts"},
		{"elbow_alb_unhealthy_hosts", "elbow_target_group_unhealthy_hosts"}} {
		for _, g := range []string{"web", "down"} {
			alb, ok := series(t, fams, pair[0])["load_balancer="+lb+",target_group="+g]
			old, ok2 := series(t, fams, pair[1])["target_group="+g]
			if !ok || !ok2 {
				t.Errorf("%s{load_balancer=%s,target_group=%s} present %v, %s present %v; want both", pair[0], lb, g, ok, pair[1], ok2)
				continue
			}
			if a, b := alb.GetGauge().GetValue(), old.GetGauge().GetValue(); a != b {
				t.Errorf("%s{target_group=%s} = %v, %s = %v; want equal", pair[0], g, a, pair[1], b)
			}
		}
	}
	promtoolCheck(t, url)
}

// promtoolCheck runs `promtool check metrics` on the real /metrics output.
func promtoolCheck(t *testing.T, url string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("ELBOW_REQUIRE_E2E") == "1" {
			t.Fatal("promtool not found (Debian package prometheus) and ELBOW_REQUIRE_E2E=1")
		}
		t.Log("skipping promtool check: promtool not installed (Debian package prometheus)")
		return
	}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = resp.Body
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
