package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// echoProto answers with the protocol it was spoken to and the forwarded
// headers.
var echoProto = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, r.Proto+" "+r.Header.Get("X-Forwarded-Proto")+" "+r.Header.Get("X-Forwarded-For"))
})

// h2cTarget is a target on ip serving h that speaks HTTP/2 with prior
// knowledge (and HTTP/1.1); useTLS serves h2 over TLS instead.
func h2cTarget(t *testing.T, ip string, useTLS bool, h http.Handler) healthcheck.Target {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	protocols.SetHTTP2(true)
	srv.Config.Protocols = &protocols
	if useTLS {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return healthcheck.Target{ID: "h2-" + ip, IP: ip, Port: ln.Addr().(*net.TCPAddr).Port}
}

// TestProtocolVersionHTTP2: an HTTP2 target group's targets get HTTP/2
// (prior knowledge to HTTP targets, ALPN h2 to HTTPS ones) with the usual
// forwarded headers; an HTTP/1.1 request for it gets the ALB's 464, as
// does a gRPC request for an HTTP1 group, and neither reaches a target.
func TestProtocolVersionHTTP2(t *testing.T) {
	plain := h2cTarget(t, "127.0.0.2", false, echoProto)
	overTLS := h2cTarget(t, "127.0.0.3", true, echoProto)
	var h1Requests atomic.Int64
	h1 := startBackend(t, "127.0.0.4", "h1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h1Requests.Add(1)
		_, _ = io.WriteString(w, "h1 "+r.Proto)
	}))
	groups := Groups{
		"h2c": newTGFor(t, config.TargetGroup{Name: "h2c", Protocol: "HTTP", ProtocolVersion: "HTTP2", Port: 8000,
			HealthCheck: config.DefaultHealthCheck, LoadBalancingAlgorithmType: "round_robin"}, plain),
		"h2tls": newTGFor(t, config.TargetGroup{Name: "h2tls", Protocol: "HTTPS", ProtocolVersion: "HTTP2", Port: 8000,
			HealthCheck: config.DefaultHealthCheck, LoadBalancingAlgorithmType: "round_robin"}, overTLS),
		"h1": newTG(t, "h1", nil, h1),
	}
	p := startProxy(t, Options{}, groups,
		config.Listener{Protocol: "HTTPS", DefaultAction: forwardTo("h1"), Rules: []config.Rule{
			{Priority: 1, Conditions: []config.Condition{{PathPattern: []string{"/c/*"}}}, Action: forwardTo("h2c")},
			{Priority: 2, Conditions: []config.Condition{{PathPattern: []string{"/t/*"}}}, Action: forwardTo("h2tls")},
		}})
	base := p.Listeners()[0].URL()
	h2 := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	h1c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

	for _, path := range []string{"/c/x", "/t/x"} {
		got := get(t, h2, base+path)
		if got.code != 200 || !strings.HasPrefix(got.body, "HTTP/2.0 https 127.0.0.1") {
			t.Fatalf("HTTP/2 client, %s: %d %q; want 200 from the target over HTTP/2 with X-Forwarded-*", path, got.code, got.body)
		}
		if got := get(t, h1c, base+path); got.code != statusIncompatibleProtocol {
			t.Fatalf("HTTP/1.1 client, %s: %d %q; want 464", path, got.code, got.body)
		}
	}
	// The HTTP1 group: HTTP/1.1 to the target, whatever the client spoke;
	// a gRPC call is refused.
	if got := get(t, h2, base+"/"); got.code != 200 || got.body != "h1 HTTP/1.1" {
		t.Fatalf("HTTP1 group from an HTTP/2 client: %d %q; want 200 h1 HTTP/1.1", got.code, got.body)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/pkg.Service/Method", strings.NewReader("\x00\x00\x00\x00\x00"))
	req.Header.Set("Content-Type", "application/grpc+proto")
	if got := do(t, h2, req); got.code != statusIncompatibleProtocol {
		t.Fatalf("gRPC call to an HTTP1 group: %d %q; want 464", got.code, got.body)
	}
	if n := h1Requests.Load(); n != 1 {
		t.Fatalf("the HTTP1 target got %d requests; want 1 (the refused ones never reach it)", n)
	}
}

// TestHTTP2ResponseTrailers: a target's trailers reach an HTTP/2 client
// through an HTTP2 group (gRPC's grpc-status travels this way): declared
// ones, and ones the target sends without declaring them.
func TestHTTP2ResponseTrailers(t *testing.T) {
	target := h2cTarget(t, "127.0.0.2", false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.Header().Set("Content-Type", "application/grpc")
		_, _ = io.WriteString(w, "body")
		w.(http.Flusher).Flush()
		w.Header().Set("Grpc-Status", "0")
		w.Header().Set("Grpc-Message", "ok")
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "late")
	}))
	groups := Groups{"h2": newTGFor(t, config.TargetGroup{Name: "h2", Protocol: "HTTP", ProtocolVersion: "HTTP2", Port: 8000,
		HealthCheck: config.DefaultHealthCheck, LoadBalancingAlgorithmType: "round_robin"}, target)}
	p := startProxy(t, Options{}, groups, config.Listener{Protocol: "HTTPS", DefaultAction: forwardTo("h2")})
	h2 := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := h2.Get(p.Listeners()[0].URL() + "/pkg.S/M")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.ProtoMajor != 2 || string(body) != "body" {
		t.Fatalf("%s %q; want HTTP/2 and the body", res.Proto, body)
	}
	for k, want := range map[string]string{"Grpc-Status": "0", "Grpc-Message": "ok", "X-Undeclared": "late"} {
		if got := res.Trailer.Get(k); got != want {
			t.Errorf("trailer %s = %q; want %q (trailers %v)", k, got, want, res.Trailer)
		}
	}
}
