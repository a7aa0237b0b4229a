package proxy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/proxy/upstream"
)

// TestUpstreamConnectTimeoutAndRefused: package upstream's dial
// (DialContext with a timeout context, linked in the busy list first)
// still reports a connect timeout as an ErrConnect timeout (504) and a
// refused connection as a plain ErrConnect (retried, 502), and leaves
// nothing in the busy list.
func TestUpstreamConnectTimeoutAndRefused(t *testing.T) {
	up := &upstream.Client{IdleTimeout: time.Second, ConnectTimeout: 300 * time.Millisecond}
	ex := &exchange{Context: context.Background()}
	for _, tc := range []struct {
		target healthcheck.Target
		status int
	}{
		{unconnectable(t, "127.0.0.2"), http.StatusGatewayTimeout},
		{closedTarget(t, "127.0.0.3", "closed"), http.StatusBadGateway},
	} {
		req := upstream.Request{Addr: tc.target.Addr(), In: httptest.NewRequest("GET", "/", nil), Host: "h", Owner: 1, Tag: ex}
		start := time.Now()
		res := up.Forward(httptest.NewRecorder(), &req)
		if !errors.Is(res.Err, upstream.ErrConnect) {
			t.Fatalf("%s: %v; want ErrConnect", tc.target.ID, res.Err)
		}
		if got := errorStatus(ex, res.Err); got != tc.status {
			t.Fatalf("%s: %v after %v: status %d; want %d", tc.target.ID, res.Err, time.Since(start), got, tc.status)
		}
		if up.Abort(ex) || up.Cut(1) != 0 {
			t.Fatalf("%s: a failed dial left its conn in the busy list", tc.target.ID)
		}
	}
}

// TestUpstreamCutRacesDial: Cut and Abort racing dials, exchanges and
// puts (-race): no nil nc, nothing left in the busy list.
func TestUpstreamCutRacesDial(t *testing.T) {
	b := startBackend(t, "127.0.0.2", "b", named("b"))
	up := &upstream.Client{IdleTimeout: time.Second, MaxIdlePerTarget: 2}
	// Bounded in count: each forwarder makes its requests, the cutters race
	// them until all are made.
	const perForwarder = 400
	stop := make(chan struct{})
	var forwarders, cutters sync.WaitGroup
	for i := range 8 {
		ex := &exchange{Context: context.Background()}
		forwarders.Go(func() {
			for range perForwarder {
				req := upstream.Request{Addr: b.target.Addr(), In: httptest.NewRequest("GET", "/", nil), Host: "h", Owner: i % 2, Tag: ex}
				up.Forward(httptest.NewRecorder(), &req)
			}
		})
		cutters.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				up.Abort(ex)
				up.Cut(i % 2)
				up.CloseIdle()
			}
		})
	}
	forwarders.Wait()
	close(stop)
	cutters.Wait()
	if up.Cut(0)+up.Cut(1) != 0 {
		t.Fatal("conns left in the busy list")
	}
}
