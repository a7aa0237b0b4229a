package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestUpHTTP2TargetGroup: `elbow up` with a target group whose
// protocol_version is HTTP2. Its health checks are HTTP/2: the target
// that speaks HTTP/2 (prior knowledge) turns healthy, the one that speaks
// only HTTP/1.1 unhealthy. Requests from HTTP/2 clients reach the healthy
// one over HTTP/2; an HTTP/1.1 request gets the ALB's 464.
func TestUpHTTP2TargetGroup(t *testing.T) {
	t.Parallel()
	var addrs []string
	for i, ip := range []string{"127.0.0.6", "127.0.0.7"} {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s", ip, r.Proto)
		})}
		var protocols http.Protocols
		protocols.SetHTTP1(true)
		if i == 0 {
			protocols.SetUnencryptedHTTP2(true)
		}
		srv.Protocols = &protocols
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		addrs = append(addrs, ln.Addr().String())
	}
	listen := freePort(t)
	p := startUp(t, fmt.Sprintf(`name: e2e-h2
instances:
  targets: [%s, %s]
target_groups:
  - name: grpcish
    protocol_version: HTTP2
    health_check: {interval: 5, timeout: 2, healthy_threshold: 2, unhealthy_threshold: 2}
listeners:
  - protocol: HTTPS
    port: %d
    default_action: {target_group: grpcish}
console:
  address: 127.0.0.1:0
`, addrs[0], addrs[1], listen))
	p.waitFor(t, `Target 127\.0\.0\.6 \(127\.0\.0\.6:\d+\) in grpcish: healthy`, 30*time.Second)
	p.waitFor(t, `Target 127\.0\.0\.7 \(127\.0\.0\.7:\d+\) in grpcish: unhealthy`, 30*time.Second)

	url := fmt.Sprintf("https://127.0.0.1:%d/", listen)
	h2 := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for range 4 {
		code, body, err := get(h2, url)
		if err != nil || code != 200 || body != "127.0.0.6 HTTP/2.0" {
			t.Fatalf("HTTP/2 client: %d %q %v; want 200 from 127.0.0.6 over HTTP/2", code, body, err)
		}
	}
	h1 := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if code, body, err := get(h1, url); err != nil || code != 464 {
		t.Fatalf("HTTP/1.1 client: %d %q %v; want 464", code, body, err)
	}
}
