package healthcheck

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// grpcTarget runs a real gRPC server (grpc-go) on 127.0.0.1:0, cleartext
// HTTP/2 or, with useTLS, TLS with ALPN h2; withHealth registers the
// standard health service (grpc.health.v1.Health), serving.
func grpcTarget(t *testing.T, useTLS, withHealth bool) string {
	t.Helper()
	var opts []grpc.ServerOption
	if useTLS {
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{testCertificate(t)}})))
	}
	srv := grpc.NewServer(opts...)
	if withHealth {
		hs := health.NewServer()
		hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		healthpb.RegisterHealthServer(srv, hs)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// testCertificate is httptest's self-signed localhost certificate.
func testCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.StartTLS()
	defer srv.Close()
	return srv.TLS.Certificates[0]
}

func grpcSettings(path, matcher string) Settings {
	s := EBDefaults()
	s.Path = path
	m, err := ParseGRPCMatcher(matcher)
	if err != nil {
		panic(err)
	}
	s.Matcher = m
	s.Timeout = 2 * time.Second
	s.GRPC = true
	return s
}

// TestProbeGRPC checks real gRPC servers as the ALB does: the default
// path and matcher (12, UNIMPLEMENTED) pass any gRPC server; the health
// service's Check with matcher 0 passes; matcher 0 on a server without the
// method fails with the gRPC code in AWS's words, keeping grpc-message.
func TestProbeGRPC(t *testing.T) {
	for _, tc := range []struct {
		name       string
		useTLS     bool
		withHealth bool
		path       string
		matcher    string
		wantPass   bool
		wantStatus string
	}{
		{"default check, no such method", false, false, "/AWS.ALB/healthcheck", "12", true, "12"},
		{"default check over TLS", true, false, "/AWS.ALB/healthcheck", "12", true, "12"},
		{"health service Check", false, true, "/grpc.health.v1.Health/Check", "0", true, "0"},
		{"health service Check over TLS", true, true, "/grpc.health.v1.Health/Check", "0-2", true, "0"},
		{"method missing, matcher 0", false, false, "/grpc.health.v1.Health/Check", "0", false, "12"},
		{"method present, matcher 12", false, true, "/grpc.health.v1.Health/Check", "12", false, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := grpcTarget(t, tc.useTLS, tc.withHealth)
			s := grpcSettings(tc.path, tc.matcher)
			if tc.useTLS {
				s.Protocol = ProtocolHTTPS
			}
			res := HTTPProber{}.Probe(t.Context(), targetOf(t, addr), s)
			if res.Passed() != tc.wantPass || res.GRPCStatus != tc.wantStatus || res.StatusCode != 200 {
				t.Fatalf("passed %v, grpc-status %q, HTTP %d (reason %q, err %v); want passed %v, grpc-status %q, HTTP 200",
					res.Passed(), res.GRPCStatus, res.StatusCode, res.Reason, res.Err, tc.wantPass, tc.wantStatus)
			}
			if tc.wantPass {
				return
			}
			want := TargetHealth{State: StateUnhealthy, Reason: ReasonResponseCodeMismatch,
				Description: "Health checks failed with these codes: [" + tc.wantStatus + "]"}
			if h := res.Health(); h != want {
				t.Fatalf("health %+v; want %+v", h, want)
			}
			if tc.wantStatus == "12" && !strings.Contains(res.Header.Get("Grpc-Message"), "grpc.health.v1.Health") {
				t.Fatalf("grpc-message %q not kept; header %v", res.Header.Get("Grpc-Message"), res.Header)
			}
		})
	}
}

// TestProbeGRPCOnTheWire: the call is an HTTP/2 POST to the path with
// content-type application/grpc, te: trailers, the checker's User-Agent
// and one empty message (5 bytes: flag 0, length 0); grpc-status read from
// the trailers of an answer with a body.
func TestProbeGRPCOnTheWire(t *testing.T) {
	type seen struct {
		proto, method, path, ct, te, ua string
		body                            []byte
	}
	got := make(chan seen, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{r.Proto, r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Te"), r.UserAgent(), body}
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status")
		w.Write([]byte{0, 0, 0, 0, 0})
		w.Header().Set("Grpc-Status", "7")
	}))
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	srv.Config.Protocols = &protocols
	srv.Start()
	t.Cleanup(srv.Close)
	res := HTTPProber{}.Probe(t.Context(), targetOf(t, srv.Listener.Addr().String()), grpcSettings("/pkg.Svc/Check", "0-6,8"))
	if res.Reason != ReasonResponseCodeMismatch || res.GRPCStatus != "7" {
		t.Fatalf("reason %q, grpc-status %q (err %v); want %q and 7 from the trailers", res.Reason, res.GRPCStatus, res.Err, ReasonResponseCodeMismatch)
	}
	r := <-got
	want := seen{"HTTP/2.0", "POST", "/pkg.Svc/Check", "application/grpc", "trailers", UserAgent, []byte{0, 0, 0, 0, 0}}
	if r.proto != want.proto || r.method != want.method || r.path != want.path || r.ct != want.ct || r.te != want.te || r.ua != want.ua || string(r.body) != string(want.body) {
		t.Fatalf("the target saw %+v; want %+v", r, want)
	}
}

// TestProbeGRPCFailures: what is not a gRPC answer fails as the ALB words
// it: an HTTP/2 answer without grpc-status and an HTTP/1.1-only target are
// Target.FailedHealthChecks, a non-200 HTTP answer is a code mismatch with
// the HTTP code, silence is Target.Timeout, a refused connection
// Target.FailedHealthChecks.
func TestProbeGRPCFailures(t *testing.T) {
	h2 := func(h http.HandlerFunc) string {
		srv := httptest.NewUnstartedServer(h)
		var protocols http.Protocols
		protocols.SetUnencryptedHTTP2(true)
		srv.Config.Protocols = &protocols
		srv.Start()
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	refused := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t, "127.0.0.1")))
	silent := rawServer(t, func(c net.Conn) {
		defer c.Close()
		io.Copy(io.Discard, c)
	})
	http1 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(http1.Close)
	for _, tc := range []struct {
		name string
		addr string
		want TargetHealth
		err  string
	}{
		{"200 without grpc-status", h2(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) }),
			Health(StateUnhealthy, ReasonFailedHealthChecks), "no grpc-status"},
		{"404", h2(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }),
			TargetHealth{StateUnhealthy, ReasonResponseCodeMismatch, "Health checks failed with these codes: [404]"}, ""},
		{"HTTP/1.1 only", http1.Listener.Addr().String(), Health(StateUnhealthy, ReasonFailedHealthChecks), ""},
		{"silent", silent, TargetHealth{StateUnhealthy, ReasonTimeout, "Request timed out"}, ""},
		{"refused", refused, TargetHealth{StateUnhealthy, ReasonFailedHealthChecks, "Health checks failed"}, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := grpcSettings("/AWS.ALB/healthcheck", "12")
			s.Timeout = 500 * time.Millisecond
			res := HTTPProber{}.Probe(t.Context(), targetOf(t, tc.addr), s)
			if h := res.Health(); res.Passed() || h != tc.want {
				t.Fatalf("passed %v, health %+v (err %v); want %+v", res.Passed(), h, res.Err, tc.want)
			}
			if tc.err != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tc.err)) {
				t.Fatalf("err %v; want one saying %q", res.Err, tc.err)
			}
		})
	}
}
