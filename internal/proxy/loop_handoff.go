package proxy

import (
	"context"
	"net"
	"time"
)

// handOff gives the connection, from the request at buf[r:] on, to the
// listener's http.Server; false when that server is shut down.
func (c *clientConn) handOff() bool {
	if c.bw.Buffered() > 0 && c.bw.Flush() != nil {
		return false
	}
	_ = c.nc.SetDeadline(time.Time{})
	hc := &handedConn{Conn: c.nc, pending: append([]byte(nil), c.buf[c.r:c.w]...)}
	c.l.loop.handedOff.Add(1)
	return c.l.loop.handoff.deliver(c.l.p.newGatedConn(hc, c.connTraceID, c.tlsState))
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (h *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-h.conns:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handoffListener) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handoffListener) Addr() net.Addr { return h.addr }

func (h *handoffListener) deliver(c net.Conn) bool {
	select {
	case h.conns <- c:
		return true
	case <-h.done:
		return false
	}
}

// handedConn is a connection handed over with bytes already read from it.
type handedConn struct {
	net.Conn
	pending []byte
}

func (h *handedConn) Read(p []byte) (int, error) {
	if len(h.pending) > 0 {
		n := copy(p, h.pending)
		h.pending = h.pending[n:]
		return n, nil
	}
	return h.Conn.Read(p)
}

// shutdownLoop stops the loop: idle connections close at once, active ones
// after their request; it returns when none is left, or when ctx is done
// (the rest are then closed).
func (l *Listener) shutdownLoop(ctx context.Context) error {
	l.loop.closing.Store(true)
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for {
		l.loop.mu.Lock()
		left := len(l.loop.conns) + len(l.loop.h2conns)
		for c := range l.loop.conns {
			if c.state.CompareAndSwap(connIdle, connClosed) {
				_ = c.nc.Close()
			}
		}
		h2 := make([]*h2Conn, 0, len(l.loop.h2conns))
		for c := range l.loop.h2conns {
			h2 = append(h2, c)
		}
		l.loop.mu.Unlock()
		// HTTP/2: GOAWAY, then each closes after its last stream.
		for _, c := range h2 {
			c.shutdown()
		}
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			l.loop.mu.Lock()
			for c := range l.loop.conns {
				_ = c.nc.Close()
			}
			for c := range l.loop.h2conns {
				_ = c.nc.Close()
			}
			l.loop.mu.Unlock()
			return ctx.Err()
		case <-ticker.C:
		}
	}
}
