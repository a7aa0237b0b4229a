package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// runCLI runs elbow with args and returns the exit status run() would give,
// with what was written to stdout and stderr.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.Execute()
	var ee *exitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &ee):
		code = ee.code
		errOut.WriteString(ee.Error())
	case isUsageError(err):
		code = 2
		errOut.WriteString(err.Error())
	default:
		code = 1
		errOut.WriteString(err.Error())
	}
	return code, out.String(), errOut.String()
}

// serve starts h on ip with a free port and returns its URL.
func serve(t *testing.T, ip string, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCheckUsageErrorsExit2(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"check"}, "accepts 1 arg(s)"},
		{[]string{"check", "127.0.0.2:8000"}, "give http:// or https://"},
		{[]string{"check", "ftp://127.0.0.2:8000"}, "give http:// or https://"},
		{[]string{"check", "http://localhost:8000"}, `"localhost" is not an IP address`},
		{[]string{"check", "http://127.0.0.2:8000", "--timeout", "1"}, "--timeout: 1 is out of range: must be between 2 and 120 seconds"},
		{[]string{"check", "http://127.0.0.2:8000", "--matcher", "600"}, "--matcher: \"600\": code 600 is out of range"},
		{[]string{"check", "http://127.0.0.2:8000", "--matcher", ""}, "--matcher: Health check matcher HTTP code cannot be empty"},
		{[]string{"check", "http://127.0.0.2:8000", "--interval", "5", "--timeout", "5"}, "Health check interval must be greater than the timeout."},
		{[]string{"check", "http://127.0.0.2:8000", "--protocol-version", "GRPC", "--matcher", "200"}, "--matcher: \"200\": Health check matcher GRPC code '200' must be within '0-99' inclusive"},
		{[]string{"check", "http://127.0.0.2:8000/health", "--protocol-version", "GRPC"}, `--path: "/health" is not a gRPC method`},
		{[]string{"check", "http://127.0.0.2:8000", "--protocol", "TCP"}, `--protocol: "TCP" is not allowed: must be one of HTTP, HTTPS`},
		{[]string{"check", "http://127.0.0.2:8000", "--path", "health"}, `--path: "health" must begin with /`},
		{[]string{"check", "http://127.0.0.2:8000", "--port", "70000"}, "--port: \"70000\" is not allowed"},
		{[]string{"check", "http://127.0.0.2:8000", "--count", "0"}, "--count: 0 is out of range"},
		{[]string{"check", "http://127.0.0.2:8000", "--timeout", "x"}, "invalid argument"},
		{[]string{"check", "http://127.0.0.2:8000", "--protocol-version", "HTTP3"}, `--protocol-version: "HTTP3" is not allowed: must be one of HTTP1, HTTP2, GRPC`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", stderr, tc.want)
			}
		})
	}
}

func TestCheckHealthyExit0(t *testing.T) {
	seen := make(chan http.Header, 1)
	u := serve(t, "127.0.0.3", func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set("Host", r.Host)
		select {
		case seen <- h:
		default:
		}
		w.Write([]byte("ok"))
	})
	code, stdout, stderr := runCLI(t, "check", u+"/health")
	if code != 0 {
		t.Fatalf("exit %d, want 0: %s %s", code, stdout, stderr)
	}
	host := strings.TrimPrefix(u, "http://")
	want := "healthy: GET /health on " + host + " answered 200 in "
	if !strings.HasPrefix(stdout, want) || strings.Count(stdout, "\n") != 1 {
		t.Errorf("stdout %q, want one line starting %q", stdout, want)
	}
	got := <-seen
	if got.Get("User-Agent") != "ELB-HealthChecker/2.0" || got.Get("Host") != host || got.Get("X-Forwarded-Proto") != "" {
		t.Errorf("the check was not the ELB health check: %v", got)
	}
}

func TestCheckFailingExit1WithJSON(t *testing.T) {
	u := serve(t, "127.0.0.3", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Forwarded-Proto") != "https" {
			w.Header().Set("X-Runtime", "0.01")
			w.Header().Set("X-Request-Id", "abc")
			http.Redirect(w, r, "https://"+strings.Split(r.Host, ":")[0]+r.URL.Path, http.StatusMovedPermanently)
			return
		}
		w.Write([]byte("ok"))
	})
	code, stdout, stderr := runCLI(t, "check", u, "--json", "--host", "www.example.com")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr %q, want nothing: the report is on stdout", stderr)
	}
	var rep struct {
		URL          string
		Target       string
		TargetHealth struct{ State, Reason, Description string }
		StatusCode   int
		LatencyMs    *float64
		Probes       []struct {
			StatusCode int
			Reason     string
		}
		Diagnosis struct {
			Case, Framework, Summary, Why string
			Fixes                         []struct{ Title, Detail, TradeOff string }
			Evidence                      struct {
				HealthCheck struct {
					StatusCode int
					Location   string
				}
				AsUser *struct{ StatusCode int }
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
	}
	th := rep.TargetHealth
	if th.State != "unhealthy" || th.Reason != "Target.ResponseCodeMismatch" || th.Description != "Health checks failed with these codes: [301]" {
		t.Errorf("TargetHealth = %+v", th)
	}
	if rep.StatusCode != 301 || rep.LatencyMs == nil || len(rep.Probes) != 1 || rep.Probes[0].StatusCode != 301 {
		t.Errorf("probe fields: code %d latency %v probes %+v", rep.StatusCode, rep.LatencyMs, rep.Probes)
	}
	d := rep.Diagnosis
	if d.Case != "https-redirect" || d.Framework != "Rails" || len(d.Fixes) == 0 || d.Evidence.HealthCheck.Location == "" {
		t.Errorf("Diagnosis = %+v", d)
	}
	if d.Evidence.AsUser == nil || d.Evidence.AsUser.StatusCode != 200 {
		t.Errorf("Evidence.AsUser = %+v, want the user-like request's 200", d.Evidence.AsUser)
	}
	if !strings.Contains(stdout, `config.assume_ssl = true`) {
		t.Errorf("JSON lacks the Rails fix")
	}
}

func TestCheckUnknownFailurePrintsEverything(t *testing.T) {
	u := serve(t, "127.0.0.3", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Custom", "teapot-mode")
		w.WriteHeader(418)
		w.Write([]byte("I'm a teapot, short and stout"))
	})
	code, stdout, _ := runCLI(t, "check", u)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"State:       unhealthy",
		"Reason:      Target.ResponseCodeMismatch",
		"Description: Health checks failed with these codes: [418]",
		"Diagnosis: unrecognised",
		"< 418",
		"< X-Custom: teapot-mode",
		"I'm a teapot, short and stout",
		"> User-Agent: ELB-HealthChecker/2.0",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestCheckRefusedExit1(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.6:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	code, stdout, _ := runCLI(t, "check", "http://127.0.0.6:"+strconv.Itoa(port))
	if code != 1 || !strings.Contains(stdout, "Reason:      Target.FailedHealthChecks") || !strings.Contains(stdout, "Diagnosis: connection-refused") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// TestCheckReferenceScenarioDjango runs elbow check against the real Django
// app of examples/django, through the three steps of the reference scenario.
func TestCheckReferenceScenarioDjango(t *testing.T) {
	const ip = "127.0.0.2"
	port := testutil.StartDjangoExample(t, ip)
	u := "http://" + net.JoinHostPort(ip, strconv.Itoa(port))
	code, stdout, _ := runCLI(t, "check", u, "--host", "www.example.com")
	if code != 1 || !strings.Contains(stdout, "Health checks failed with these codes: [400]") ||
		!strings.Contains(stdout, "Diagnosis: django-allowed-hosts (Django)") || !strings.Contains(stdout, "ALLOWED_HOSTS.append(_ip)") {
		t.Errorf("step 1: exit %d:\n%s", code, stdout)
	}

	imds := testutil.FakeIMDS(t, ip, ip)
	port = testutil.StartDjangoExample(t, ip, "ALLOW_INSTANCE_IP=1", "AWS_EC2_METADATA_SERVICE_ENDPOINT="+imds)
	u = "http://" + net.JoinHostPort(ip, strconv.Itoa(port))
	code, stdout, _ = runCLI(t, "check", u, "--host", "www.example.com")
	if code != 1 || !strings.Contains(stdout, "Health checks failed with these codes: [301]") ||
		!strings.Contains(stdout, "Diagnosis: https-redirect (Django)") ||
		!strings.Contains(stdout, "SECURE_REDIRECT_EXEMPT") || !strings.Contains(stdout, `matcher: "200-301"`) {
		t.Errorf("step 2: exit %d:\n%s", code, stdout)
	}

	code, stdout, _ = runCLI(t, "check", u, "--matcher", "200-301")
	if code != 0 || !strings.HasPrefix(stdout, "healthy: GET / on "+strings.TrimPrefix(u, "http://")+" answered 301") {
		t.Errorf("step 3: exit %d:\n%s", code, stdout)
	}
}

// The example environment of examples/django must stay valid as the schema evolves.
func TestDjangoExampleConfigIsValid(t *testing.T) {
	code, stdout, stderr := runCLI(t, "validate", "-c", "../../examples/django/elbow.yaml")
	if code != 0 || !strings.Contains(stdout, "valid") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
}

// TestCheckProtocolVersionHTTP2: --protocol-version HTTP2 sends the check
// over HTTP/2, as the ALB checks an HTTP2 group's targets: an h2c target
// passes; a target that speaks only HTTP/1.1 fails it, and passes the
// HTTP/1.1 check.
func TestCheckProtocolVersionHTTP2(t *testing.T) {
	protos := make(chan string, 4)
	h2c := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos <- r.Proto
		w.Write([]byte("ok"))
	}))
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c.Config.Protocols = &p
	h2c.Start()
	t.Cleanup(h2c.Close)
	code, stdout, stderr := runCLI(t, "check", h2c.URL+"/health", "--protocol-version", "HTTP2")
	if code != 0 || <-protos != "HTTP/2.0" {
		t.Fatalf("h2c target: exit %d, want 0 over HTTP/2: %s %s", code, stdout, stderr)
	}
	h1 := serve(t, "127.0.0.3", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	if code, stdout, _ := runCLI(t, "check", h1+"/health", "--protocol-version", "HTTP2"); code != 1 {
		t.Fatalf("HTTP/1.1-only target checked over HTTP/2: exit %d, want 1: %s", code, stdout)
	}
	if code, stdout, _ := runCLI(t, "check", h1+"/health"); code != 0 {
		t.Fatalf("HTTP/1.1-only target checked over HTTP/1.1: exit %d, want 0: %s", code, stdout)
	}
}

// TestCheckProtocolVersionGRPC: elbow check --protocol-version GRPC calls a
// real gRPC server as the ALB does, with AWS's defaults (path
// /AWS.ALB/healthcheck, matcher 12): it passes; matcher 0 fails with the
// gRPC code, the JSON carrying the grpc-status and the diagnosis.
func TestCheckProtocolVersionGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.4:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	url := "http://" + ln.Addr().String()
	if code, stdout, stderr := runCLI(t, "check", url, "--protocol-version", "GRPC"); code != 0 ||
		!strings.Contains(stdout, "gRPC call /AWS.ALB/healthcheck on "+ln.Addr().String()+" answered 200, grpc-status 12") {
		t.Fatalf("default gRPC check: exit %d, want 0: %s %s", code, stdout, stderr)
	}
	code, stdout, _ := runCLI(t, "check", url+"/", "--protocol-version", "GRPC", "--matcher", "0", "--json")
	var rep struct {
		HealthCheck  struct{ ProtocolVersion, Path, Matcher string }
		TargetHealth struct{ Description string }
		Probes       []struct{ GrpcStatus string }
		Diagnosis    struct{ Case string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if code != 1 || rep.HealthCheck.ProtocolVersion != "GRPC" || rep.HealthCheck.Path != "/AWS.ALB/healthcheck" ||
		rep.TargetHealth.Description != "Health checks failed with these codes: [12]" || len(rep.Probes) != 1 ||
		rep.Probes[0].GrpcStatus != "12" || rep.Diagnosis.Case != "grpc-unimplemented" {
		t.Fatalf("matcher 0: exit %d %+v; want 1, the gRPC check failing with [12] diagnosed grpc-unimplemented", code, rep)
	}
}
