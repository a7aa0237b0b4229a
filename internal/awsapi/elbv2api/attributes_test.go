package elbv2api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/awsapi/elbv2api"
	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/environment"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// liveTarget answers with its name and whether it saw an X_Forwarded_For
// header; /slow is held until release is closed.
type liveTarget struct {
	srv     *httptest.Server
	arrived chan struct{} // a /slow request is held
	mu      sync.Mutex
	release chan struct{}
}

func newLiveTarget(t *testing.T, name string) *liveTarget {
	lt := &liveTarget{release: make(chan struct{}), arrived: make(chan struct{}, 1)}
	lt.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			lt.mu.Lock()
			release := lt.release
			lt.mu.Unlock()
			lt.arrived <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_, invalid := r.Header["X_forwarded_for"]
		fmt.Fprintf(w, "%s invalid=%t", name, invalid)
	}))
	t.Cleanup(func() { lt.free(); lt.srv.Close() })
	return lt
}

// free lets a held request go, and holds the next.
func (lt *liveTarget) free() {
	lt.mu.Lock()
	close(lt.release)
	lt.release = make(chan struct{})
	lt.mu.Unlock()
}

// startLive runs an environment whose group web holds targets a and b
// (health checks every 30 s: they stay in their initial state, the group
// routing to both, for the test), with an access log path configured but
// access logs disabled.
func startLive(t *testing.T, a, b *liveTarget) (*fixture, string) {
	t.Helper()
	f := &fixture{}
	f.listen = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t, "127.0.0.1"))
	dir := t.TempDir()
	yaml := fmt.Sprintf(`
name: api-test
instances:
  targets: ["%s", "%s"]
console:
  address: 127.0.0.1:0
load_balancer:
  access_logs: {enabled: false, path: access.log}
target_groups:
  - name: web
    health_check: {path: /health, interval: 30}
listeners:
  - port: %s
    default_action: {target_group: web}
`, a.srv.Listener.Addr(), b.srv.Listener.Addr(), f.listen[strings.LastIndex(f.listen, ":")+1:])
	file := filepath.Join(dir, "elbow.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(file, []byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	env, err := environment.Start(context.Background(), cfg, environment.Options{FirstProbeJitter: time.Millisecond})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		env.Stop(ctx)
	})
	f.env = env
	srv := httptest.NewServer(&awsapi.Handler{Services: []awsapi.Service{elbv2api.New(env)}})
	t.Cleanup(srv.Close)
	f.client = elbv2.New(elbv2.Options{Region: "us-west-2", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	return f, filepath.Join(dir, "access.log")
}

// rawRequest sends req on a new connection to the listener and reads the answer.
func rawRequest(t *testing.T, addr, req string) (*http.Response, string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", req, err)
	}
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// A request with both Content-Length and Transfer-Encoding: Ambiguous,
// forwarded in defensive mode, refused in strictest
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#desync-mitigation-mode).
const bothFramings = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"

// TestModifyLoadBalancerAttributesLive: each attribute AWS changes live
// changes the running load balancer, shown on the wire.
func TestModifyLoadBalancerAttributesLive(t *testing.T) {
	a, b := newLiveTarget(t, "a"), newLiveTarget(t, "b")
	f, accessLog := startLive(t, a, b)
	arn := aws.String(f.lbARN(t))
	modify := func(k, v string) {
		t.Helper()
		out, err := f.client.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{
			LoadBalancerArn: arn, Attributes: []types.LoadBalancerAttribute{{Key: aws.String(k), Value: aws.String(v)}}})
		if err != nil {
			t.Fatalf("ModifyLoadBalancerAttributes %s=%s: %v", k, v, err)
		}
		for _, at := range out.Attributes {
			if aws.ToString(at.Key) == k && aws.ToString(at.Value) != v {
				t.Fatalf("answered %s=%s, want %s", k, aws.ToString(at.Value), v)
			}
		}
	}

	if res, _ := rawRequest(t, f.listen, bothFramings); res.StatusCode != 200 {
		t.Fatalf("defensive: both framings got %d, want 200 (forwarded)", res.StatusCode)
	}
	modify("routing.http.desync_mitigation_mode", "strictest")
	if res, _ := rawRequest(t, f.listen, bothFramings); res.StatusCode != 400 {
		t.Fatalf("strictest: both framings got %d, want 400", res.StatusCode)
	}

	invalid := "GET / HTTP/1.1\r\nHost: a\r\nX_Forwarded_For: 6.6.6.6\r\n\r\n"
	if _, body := rawRequest(t, f.listen, invalid); !strings.HasSuffix(body, "invalid=true") {
		t.Fatalf("drop_invalid_header_fields off: the target answered %q, want X_Forwarded_For passed", body)
	}
	modify("routing.http.drop_invalid_header_fields.enabled", "true")
	if _, body := rawRequest(t, f.listen, invalid); !strings.HasSuffix(body, "invalid=false") {
		t.Fatalf("drop_invalid_header_fields on: the target answered %q, want X_Forwarded_For dropped", body)
	}

	rawRequest(t, f.listen, "GET /unlogged HTTP/1.1\r\nHost: a\r\n\r\n")
	modify("access_logs.s3.enabled", "true")
	rawRequest(t, f.listen, "GET /logged HTTP/1.1\r\nHost: a\r\n\r\n")
	modify("access_logs.s3.enabled", "false") // flushes: entries queued before go out first
	log, err := os.ReadFile(accessLog)
	if err != nil || !strings.Contains(string(log), "/logged") || strings.Contains(string(log), "/unlogged") {
		t.Fatalf("access log %q (%v): want /logged only", log, err)
	}

	modify("idle_timeout.timeout_seconds", "1")
	nc, err := net.DialTimeout("tcp", f.listen, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	start := time.Now()
	_ = nc.SetReadDeadline(start.Add(10 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("an idle client with idle_timeout 1 s: read %v, want EOF", err)
	}
	if d := time.Since(start); d < 800*time.Millisecond || d > 5*time.Second {
		t.Fatalf("an idle client was cut after %v, want about 1 s", d)
	}
}

// TestModifyTargetGroupAttributesLive: the algorithm changes the running
// group's selection; slow start is taken and described.
func TestModifyTargetGroupAttributesLive(t *testing.T) {
	a, b := newLiveTarget(t, "a"), newLiveTarget(t, "b")
	f, _ := startLive(t, a, b)
	web := aws.String(f.groupARN(t, "web"))
	// Both in service before traffic is counted: a target whose first
	// check ends later gets none until then (seen under a loaded machine).
	for _, lt := range []*liveTarget{a, b} {
		port := int32(lt.srv.Listener.Addr().(*net.TCPAddr).Port)
		f.waitState(t, *web, "127.0.0.1", port, types.TargetHealthStateEnumHealthy)
	}
	modify := func(k, v string) {
		t.Helper()
		if _, err := f.client.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: web,
			Attributes: []types.TargetGroupAttribute{{Key: aws.String(k), Value: aws.String(v)}}}); err != nil {
			t.Fatalf("ModifyTargetGroupAttributes %s=%s: %v", k, v, err)
		}
	}
	described := func(k string) string {
		t.Helper()
		out, err := f.client.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: web})
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range out.Attributes {
			if aws.ToString(at.Key) == k {
				return aws.ToString(at.Value)
			}
		}
		return ""
	}
	// whoAnswers sends n requests while one request is held on a target,
	// and counts the answers by target.
	whoAnswers := func(n int) map[string]int {
		t.Helper()
		held := make(chan string, 1)
		go func() {
			res, err := http.Get("http://" + f.listen + "/slow")
			if err != nil {
				held <- err.Error()
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			held <- string(body)
		}()
		select {
		case <-a.arrived:
		case <-b.arrived:
		case <-time.After(5 * time.Second):
			t.Fatal("the held request never reached a target")
		}
		got := map[string]int{}
		c := &http.Client{Timeout: 5 * time.Second}
		for range n {
			res, err := c.Get("http://" + f.listen + "/who")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			got[strings.Fields(string(body))[0]]++
		}
		a.free()
		b.free()
		got["held:"+strings.Fields(<-held)[0]]++
		return got
	}

	if got := described("load_balancing.algorithm.type"); got != "round_robin" {
		t.Fatalf("described algorithm %q, want round_robin", got)
	}
	// Round robin keeps sending to the busy target too (about half each;
	// a target's first checks may still shift one or two).
	if got := whoAnswers(10); got["a"] < 3 || got["b"] < 3 {
		t.Fatalf("round robin with one request held: %v, want both targets used", got)
	}

	modify("load_balancing.algorithm.type", "least_outstanding_requests")
	if got := described("load_balancing.algorithm.type"); got != "least_outstanding_requests" {
		t.Fatalf("described algorithm %q after the change", got)
	}
	got := whoAnswers(10)
	var heldOn, other string
	for k := range got {
		if strings.HasPrefix(k, "held:") {
			heldOn = strings.TrimPrefix(k, "held:")
		}
	}
	other = map[string]string{"a": "b", "b": "a"}[heldOn]
	if got[other] != 10 {
		t.Fatalf("least outstanding requests with one request held on %s: %v, want all 10 on %s", heldOn, got, other)
	}

	modify("load_balancing.algorithm.type", "round_robin")
	modify("slow_start.duration_seconds", "60")
	if got := described("slow_start.duration_seconds"); got != "60" || f.env.Group("web").SlowStart() != time.Minute {
		t.Fatalf("slow start described %q, running %v; want 60 s", got, f.env.Group("web").SlowStart())
	}
}
