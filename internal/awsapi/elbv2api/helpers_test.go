package elbv2api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/awsapi/elbv2api"
	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/environment"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// app is a target on loopback whose health-check answer the test sets.
type app struct {
	srv    *httptest.Server
	status atomic.Int32
	// gate, when set, holds each health check until it is closed.
	gate atomic.Pointer[chan struct{}]
}

func newApp(t *testing.T, status int) *app {
	t.Helper()
	a := &app{}
	a.status.Store(int32(status))
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g := a.gate.Load(); g != nil && r.URL.Path == "/health" {
			select {
			case <-*g:
			case <-r.Context().Done():
				return
			}
		}
		if r.URL.Path == "/health" {
			w.Header().Set("Location", "https://example.com/health")
			w.WriteHeader(int(a.status.Load()))
			return
		}
		fmt.Fprint(w, "target")
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) addr() string { return a.srv.Listener.Addr().String() }

func (a *app) port() int32 {
	var p int32
	fmt.Sscanf(a.addr()[strings.LastIndex(a.addr(), ":")+1:], "%d", &p)
	return p
}

// fixture is a running environment with the ELBv2 API in front of it.
type fixture struct {
	env    *environment.Env
	client *elbv2.Client
	api    string // the API's URL
	listen string // the listener's address
	target *app   // the target the file registers
}

// start runs an environment whose group web (health checks every 5 s,
// thresholds 2) holds one target answering status on /health.
func start(t *testing.T, status int) *fixture {
	t.Helper()
	f := &fixture{target: newApp(t, status)}
	f.listen = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t, "127.0.0.1"))
	yaml := fmt.Sprintf(`
name: api-test
instances:
  targets: ["%s"]
console:
  address: 127.0.0.1:0
target_groups:
  - name: web
    health_check: {path: /health, interval: 5, timeout: 2, healthy_threshold: 2, unhealthy_threshold: 2}
  - name: spare
    health_check: {path: /health}
listeners:
  - port: %s
    default_action: {target_group: web}
`, f.target.addr(), f.listen[strings.LastIndex(f.listen, ":")+1:])
	file := filepath.Join(t.TempDir(), "elbow.yaml")
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
	f.api = srv.URL
	f.client = elbv2.New(elbv2.Options{
		Region:       "us-west-2",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
	return f
}

var ctx = context.Background()

func (f *fixture) lbARN(t *testing.T) string {
	t.Helper()
	out, err := f.client.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil || len(out.LoadBalancers) != 1 {
		t.Fatalf("DescribeLoadBalancers: %v, %+v", err, out)
	}
	return *out.LoadBalancers[0].LoadBalancerArn
}

func (f *fixture) groupARN(t *testing.T, name string) string {
	t.Helper()
	out, err := f.client.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{name}})
	if err != nil {
		t.Fatalf("DescribeTargetGroups %s: %v", name, err)
	}
	return *out.TargetGroups[0].TargetGroupArn
}

func (f *fixture) listenerARN(t *testing.T) string {
	t.Helper()
	out, err := f.client.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(f.lbARN(t))})
	if err != nil || len(out.Listeners) != 1 {
		t.Fatalf("DescribeListeners: %v, %+v", err, out)
	}
	return *out.Listeners[0].ListenerArn
}

// health is the target's health as DescribeTargetHealth answers it.
func (f *fixture) health(t *testing.T, group, id string, port int32) types.TargetHealth {
	t.Helper()
	out, err := f.client.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{
		TargetGroupArn: aws.String(group),
		Targets:        []types.TargetDescription{{Id: aws.String(id), Port: aws.Int32(port)}},
	})
	if err != nil {
		t.Fatalf("DescribeTargetHealth: %v", err)
	}
	if len(out.TargetHealthDescriptions) != 1 {
		t.Fatalf("DescribeTargetHealth: %d descriptions, want 1", len(out.TargetHealthDescriptions))
	}
	return *out.TargetHealthDescriptions[0].TargetHealth
}

// waitState waits for the real checker to put the target in state.
func (f *fixture) waitState(t *testing.T, group, id string, port int32, state types.TargetHealthStateEnum) types.TargetHealth {
	t.Helper()
	var h types.TargetHealth
	if !testutil.Poll(30*time.Second, func() bool { h = f.health(t, group, id, port); return h.State == state }) {
		t.Fatalf("target %s:%d stayed %s (%s, %s), want %s", id, port, h.State, h.Reason, aws.ToString(h.Description), state)
	}
	return h
}

// get is a request through the load balancer's listener.
func (f *fixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return getURL(t, "http://"+f.listen+path)
}

func getURL(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// apiCode is the error's AWS code, and its message.
func apiCode(t *testing.T, err error) (string, string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}
