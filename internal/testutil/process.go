package testutil

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Start runs cmd as a child of the test until the test ends, and waits until
// addr accepts connections. The child's output is logged when the test fails.
func Start(t testing.TB, cmd *exec.Cmd, addr string) {
	t.Helper()
	var out SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("output of %s:\n%s", cmd.Path, out.String())
		}
	})
	waitListening(t, addr, exited, func() string { return cmd.Path + " output:\n" + out.String() })
}

// WaitListening waits until addr accepts connections, at most 20 s.
func WaitListening(t testing.TB, addr string) {
	t.Helper()
	waitListening(t, addr, nil, func() string { return "" })
}

func waitListening(t testing.TB, addr string, exited <-chan struct{}, output func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("exited before listening on %s; %s", addr, output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after 20 s; %s", addr, output())
		}
	}
}

// FakeIMDS serves the two paths an app reads its private IP from, IMDSv2
// style: PUT /latest/api/token (TTL header required) and GET
// /latest/meta-data/local-ipv4 (token required). It listens on ip and returns
// the endpoint URL for AWS_EC2_METADATA_SERVICE_ENDPOINT. The real service is
// internal/imds; this stand-in keeps the tests of other packages independent.
func FakeIMDS(t testing.TB, ip, localIPv4 string) string {
	t.Helper()
	const token = "elbow-test-token"
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /latest/api/token", func(w http.ResponseWriter, r *http.Request) {
		ttl, err := strconv.Atoi(r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
		if err != nil || ttl < 1 || ttl > 21600 || r.Header.Get("X-Forwarded-For") != "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Write([]byte(token))
	})
	mux.HandleFunc("GET /latest/meta-data/local-ipv4", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-aws-ec2-metadata-token") != token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(localIPv4))
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("fake metadata service on %s: %v", ip, err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}
