package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// grpcServerTarget runs a real gRPC server (grpc-go) on ip, cleartext
// HTTP/2, with the health service and server reflection (a bidirectional
// stream); it returns the target and the health service to change.
func grpcServerTarget(t *testing.T, ip string) (healthcheck.Target, *health.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return healthcheck.Target{ID: "grpc-" + ip, IP: ip, Port: ln.Addr().(*net.TCPAddr).Port}, hs
}

func grpcGroup(t *testing.T, target healthcheck.Target) Groups {
	hc := config.DefaultHealthCheck
	hc.Path, hc.Matcher = healthcheck.DefaultGRPCPath, healthcheck.DefaultGRPCMatcher
	return Groups{"rpc": newTGFor(t, config.TargetGroup{Name: "rpc", Protocol: "HTTP", ProtocolVersion: "GRPC", Port: 8000,
		HealthCheck: hc, LoadBalancingAlgorithmType: "round_robin"}, target)}
}

// grpcClient is a real gRPC client (grpc-go) of the listener at addr, over
// TLS without verifying elbow's self-signed certificate.
func grpcClient(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// TestGRPCTargetGroup: gRPC calls from a real client reach a real gRPC
// server through a GRPC group: unary calls with their status (OK, and
// UNIMPLEMENTED from a trailers-only answer), a server stream that
// delivers each message as it is sent, a bidirectional stream; the access
// log types them grpcs.
func TestGRPCTargetGroup(t *testing.T) { everyH2Path(t, testGRPCTargetGroup) }

func testGRPCTargetGroup(t *testing.T, base Options) {
	target, hs := grpcServerTarget(t, "127.0.0.2")
	var log syncBuffer
	o := base
	o.AccessLog = &log
	p := startProxy(t, o, grpcGroup(t, target), config.Listener{Protocol: "HTTPS", DefaultAction: forwardTo("rpc")})
	cc := grpcClient(t, p.Listeners()[0].Addr())
	ctx := t.Context()
	hc := healthpb.NewHealthClient(cc)

	res, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check: %v %v; want SERVING", res, err)
	}
	_, err = hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("Check of an unknown service: %v; want NotFound with its status relayed", err)
	}
	err = cc.Invoke(ctx, "/AWS.ALB/healthcheck", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("an unknown method: %v; want Unimplemented (a trailers-only answer relayed)", err)
	}

	// Server streaming: each status change arrives while the stream is open.
	watch, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	hs.SetServingStatus("shop", healthpb.HealthCheckResponse_SERVING)
	want := []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_SERVICE_UNKNOWN, healthpb.HealthCheckResponse_SERVING}
	for _, w := range want {
		m, err := watch.Recv()
		if err != nil || m.GetStatus() != w {
			// SERVICE_UNKNOWN comes first only if Watch began before the set.
			if err == nil && w == healthpb.HealthCheckResponse_SERVICE_UNKNOWN && m.GetStatus() == healthpb.HealthCheckResponse_SERVING {
				break
			}
			t.Fatalf("Watch: %v %v; want %v", m, err, w)
		}
	}
	hs.SetServingStatus("shop", healthpb.HealthCheckResponse_NOT_SERVING)
	if m, err := watch.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Watch after the change: %v %v; want NOT_SERVING", m, err)
	}

	// Bidirectional streaming: each request is answered before the next
	// is sent, so the request body and the response body flow at once.
	stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		m, err := stream.Recv()
		if err != nil || len(m.GetListServicesResponse().GetService()) < 2 {
			t.Fatalf("reflection: %v %v; want the services listed", m, err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after CloseSend: %v; want the end of the stream", err)
	}

	var lines string
	eventually(t, 2*time.Second, func() bool {
		lines = log.String()
		return strings.Count(lines, "\n") >= 4 // the Watch stream is still open
	}, "the access-log lines")
	for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
		if !strings.HasPrefix(line, "grpcs ") || !strings.Contains(line, " HTTP/2.0\"") {
			t.Errorf("access-log line not typed grpcs:\n%s", line)
		}
	}
}

// TestGRPCTargetGroupRefusesOtherRequests: a GRPC group takes gRPC calls
// only: an HTTP/1.1 request, an HTTP/2 GET and an HTTP/2 POST that is not
// gRPC get the ALB's 464, typed h2 (not grpcs) in the access log, and no
// target sees them.
func TestGRPCTargetGroupRefusesOtherRequests(t *testing.T) {
	everyH2Path(t, func(t *testing.T, base Options) {
		var seen atomic.Int64
		target := h2cTarget(t, "127.0.0.2", false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen.Add(1) }))
		var log syncBuffer
		o := base
		o.AccessLog = &log
		p := startProxy(t, o, grpcGroup(t, target), config.Listener{Protocol: "HTTPS", DefaultAction: forwardTo("rpc")})
		url := p.Listeners()[0].URL() + "/pkg.Svc/Method"
		h2 := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		grpcOverH1, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("\x00\x00\x00\x00\x00"))
		grpcOverH1.Header.Set("Content-Type", "application/grpc")
		getGRPC, _ := http.NewRequest(http.MethodGet, url, nil)
		getGRPC.Header.Set("Content-Type", "application/grpc")
		postJSON, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
		postJSON.Header.Set("Content-Type", "application/json")
		for _, tc := range []struct {
			name string
			c    *http.Client
			req  *http.Request
		}{{"gRPC over HTTP/1.1", h1, grpcOverH1}, {"HTTP/2 GET", h2, getGRPC}, {"HTTP/2 POST, not gRPC", h2, postJSON}} {
			if got := do(t, tc.c, tc.req); got.code != statusIncompatibleProtocol {
				t.Errorf("%s: %d %q; want 464", tc.name, got.code, got.body)
			}
		}
		if n := seen.Load(); n != 0 {
			t.Fatalf("the target saw %d requests; want none", n)
		}
		eventually(t, 2*time.Second, func() bool { return strings.Count(log.String(), "\n") >= 3 }, "the access-log lines")
		if strings.Contains(log.String(), "grpcs ") {
			t.Fatalf("a refused non-gRPC request typed grpcs:\n%s", log.String())
		}
	})
}
