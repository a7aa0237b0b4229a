package diagnose

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// grpcServerOn runs a real gRPC server (grpc-go) on ip, cleartext HTTP/2,
// with the standard health service when withHealth.
func grpcServerOn(t *testing.T, ip string, withHealth bool) healthcheck.Target {
	t.Helper()
	ln := listenOn(t, ip)
	srv := grpc.NewServer()
	if withHealth {
		healthpb.RegisterHealthServer(srv, health.NewServer())
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return targetOf(t, ln.Addr().String())
}

func grpcSettings(path, matcher string) healthcheck.Settings {
	s := healthcheck.EBDefaults()
	s.Path, s.Timeout, s.GRPC = path, 2*time.Second, true
	m, err := healthcheck.ParseGRPCMatcher(matcher)
	if err != nil {
		panic(err)
	}
	s.Matcher = m
	return s
}

// TestDiagnoseGRPC: each way a GRPC group's check fails against a real
// server, said in plain words with the fix: a method the app lacks
// (UNIMPLEMENTED) with matcher 0, a call that succeeded (0) with the
// default matcher 12, an HTTP/1.1-only app, an HTTP/2 web server that is
// no gRPC server; and a passing check's summary.
func TestDiagnoseGRPC(t *testing.T) {
	h2Web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>shop</html>"))
	}))
	h2Web.Listener.Close()
	h2Web.Listener = listenOn(t, "127.0.0.6")
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	h2Web.Config.Protocols = &protocols
	h2Web.Start()
	t.Cleanup(h2Web.Close)

	for _, tc := range []struct {
		name     string
		target   healthcheck.Target
		s        healthcheck.Settings
		wantCase string
		phrases  []string
	}{
		{"no health service, matcher 0", grpcServerOn(t, "127.0.0.2", false), grpcSettings("/grpc.health.v1.Health/Check", "0"),
			CaseGRPCUnimplemented, []string{"grpc-status 12 (UNIMPLEMENTED)", "has not registered grpc.health.v1.Health",
				"healthpb.RegisterHealthServer", "GrpcCode=12"}},
		{"default path, matcher 0", grpcServerOn(t, "127.0.0.3", false), grpcSettings("/AWS.ALB/healthcheck", "0"),
			CaseGRPCUnimplemented, []string{"AWS's default path, a method no server has", `matcher: "12"`}},
		{"health service, matcher 12", grpcServerOn(t, "127.0.0.4", true), grpcSettings("/grpc.health.v1.Health/Check", "12"),
			CaseGRPCStatusNotMatched, []string{"grpc-status 0 (OK)", "The call succeeded", `matcher: "0"`}},
		{"HTTP/1.1 only", serveOn(t, "127.0.0.5", false, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }),
			grpcSettings("/AWS.ALB/healthcheck", "12"),
			CaseGRPCHTTP1Only, []string{"speaks HTTP/1.1 only", "an HTTP/1.1 request got 200", "gRPC server's port"}},
		{"HTTP/2 web server", targetOf(t, h2Web.Listener.Addr().String()), grpcSettings("/AWS.ALB/healthcheck", "12"),
			CaseGRPCNotGRPC, []string{"is no gRPC server", "HTTP 200, content-type text/html, and no grpc-status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, d := checkAndDiagnose(t, tc.target, tc.s, "")
			if r.Passed() {
				t.Fatalf("the check passed: %+v", r)
			}
			assertDiagnosis(t, d, tc.wantCase, "", tc.phrases...)
			if h := r.Health(); tc.wantCase == CaseGRPCUnimplemented && h.Description != "Health checks failed with these codes: [12]" {
				t.Errorf("description %q", h.Description)
			}
			if !strings.HasPrefix(d.Evidence.HealthCheck.Request, "POST "+tc.s.Path+" HTTP/2.0\n") ||
				!strings.Contains(d.Evidence.HealthCheck.Request, "content-type: application/grpc") {
				t.Errorf("evidence request %q; want the gRPC call", d.Evidence.HealthCheck.Request)
			}
		})
	}
	r, d := checkAndDiagnose(t, grpcServerOn(t, "127.0.0.7", true), grpcSettings("/grpc.health.v1.Health/Check", "0"), "")
	if !r.Passed() || d.Case != HealthyCase || !strings.Contains(d.Summary, "answered grpc-status 0 (OK)") {
		t.Fatalf("healthy: %+v %q", r, d.Summary)
	}
}
