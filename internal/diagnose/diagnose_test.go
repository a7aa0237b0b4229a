package diagnose

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// userOnly builds a handler that serves users (public Host and X-Forwarded-Proto:
// https) with ok, and everything else with refuse.
func userOnly(publicHost string, ok, refuse http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Host == publicHost {
			ok(w, r)
			return
		}
		refuse(w, r)
	}
}

func railsHeaders(w http.ResponseWriter) {
	w.Header().Set("X-Request-Id", "6c9d1f1e-5a2b-4c1d-9e3f-0a1b2c3d4e5f")
	w.Header().Set("X-Runtime", "0.004211")
	w.Header().Set("Set-Cookie", "_shop_session=abc; path=/; HttpOnly")
}

// httpsOnly redirects requests without X-Forwarded-Proto: https with code.
func httpsOnly(code int, decorate func(http.Header)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		decorate(w.Header())
		if r.Header.Get("X-Forwarded-Proto") != "https" {
			host, _, err := net.SplitHostPort(r.Host)
			if err != nil {
				host = r.Host
			}
			w.Header().Set("Location", "https://"+host+r.URL.RequestURI())
			w.WriteHeader(code)
			return
		}
		w.Write([]byte("welcome\n"))
	}
}

func TestDiagnoseGoServers(t *testing.T) {
	const ip = "127.0.0.3"
	const public = "www.example.com"
	cases := []struct {
		name      string
		handler   http.HandlerFunc
		tls       bool
		protocol  healthcheck.Protocol
		path      string
		matcher   string
		wantCode  int
		wantCase  string
		wantFW    string
		wantPhras []string
	}{
		{
			name: "rails host authorization, production (empty 403)",
			handler: userOnly(public,
				func(w http.ResponseWriter, r *http.Request) { railsHeaders(w); w.Write([]byte("shop")) },
				func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }),
			wantCode: 403, wantCase: CaseRailsHostAuthorization, wantFW: Rails,
			wantPhras: []string{`config.host_authorization = { exclude: ->(request) { request.path == "/up" } }`, "Blocked hosts:", "HostAuthorization"},
		},
		{
			name: "rails host authorization, development page",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte("<h1>Blocked hosts: " + r.Host + "</h1><p>To allow requests to these hosts, add the following to your environment configuration: config.hosts &lt;&lt; \"x\"</p>"))
			},
			wantCode: 403, wantCase: CaseRailsHostAuthorization, wantFW: Rails,
			wantPhras: []string{"config.host_authorization", "config.hosts << IPAddr.new"},
		},
		{
			name: "express host-validation 403",
			handler: userOnly(public,
				func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-Powered-By", "Express")
					w.Write([]byte("shop"))
				},
				func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-Powered-By", "Express")
					w.WriteHeader(http.StatusForbidden)
					w.Write([]byte("Forbidden"))
				}),
			wantCode: 403, wantCase: CaseHostValidation, wantFW: Express,
			wantPhras: []string{"app.get('/health', (req, res) => res.send('ok'));", "before the host-validation middleware", "Host: 127.0.0.3:"},
		},
		{
			name: "asp.net core host filtering 400",
			handler: userOnly(public,
				func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Server", "Kestrel")
					w.Write([]byte("shop"))
				},
				func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Server", "Kestrel")
					w.WriteHeader(http.StatusBadRequest)
				}),
			wantCode: 400, wantCase: CaseASPNETHostFiltering, wantFW: ASPNET,
			wantPhras: []string{"HostFilteringOptions", "AllowedHosts"},
		},
		{
			name:     "rails force_ssl 301",
			handler:  httpsOnly(301, func(h http.Header) { h.Set("X-Request-Id", "r1"); h.Set("X-Runtime", "0.01") }),
			wantCode: 301, wantCase: CaseHTTPSRedirect, wantFW: Rails,
			wantPhras: []string{"config.force_ssl", `config.ssl_options = { redirect: { exclude: ->(request) { request.path == "/up" } } }`, "config.assume_ssl = true", "200-301", "no X-Forwarded-For or X-Forwarded-Proto"},
		},
		{
			name:     "asp.net core UseHttpsRedirection 307",
			handler:  httpsOnly(307, func(h http.Header) { h.Set("Server", "Kestrel") }),
			wantCode: 307, wantCase: CaseHTTPSRedirect, wantFW: ASPNET,
			wantPhras: []string{"UseHttpsRedirection", "app.MapHealthChecks(\"/health\");", "HttpCode=200-307"},
		},
		{
			name:     "express redirect 302",
			handler:  httpsOnly(302, func(h http.Header) { h.Set("X-Powered-By", "Express") }),
			wantCode: 302, wantCase: CaseHTTPSRedirect, wantFW: Express,
			wantPhras: []string{"app.set('trust proxy', 'loopback, 172.31.0.0/16');", "200-302", "With X-Forwarded-Proto: https the redirect does not happen"},
		},
		{
			name:     "unknown framework https redirect",
			handler:  httpsOnly(308, func(http.Header) {}),
			wantCode: 308, wantCase: CaseHTTPSRedirect, wantFW: "",
			wantPhras: []string{"Exempt a health path from the HTTPS redirect", "X-Forwarded-Proto", "redirect: {protocol: HTTPS"},
		},
		{
			name: "express 404 on the health path",
			path: "/health",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Powered-By", "Express")
				w.WriteHeader(404)
				w.Write([]byte("<!DOCTYPE html>\n<html><body><pre>Cannot GET /health</pre></body></html>"))
			},
			wantCode: 404, wantCase: CasePathNotFound, wantFW: Express,
			wantPhras: []string{"app.get('/health', (req, res) => res.send('ok'));", "nothing at /health"},
		},
		{
			name: "basic auth on the health path",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("WWW-Authenticate", `Basic realm="admin"`)
				w.WriteHeader(401)
			},
			wantCode: 401, wantCase: CaseAuthRequired, wantFW: "",
			wantPhras: []string{"requires authentication", `WWW-Authenticate: Basic realm="admin"`, "Serve an unauthenticated health path", "200,401"},
		},
		{
			name: "spring security 403 with a session",
			path: "/actuator/health",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Set-Cookie", "JSESSIONID=1; Path=/")
				w.WriteHeader(403)
				w.Write([]byte(`<html><body><h1>Whitelabel Error Page</h1></body></html>`))
			},
			wantCode: 403, wantCase: CaseAuthRequired, wantFW: Spring,
			wantPhras: []string{`requestMatchers("/actuator/health").permitAll()`},
		},
		{
			name: "spring actuator health DOWN",
			path: "/actuator/health",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/vnd.spring-boot.actuator.v3+json")
				w.WriteHeader(503)
				w.Write([]byte(`{"status":"DOWN","components":{"db":{"status":"DOWN","details":{"error":"Connection refused"}}}}`))
			},
			wantCode: 503, wantCase: CaseDependencyCheckFailing, wantFW: "",
			wantPhras: []string{"fails open", "Check the process, not its dependencies", `"status":"DOWN"`},
		},
		{
			name: "plain 500",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(500)
				w.Write([]byte("Internal Server Error"))
			},
			wantCode: 500, wantCase: CaseServerError, wantFW: "",
			wantPhras: []string{"instance's log", ".elbow/logs"},
		},
		{
			name:     "204 with matcher 200",
			handler:  func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) },
			wantCode: 204, wantCase: CaseSuccessCodeNotMatched, wantFW: "",
			wantPhras: []string{"HttpCode=200-299"},
		},
		{
			name: "login redirect",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/accounts/login/?next=/", http.StatusFound)
			},
			wantCode: 302, wantCase: CaseLoginRedirect, wantFW: "",
			wantPhras: []string{"requires a login", "/accounts/login/?next=/"},
		},
		{
			name: "trailing slash",
			path: "/health",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/health/", http.StatusMovedPermanently)
			},
			wantCode: 301, wantCase: CaseTrailingSlashRedirect, wantFW: "",
			wantPhras: []string{"health_check: {path: /health/}"},
		},
		{
			name:     "teapot is unrecognised",
			handler:  func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(418); w.Write([]byte("short and stout")) },
			wantCode: 418, wantCase: CaseUnrecognised, wantFW: "",
			wantPhras: []string{"does not recognise", `'{"HttpCode":"200,418"}'`},
		},
		{
			name:     "plain HTTP check on a TLS port",
			handler:  func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) },
			tls:      true,
			wantCode: 400, wantCase: CaseHTTPToTLSPort, wantFW: "",
			wantPhras: []string{"health_check: {protocol: HTTPS}", "The same check over HTTPS got 200"},
		},
		{
			name:     "HTTPS check on a plain port",
			handler:  func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) },
			protocol: healthcheck.ProtocolHTTPS,
			wantCode: 0, wantCase: CaseTLSToPlainPort, wantFW: "",
			wantPhras: []string{"health_check: {protocol: HTTP}", "The same check over plain HTTP got 200"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tgt := serveOn(t, ip, tc.tls, tc.handler)
			path, matcher := tc.path, tc.matcher
			if path == "" {
				path = "/"
			}
			if matcher == "" {
				matcher = "200"
			}
			s := settings(path, matcher)
			if tc.protocol != "" {
				s.Protocol = tc.protocol
			}
			r, d := checkAndDiagnose(t, tgt, s, public)
			if r.Passed() {
				t.Fatalf("check passed; the case needs a failing target")
			}
			if r.StatusCode != tc.wantCode {
				t.Fatalf("health check got %d (%s, %v), want %d", r.StatusCode, r.Reason, r.Err, tc.wantCode)
			}
			assertDiagnosis(t, d, tc.wantCase, tc.wantFW, tc.wantPhras...)
			if d.Evidence.HealthCheck.StatusCode != r.StatusCode || !strings.Contains(d.Evidence.HealthCheck.Request, "User-Agent: ELB-HealthChecker/2.0") {
				t.Errorf("evidence does not show the health check: %+v", d.Evidence.HealthCheck)
			}
		})
	}
}

func TestDiagnoseRefusedAndBoundToLocalhost(t *testing.T) {
	t.Run("bound to 127.0.0.1 only", func(t *testing.T) {
		// The app listens on 127.0.0.1:P; the target is 127.0.0.5:P, where nothing listens.
		lo := serveOn(t, "127.0.0.1", false, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Server", "WSGIServer/0.2 CPython/3.11.2")
			w.Header().Set("Referrer-Policy", "same-origin")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Write([]byte("hello"))
		})
		tgt := healthcheck.Target{ID: "i-5", IP: "127.0.0.5", Port: lo.Port}
		r, d := checkAndDiagnose(t, tgt, settings("/", "200"), "www.example.com")
		if r.Reason != healthcheck.ReasonFailedHealthChecks {
			t.Fatalf("reason %s (%v), want FailedHealthChecks: is something listening on %s?", r.Reason, r.Err, tgt.Addr())
		}
		assertDiagnosis(t, d, CaseBoundToLocalhost, Django, "127.0.0.1:", "runserver 0.0.0.0:", "$HOST:$PORT")
		if !d.Evidence.Loopback.Answered() {
			t.Errorf("no loopback evidence: %+v", d.Evidence.Loopback)
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		ln := listenOn(t, "127.0.0.6")
		tgt := targetOf(t, ln.Addr().String())
		ln.Close()
		r, d := checkAndDiagnose(t, tgt, settings("/", "200"), "")
		if r.Reason != healthcheck.ReasonFailedHealthChecks {
			t.Fatalf("reason %s, want FailedHealthChecks", r.Reason)
		}
		assertDiagnosis(t, d, CaseConnectionRefused, "", "connection is refused", "Read the instance's log")
	})
}

func TestDiagnoseSlowResponse(t *testing.T) {
	release := make(chan struct{})
	tgt := serveOn(t, "127.0.0.3", false, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	s := settings("/", "200")
	s.Timeout = 300 * time.Millisecond
	start := time.Now()
	r, d := checkAndDiagnose(t, tgt, s, "")
	if r.Reason != healthcheck.ReasonTimeout {
		t.Fatalf("reason %s, want Timeout", r.Reason)
	}
	assertDiagnosis(t, d, CaseSlowResponse, "", "no response within the 300ms timeout", "Raise the health check timeout")
	// Diagnosing a timeout sends nothing more: it must not double the wait.
	if d.Evidence.AsUser != nil || time.Since(start) > 2*time.Second {
		t.Errorf("a timeout diagnosis probed again (%v elapsed, asUser %+v)", time.Since(start), d.Evidence.AsUser)
	}
}

func TestDiagnoseMalformedResponse(t *testing.T) {
	ln := listenOn(t, "127.0.0.3")
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
			c.Close()
		}
	}()
	r, d := checkAndDiagnose(t, targetOf(t, ln.Addr().String()), settings("/", "200"), "")
	if r.Reason != healthcheck.ReasonFailedHealthChecks {
		t.Fatalf("reason %s, want FailedHealthChecks", r.Reason)
	}
	assertDiagnosis(t, d, CaseMalformedResponse, "", "not HTTP/1.1", "the web app's HTTP port")
}

func TestDiagnoseConnectTimeoutOffline(t *testing.T) {
	// A dial that times out cannot be made on loopback; build the result.
	tgt := healthcheck.Target{ID: "i-1", IP: "127.0.0.9", Port: 8000}
	s := settings("/", "200")
	r := healthcheck.Result{Target: tgt, Addr: s.CheckAddr(tgt), Reason: healthcheck.ReasonTimeout,
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}}
	d := Diagnoser{Offline: true}.Diagnose(context.Background(), tgt, s, r)
	assertDiagnosis(t, d, CaseConnectTimeout, "", "security group", "inbound TCP 8000")
}

func TestDiagnoseOfflineSendsNothing(t *testing.T) {
	var hits atomic.Int32
	tgt := serveOn(t, "127.0.0.3", false, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte("\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n<body>\n  <h1>Bad Request (400)</h1><p></p>\n</body>\n</html>\n"))
	})
	s := settings("/", "200")
	r := healthcheck.HTTPProber{}.Probe(context.Background(), tgt, s)
	d := Diagnoser{Offline: true}.Diagnose(context.Background(), tgt, s, r)
	assertDiagnosis(t, d, CaseDjangoAllowedHosts, Django, "ALLOWED_HOSTS")
	if hits.Load() != 1 || d.Evidence.AsUser != nil {
		t.Errorf("offline diagnosis sent %d requests, want only the check", hits.Load())
	}
}

func TestDiagnosePassedIsHealthy(t *testing.T) {
	tgt := serveOn(t, "127.0.0.3", false, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	_, d := checkAndDiagnose(t, tgt, settings("/", "200"), "")
	if d.Case != HealthyCase || d.Evidence.AsUser != nil {
		t.Fatalf("got %+v, want the healthy case without extra probes", d)
	}
}

func TestDiagnosisJSONShape(t *testing.T) {
	d := Diagnosis{Case: CaseHTTPSRedirect, Framework: Django, Summary: "s", Why: "w",
		Fixes:    []Fix{{Title: "t", Detail: "d", TradeOff: "o"}},
		Evidence: Evidence{HealthCheck: Exchange{Request: "GET / HTTP/1.1", Addr: "127.0.0.2:8000", StatusCode: 301, Location: "https://127.0.0.2/"}}}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Case", "Framework", "Summary", "Why", "Fixes", "Evidence"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	hc := m["Evidence"].(map[string]any)["HealthCheck"].(map[string]any)
	for _, k := range []string{"Request", "Addr", "StatusCode", "Location", "LatencyMs"} {
		if _, ok := hc[k]; !ok {
			t.Errorf("Evidence.HealthCheck lacks %q: %s", k, b)
		}
	}
	fix := m["Fixes"].([]any)[0].(map[string]any)
	for _, k := range []string{"Title", "Detail", "TradeOff"} {
		if _, ok := fix[k]; !ok {
			t.Errorf("Fix lacks %q", k)
		}
	}
}

// The refused classification rests on errors.Is(ECONNREFUSED); make sure the
// prober's error carries it, or every refused target would be "malformed".
func TestRefusedErrorIsDetectable(t *testing.T) {
	ln := listenOn(t, "127.0.0.3")
	addr := ln.Addr().String()
	ln.Close()
	_, err := net.Dial("tcp", addr)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial error %v is not ECONNREFUSED", err)
	}
}

// A TLS server that is not Go's net/http closes a plain-HTTP connection without
// an HTTP answer; the diagnosis must find TLS by trying a handshake.
func TestDiagnosePlainHTTPOnBareTLSPort(t *testing.T) {
	cert := httptest.NewTLSServer(http.NotFoundHandler()) // only for its certificate
	cfg := cert.TLS.Clone()
	cert.Close()
	ln := listenOn(t, "127.0.0.3")
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				tc := tls.Server(c, cfg)
				if err := tc.Handshake(); err != nil {
					return // plain HTTP: hang up, as many TLS servers do
				}
				if _, err := http.ReadRequest(bufio.NewReader(tc)); err != nil {
					return
				}
				tc.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"))
			}(c)
		}
	}()
	r, d := checkAndDiagnose(t, targetOf(t, ln.Addr().String()), settings("/", "200"), "")
	if r.Reason != healthcheck.ReasonFailedHealthChecks {
		t.Fatalf("reason %s (%v), want FailedHealthChecks", r.Reason, r.Err)
	}
	assertDiagnosis(t, d, CaseHTTPToTLSPort, "", "health_check: {protocol: HTTPS}", "The same check over HTTPS got 200")
}
