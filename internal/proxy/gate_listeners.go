package proxy

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// gateListener gates every connection a net.Listener accepts (a plain-HTTP
// listener served by net/http alone).
type gateListener struct {
	net.Listener
	p *Proxy
}

func (gl gateListener) Accept() (net.Conn, error) {
	nc, err := gl.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gl.p.stats.newConns.Add(1)
	return gl.p.newGatedConn(nc, newConnTraceID(), nil), nil
}

// tlsHandshakeTimeout bounds a client's TLS handshake, as the ALB does
// (a client that has not finished within it is dropped).
const tlsHandshakeTimeout = 10 * time.Second

// tlsGateListener is an HTTPS listener's: it completes each TLS handshake
// itself (on the connection's own goroutine), then gives net/http the
// *tls.Conn of an HTTP/2 connection (net/http serves HTTP/2 from it), and
// a gated connection for HTTP/1.x.
type tlsGateListener struct {
	net.Listener
	p     *Proxy
	cfg   *tls.Config
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newTLSGateListener(ln net.Listener, p *Proxy, cfg *tls.Config) *tlsGateListener {
	t := &tlsGateListener{Listener: ln, p: p, cfg: cfg, conns: make(chan net.Conn), done: make(chan struct{})}
	go t.acceptLoop()
	return t
}

func (t *tlsGateListener) acceptLoop() {
	var backoff time.Duration
	for {
		nc, err := t.Listener.Accept()
		if err != nil {
			select {
			case <-t.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				t.Close()
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			t.p.log.Warn("accept", "addr", t.Addr().String(), "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		t.p.stats.newConns.Add(1)
		go t.handshake(nc)
	}
}

func (t *tlsGateListener) handshake(nc net.Conn) {
	tc := tls.Server(nc, t.cfg)
	_ = nc.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
	if err := tc.Handshake(); err != nil {
		t.p.stats.clientTLSError.Add(1)
		t.p.log.Debug("TLS handshake", "client", nc.RemoteAddr().String(), "err", err)
		_ = nc.Close()
		return
	}
	_ = nc.SetDeadline(time.Time{})
	var c net.Conn = tc
	if st := tc.ConnectionState(); st.NegotiatedProtocol != "h2" {
		c = t.p.newGatedConn(tc, newConnTraceID(), &st)
	}
	select {
	case t.conns <- c:
	case <-t.done:
		_ = c.Close()
	}
}

func (t *tlsGateListener) Accept() (net.Conn, error) {
	select {
	case c := <-t.conns:
		return c, nil
	case <-t.done:
		return nil, net.ErrClosed
	}
}

func (t *tlsGateListener) Close() error {
	var err error
	t.once.Do(func() {
		close(t.done)
		err = t.Listener.Close()
	})
	return err
}
