package proxy

import (
	"context"
	"net/http"
	"sync"
)

// inflightHandlers serves net/http's requests with the listener and counts
// those being served, so that shutdown can wait for them: http.Server's
// Shutdown does not wait for the handlers of an HTTP/2 connection that
// closed (the client left, or its GOAWAY was answered) while they run.
// A mutex, not a sync.WaitGroup: requests may still arrive on open
// connections while shutdown waits, which a WaitGroup's Add must not do.
type inflightHandlers struct {
	next http.Handler // the listener
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0 with a waiter
}

func (h *inflightHandlers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	// Deferred: a handler may end with http.ErrAbortHandler's panic.
	defer h.done()
	h.next.ServeHTTP(w, r)
}

func (h *inflightHandlers) done() {
	h.mu.Lock()
	h.n--
	if h.n == 0 && h.idle != nil {
		close(h.idle)
		h.idle = nil
	}
	h.mu.Unlock()
}

// wait returns when no request is being served, or with ctx's error.
func (h *inflightHandlers) wait(ctx context.Context) error {
	h.mu.Lock()
	if h.n == 0 {
		h.mu.Unlock()
		return nil
	}
	if h.idle == nil {
		h.idle = make(chan struct{})
	}
	idle := h.idle
	h.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
