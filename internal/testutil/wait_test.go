package testutil_test

import (
	"context"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// fatalRecorder is a testing.TB that records Fatalf instead of stopping.
type fatalRecorder struct {
	testing.TB
	fatal string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.fatal = format
}

func TestEventuallyWaitsForTheCondition(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 5 {
			n.Add(1)
		}
	}()
	testutil.Eventually(t, 5*time.Second, func() bool { return n.Load() == 5 }, "five increments")

	r := &fatalRecorder{TB: t}
	start := time.Now()
	testutil.Eventually(r, 50*time.Millisecond, func() bool { return false }, "never")
	if r.fatal == "" {
		t.Fatal("a condition that never holds did not fail the test")
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("gave up after %v, before the 50 ms timeout", d)
	}
}

func TestServeStopsWithTheTest(t *testing.T) {
	stopped := make(chan struct{})
	t.Run("serving", func(t *testing.T) {
		url := testutil.Serve(t, func(ctx context.Context, ln net.Listener) error {
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
			go func() { <-ctx.Done(); close(stopped); srv.Close() }()
			if err := srv.Serve(ln); err != http.ErrServerClosed {
				return err
			}
			return nil
		})
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
	select {
	case <-stopped:
	default:
		t.Fatal("the server's context was not cancelled when its test ended")
	}
}

func TestFreePortOnAll(t *testing.T) {
	ips := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	port := testutil.FreePortOnAll(t, ips...)
	for _, ip := range ips {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("port %d is not free on %s: %v", port, ip, err)
		}
		ln.Close()
	}
}

// TestFreePortNeverRepeats: a config that takes an app port and a metadata
// port from two FreePort calls must get two ports. The kernel can offer one
// port to two listen-then-close calls in a row (it failed CI once:
// "42289 is also the app's port"), so many calls must still be distinct.
func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 2000 {
		port := testutil.FreePort(t, "127.0.0.1")
		if seen[port] {
			t.Fatalf("port %d returned twice", port)
		}
		seen[port] = true
	}
}

// TestAppEnvIsAValidConfig loads the YAML as elbow does.
func TestAppEnvIsAValidConfig(t *testing.T) {
	y := testutil.AppEnv{Name: "e2e", Command: []string{"/usr/bin/python3", "app with space.py"}, Min: 2,
		Env: map[string]string{"B": "2", "A": `quote"d`}, AppPort: 8000, IMDSPort: 8001, ListenPort: 8080}
	cfg, err := config.Parse("elbow.yaml", []byte(y.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if !reflect.DeepEqual(cfg.Instances.Command.Argv, y.Command) || !reflect.DeepEqual(cfg.Instances.Env, y.Env) || cfg.Instances.Min != 2 || cfg.Instances.Port != 8000 {
		t.Errorf("instances = %+v", cfg.Instances)
	}
}
