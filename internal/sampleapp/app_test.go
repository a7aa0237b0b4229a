package sampleapp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/imds"
)

// countingIMDS is a real imds.Server wrapped so the test can count the
// requests it gets and script one failure.
type countingIMDS struct {
	URL      string
	requests atomic.Int64
	failure  atomic.Pointer[scriptedFailure]
}

type scriptedFailure struct {
	path   string
	status int
}

// failOnce makes the next request for path fail with status.
func (c *countingIMDS) failOnce(path string, status int) {
	c.failure.Store(&scriptedFailure{path: path, status: status})
}

// startIMDS serves inst's metadata on ip, a loopback address.

func startIMDS(t *testing.T, ip string, inst imds.Instance, o imds.Options) *countingIMDS {
	t.Helper()
	srv, err := imds.New(inst, o)
	if err != nil {
		t.Fatalf("imds.New: %v", err)
	}
	c := &countingIMDS{}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		if f := c.failure.Load(); f != nil && f.path == r.URL.Path && c.failure.CompareAndSwap(f, nil) {
			http.Error(w, "scripted failure", f.status)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(ts.Close)
	c.URL = ts.URL
	return c
}

// startApp serves the sample app on ip through Serve, on a real socket, and
// returns its base URL. The app stops when the test ends.
func startApp(t *testing.T, ip, endpoint string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, endpoint, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve after cancel: %v, want nil", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string, headerPairs ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headerPairs); i += 2 {
		req.Header.Set(headerPairs[i], headerPairs[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading: %v", url, err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

func TestPageShowsTheInstanceAndTheRequest(t *testing.T) {
	const ip = "127.0.0.2" // instance 1 of the fleet, as elbow lays it out
	inst := imds.NewInstance("i-0aaaabbbbccccdddd", ip, "us-east-1")
	// Tokens required: the page can only show the facts if it used IMDSv2.
	md := startIMDS(t, ip, inst, imds.Options{TokensRequired: true})
	app := startApp(t, ip, md.URL)

	status, header, body := get(t, app+"/",
		"X-Forwarded-For", "203.0.113.7",
		"X-Forwarded-Proto", "https",
		"X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678")
	if status != http.StatusOK {
		t.Fatalf("GET /: %d\n%s", status, body)
	}
	if ct := header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("content type %q, want text/html; charset=utf-8", ct)
	}
	if cc := header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store so reloads reach the load balancer", cc)
	}
	for _, want := range []string{
		"i-0aaaabbbbccccdddd", "127.0.0.2", "us-east-1a",
		strings.TrimPrefix(app, "http://"), // Host
		"203.0.113.7", "https", "Root=1-67891233-abcdef012345678912345678",
		"reloading this page shows another instance",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "metadata unavailable") {
		t.Errorf("page reports metadata unavailable with a working service:\n%s", body)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("page loads or links external assets:\n%s", body)
	}
}

func TestPageEscapesHeaders(t *testing.T) {
	md := startIMDS(t, "127.0.0.2", imds.NewInstance("i-1", "127.0.0.2", "us-east-1"), imds.Options{})
	app := startApp(t, "127.0.0.2", md.URL)
	_, _, body := get(t, app+"/", "X-Forwarded-For", `<script>alert(1)</script>`)
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("X-Forwarded-For not escaped:\n%s", body)
	}
}

func TestHealthIsCheapAndOK(t *testing.T) {
	md := startIMDS(t, "127.0.0.2", imds.NewInstance("i-1", "127.0.0.2", "us-east-1"), imds.Options{})
	app := startApp(t, "127.0.0.2", md.URL)
	for range 3 {
		status, _, body := get(t, app+"/health", "User-Agent", "ELB-HealthChecker/2.0")
		if status != http.StatusOK || body != "ok" {
			t.Fatalf("GET /health: %d %q, want 200 ok", status, body)
		}
	}
	if n := md.requests.Load(); n != 0 {
		t.Errorf("/health made %d metadata requests, want none", n)
	}
}

func TestUnknownPathIs404(t *testing.T) {
	app := startApp(t, "127.0.0.2", "http://127.0.0.1:1")
	if status, _, _ := get(t, app+"/nothing"); status != http.StatusNotFound {
		t.Errorf("GET /nothing: %d, want 404", status)
	}
}

func TestMetadataIsCached(t *testing.T) {
	md := startIMDS(t, "127.0.0.2", imds.NewInstance("i-1", "127.0.0.2", "us-east-1"), imds.Options{})
	app := startApp(t, "127.0.0.2", md.URL)
	get(t, app+"/")
	first := md.requests.Load()
	if first != 4 { // token + three values
		t.Fatalf("first page made %d metadata requests, want 4 (token, instance-id, local-ipv4, az)", first)
	}
	get(t, app+"/")
	if n := md.requests.Load(); n != first {
		t.Errorf("second page made %d more metadata requests, want 0 (cached)", n-first)
	}
}

func TestMetadataUnavailable(t *testing.T) {
	// A port that was just closed on loopback: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name       string
		failPath   string // "" when the endpoint is closed
		failStatus int
		wantReason string
	}{
		{"refused", "", 0, "connection refused"},
		{"token refused", "/latest/api/token", http.StatusForbidden, "metadata token: PUT http://127.0.0.2:"},
		{"value fails", "/latest/meta-data/local-ipv4", http.StatusInternalServerError, "metadata /latest/meta-data/local-ipv4: GET http://127.0.0.2:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			endpoint := closed
			var md *countingIMDS
			if tc.failPath != "" {
				md = startIMDS(t, "127.0.0.2", imds.NewInstance("i-0feedfeedfeedfeed", "127.0.0.2", "us-east-1"), imds.Options{})
				md.failOnce(tc.failPath, tc.failStatus)
				endpoint = md.URL
			}
			app := startApp(t, "127.0.0.2", endpoint)

			status, _, body := get(t, app+"/")
			if status != http.StatusOK {
				t.Fatalf("GET / with metadata failing: %d, want the page anyway", status)
			}
			if !strings.Contains(body, "metadata unavailable: ") || !strings.Contains(body, tc.wantReason) {
				t.Errorf("page does not say metadata unavailable with %q:\n%s", tc.wantReason, body)
			}
			if tc.failStatus != 0 && !strings.Contains(body, "status "+strconv.Itoa(tc.failStatus)) {
				t.Errorf("page does not name status %d:\n%s", tc.failStatus, body)
			}
			if md == nil {
				return
			}
			// The failure was not cached: the next page reads again and succeeds.
			_, _, body = get(t, app+"/")
			if !strings.Contains(body, "i-0feedfeedfeedfeed") || strings.Contains(body, "metadata unavailable") {
				t.Errorf("page after the metadata service recovered:\n%s", body)
			}
		})
	}
}

func TestMetadataTimeout(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) }) // runs first, so Close does not wait

	app := httptest.NewServer(newHandler(hung.URL, nil, 50*time.Millisecond))
	t.Cleanup(app.Close)
	status, _, body := get(t, app.URL+"/")
	if status != http.StatusOK || !strings.Contains(body, "metadata unavailable: metadata token: ") ||
		!(strings.Contains(body, "deadline exceeded") || strings.Contains(body, "Timeout")) {
		t.Errorf("GET / with a hung metadata service: %d\n%s", status, body)
	}
}

func TestRun(t *testing.T) {
	t.Run("stops cleanly when the context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := Run(ctx, "127.0.0.2:0", "", nil); err != nil {
			t.Errorf("Run with an ended context: %v, want nil", err)
		}
	})
	t.Run("reports an address it cannot listen on", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		err = Run(context.Background(), ln.Addr().String(), "", nil)
		if err == nil || !strings.Contains(err.Error(), "listen on "+ln.Addr().String()) {
			t.Errorf("Run on a busy address: %v, want a listen error naming it", err)
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("Run on a busy address: %v, want EADDRINUSE wrapped", err)
		}
	})
}
