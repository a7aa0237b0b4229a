package proxy

import (
	"crypto/tls"
	"net"
	"time"

	"github.com/elbow-lb/elbow/internal/proxy/rawio"
)

// The connection loop over TLS. An HTTPS listener's connection is
// handshaken on its own goroutine; one that negotiated HTTP/1.1 (or no
// ALPN protocol) stays on that goroutine and is served by the same loop as
// plain HTTP (loop.go), its reads and writes going through a tls.Conn, so
// every request rule, buffer and relay is the plain loop's. One that
// negotiated h2 is served by the loop's HTTP/2 server (h2conn.go).
//
// Under the tls.Conn, the TCP connection is read and written with package
// rawio's raw calls, for the same reason the plain loop uses them (see
// rawio's package comment): a tls.Conn does one read and one write of its
// underlying connection per record, each a system call.

// tlsConn is an HTTPS connection after its handshake.
type tlsConn struct {
	state tls.ConnectionState
	raw   *rawio.Conn // under the tls.Conn; nil where rawio cannot
}

// rawNetConn is a TCP connection whose Read and Write go through package
// rawio; deadlines, Close and addresses stay the net.Conn's (rawio's calls
// wait in the same poller, so deadlines still bound them). During the
// handshake it may hold one of the proxy's handshake slots
// (handshake_slots.go).
type rawNetConn struct {
	net.Conn
	rw        *rawio.Conn
	slots     handshakeSlots
	holdsSlot bool // only the handshake's goroutine reads and writes it
}

func (r *rawNetConn) Read(p []byte) (int, error) { return r.rw.Read(p) }

func (r *rawNetConn) Write(p []byte) (int, error) {
	r.giveHandshakeSlot()
	return r.rw.Write(p)
}

// serveTLS handshakes nc, then serves it on the loop: HTTP/1.x, or HTTP/2.
func (l *Listener) serveTLS(nc net.Conn) {
	under := nc
	raw, _ := rawio.New(nc).(*rawio.Conn)
	var rn *rawNetConn
	if raw != nil {
		rn = &rawNetConn{Conn: nc, rw: raw, slots: l.p.handshakeSlots}
		under = rn
	}
	tc := tls.Server(under, l.tlsConfig)
	_ = nc.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
	err := tc.Handshake()
	if rn != nil {
		rn.giveHandshakeSlot() // a handshake that failed before writing
	}
	if err != nil {
		l.p.stats.clientTLSError.Add(1)
		l.p.log.Debug("TLS handshake", "client", nc.RemoteAddr().String(), "err", err)
		_ = nc.Close()
		return
	}
	_ = nc.SetDeadline(time.Time{})
	t := &tlsConn{state: tc.ConnectionState(), raw: raw}
	if t.state.NegotiatedProtocol == "h2" {
		l.loop.h2.Add(1)
		l.serveH2(nc, tc, t)
		return
	}
	c := l.newClientConn(tc, t)
	if c == nil {
		l.p.stats.rejectedConns.Add(1)
		_ = nc.Close()
		return
	}
	l.p.stats.activeConns.Add(1)
	c.serve()
}
