package imds

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// fakeClock is the injected clock: tests move it instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testInstance() Instance {
	return NewInstance("i-0123456789abcdef0", "127.0.0.2", "eu-west-1")
}

type testServer struct {
	*httptest.Server
	imds  *Server
	clock *fakeClock
	logs  *testutil.SyncBuffer
}

// startServer serves inst's metadata on a real loopback socket
// (httptest listens on 127.0.0.1).
func startServer(t *testing.T, inst Instance, o Options) *testServer {
	t.Helper()
	clock := newFakeClock()
	logs := &testutil.SyncBuffer{}
	o.Now = clock.Now
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(inst, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// Serve through HTTPServer, so every test runs with the service's own
	// connection timeouts.
	ts := httptest.NewUnstartedServer(srv)
	ts.Config = srv.HTTPServer()
	ts.Start()
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, imds: srv, clock: clock, logs: logs}
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends method path with the given header pairs ("Name", "value", ...).
func (ts *testServer) do(t *testing.T, method, path string, headerPairs ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, nil)
	if err != nil {
		t.Fatalf("request %s %s: %v", method, path, err)
	}
	for i := 0; i+1 < len(headerPairs); i += 2 {
		req.Header.Add(headerPairs[i], headerPairs[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// token takes an IMDSv2 token with ttl seconds, failing the test otherwise.
func (ts *testServer) token(t *testing.T, ttl string) string {
	t.Helper()
	r := ts.do(t, http.MethodPut, TokenPath, TokenTTLHeader, ttl)
	if r.status != http.StatusOK || r.body == "" {
		t.Fatalf("PUT %s ttl %s: %d %q, want 200 with a token", TokenPath, ttl, r.status, r.body)
	}
	return r.body
}

func lines(s ...string) string { return strings.Join(s, "\n") }
