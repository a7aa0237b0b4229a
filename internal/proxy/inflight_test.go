package proxy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestShutdownWaitsForHandlersInFlight: shutdown's wait returns only once
// every request net/http handed over has ended, including one that ended
// with http.ErrAbortHandler's panic.
func TestShutdownWaitsForHandlersInFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	h := &inflightHandlers{next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
	})}
	serve := func(path string) {
		defer func() { _ = recover() }() // as net/http recovers ErrAbortHandler
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	if err := h.wait(context.Background()); err != nil {
		t.Fatalf("wait with nothing in flight: %v", err)
	}
	go serve("/")
	go serve("/abort")
	<-entered
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait with two requests in flight: %v; want it to wait until its deadline", err)
	}
	close(release)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.wait(ctx); err != nil {
		t.Fatalf("wait after both ended (one by panic): %v", err)
	}
}
