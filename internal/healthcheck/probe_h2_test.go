package healthcheck

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// h2Target serves h on addr 127.0.0.1:0: cleartext HTTP/2 with prior
// knowledge and HTTP/1.1 (h2c), or, with useTLS, TLS offering h2 and
// http/1.1. http1Only serves HTTP/1.1 alone. It records each request's
// protocol and user agent.
func h2Target(t *testing.T, useTLS, http1Only bool, seen chan<- string) string {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Proto + " " + r.Method + " " + r.Host + " " + r.URL.RequestURI() + " " + r.UserAgent()
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewUnstartedServer(h)
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	if !http1Only {
		protocols.SetHTTP2(true)
		protocols.SetUnencryptedHTTP2(true)
	}
	srv.Config.Protocols = &protocols
	if useTLS {
		srv.EnableHTTP2 = !http1Only
		if http1Only {
			// No ALPN at all, as nginx without http2 answers: the
			// handshake completes without h2.
			srv.TLS = &tls.Config{NextProtos: []string{}}
		}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestProbeHTTP2: a target group whose protocol version is HTTP2 checks
// with HTTP/2: over cleartext with prior knowledge, over TLS with ALPN h2.
// A target that speaks only HTTP/1.1 fails the check, as it does behind
// the ALB; the same target passes an HTTP1 group's check.
func TestProbeHTTP2(t *testing.T) {
	for _, tc := range []struct {
		name      string
		useTLS    bool
		http1Only bool
		wantPass  bool
		wantErr   string
	}{
		{"h2c", false, false, true, ""},
		{"h2 over TLS", true, false, true, ""},
		{"HTTP/1.1-only target, cleartext", false, true, false, ""},
		{"HTTP/1.1-only target, TLS", true, true, false, "did not negotiate HTTP/2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := make(chan string, 4)
			addr := h2Target(t, tc.useTLS, tc.http1Only, seen)
			s := settingsFor("/health?deep=1", "200", 2*time.Second)
			s.HTTP2 = true
			if tc.useTLS {
				s.Protocol = ProtocolHTTPS
			}
			res := HTTPProber{}.Probe(t.Context(), targetOf(t, addr), s)
			if res.Passed() != tc.wantPass {
				t.Fatalf("Passed = %v (reason %q, code %d, err %v); want %v", res.Passed(), res.Reason, res.StatusCode, res.Err, tc.wantPass)
			}
			if tc.wantErr != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tc.wantErr)) {
				t.Fatalf("err %v; want one saying %q", res.Err, tc.wantErr)
			}
			if !tc.wantPass {
				if res.Reason != ReasonFailedHealthChecks {
					t.Fatalf("reason %q; want %q", res.Reason, ReasonFailedHealthChecks)
				}
				// The same target passes an HTTP1 group's check.
				s.HTTP2 = false
				if res := (HTTPProber{}).Probe(t.Context(), targetOf(t, addr), s); !res.Passed() {
					t.Fatalf("HTTP/1.1 check of the HTTP/1.1 target: reason %q, err %v", res.Reason, res.Err)
				}
				return
			}
			select {
			case got := <-seen:
				want := "HTTP/2.0 GET " + addr + " /health?deep=1 " + UserAgent
				if got != want {
					t.Fatalf("the target saw %q; want %q", got, want)
				}
			case <-time.After(time.Second):
				t.Fatal("the target saw no request")
			}
		})
	}
}

// TestProbeHTTP2CodeMismatch: an HTTP/2 answer outside the matcher is a
// response-code mismatch, with its code and body kept for diagnosis.
func TestProbeHTTP2CodeMismatch(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Invalid HTTP_HOST header", http.StatusBadRequest)
	}))
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	srv.Config.Protocols = &protocols
	srv.Start()
	t.Cleanup(srv.Close)
	s := settingsFor("/", "200", 2*time.Second)
	s.HTTP2 = true
	res := HTTPProber{}.Probe(t.Context(), targetOf(t, srv.Listener.Addr().String()), s)
	if res.Reason != ReasonResponseCodeMismatch || res.StatusCode != 400 || !strings.Contains(string(res.Body), "Invalid HTTP_HOST") {
		t.Fatalf("reason %q, code %d, body %q; want %q, 400 and the body", res.Reason, res.StatusCode, res.Body, ReasonResponseCodeMismatch)
	}
}
