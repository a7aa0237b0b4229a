package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"

	"github.com/elbow-lb/elbow/internal/proxy/h1"
)

// The request gate: the same request rules on every listener and path.
//
// net/http's server is lenient where a load balancer must not be: it
// accepts obs-fold, a Content-Length beside Transfer-Encoding (it drops the
// Content-Length and keeps the connection), header heads up to 1 MiB. So
// every HTTP/1.x connection net/http serves (an HTTPS listener's, one the
// connection loop hands over, every one when the loop is off) reads its
// client through a gatedConn. The gate finds each request head in the byte
// stream, judges it exactly as the loop does (package h1, then the desync
// classification and mode), and only then lets net/http read it; it follows
// each body's framing (Content-Length or chunked, as net/http frames it) to
// find the next head. A request that must be refused is replaced by a
// stand-in head whose handler answers the refusal and closes the
// connection; a request that may pass only on a closed connection is
// followed by end of stream, so that nothing after it is ever read as a
// request.

// standIn is the head net/http reads in place of a refused request: its
// handler finds the refusal in the verdict queue and answers it.
const standIn = "GET / HTTP/1.1\r\nHost: elbow.refused\r\nConnection: close\r\n\r\n"

func (p *Proxy) newGatedConn(nc net.Conn, connTraceID string, st *tls.ConnectionState) *gatedConn {
	return &gatedConn{Conn: nc, p: p, connTraceID: connTraceID, tlsState: st, buf: make([]byte, 4<<10)}
}

func (g *gatedConn) Read(p []byte) (int, error) {
	for {
		g.mu.Lock()
		if len(g.ready) > 0 {
			n := copy(p, g.ready)
			g.ready = g.ready[n:]
			g.mu.Unlock()
			return n, nil
		}
		if g.state == gateBroken {
			g.mu.Unlock()
			return 0, io.ErrUnexpectedEOF
		}
		if g.state == gateDone {
			g.mu.Unlock()
			// Nothing more is a request: what the client sends is read and
			// dropped, not answered with end of stream, which net/http's
			// background read would take for a client gone (and cancel the
			// request being served). The response says Connection: close;
			// net/http ends the read with a deadline, or the client does.
			g.r, g.w = 0, 0
			if _, err := g.Conn.Read(g.buf); err != nil {
				return 0, err
			}
			continue
		}
		moved := g.advance()
		g.mu.Unlock()
		if moved {
			continue
		}
		if !g.makeRoom() {
			// A head over the limit is refused in advance; what else fills
			// the buffer is what follows an upgrade request before its
			// answer: more than a client may send unanswered.
			g.mu.Lock()
			g.state = gateDone
			g.mu.Unlock()
			continue
		}
		n, err := g.Conn.Read(g.buf[g.w:])
		g.w += n
		if n == 0 && err != nil {
			return 0, err
		}
	}
}

// makeRoom frees space after w (ready is empty: nothing points into buf);
// false when the buffer is at its limit.
func (g *gatedConn) makeRoom() bool {
	if g.r == g.w {
		g.r, g.w = 0, 0
	}
	if g.w < len(g.buf) {
		return true
	}
	if g.r > 0 {
		g.w = copy(g.buf, g.buf[g.r:g.w])
		g.r = 0
		return true
	}
	if len(g.buf) >= h1.MaxHead {
		return false
	}
	bigger := make([]byte, min(2*len(g.buf), h1.MaxHead))
	g.w = copy(bigger, g.buf[g.r:g.w])
	g.r, g.buf = 0, bigger
	return true
}

// advance releases what the state allows of buf[r:w]; false when it needs
// more bytes. Called with mu held.
func (g *gatedConn) advance() bool {
	data := g.buf[g.r:g.w]
	switch g.state {
	case gateHead:
		if len(data) == 0 {
			return false
		}
		n := h1.HeadEnd(data)
		if n == 0 {
			if status := h1.EarlyStatus(data); status != 0 {
				g.refuse(verdict{status: status})
				return true
			}
			return false
		}
		v, o := g.p.judge(string(data[:n]), &g.head)
		if o == h1.Reject {
			g.refuse(v)
			return true
		}
		g.verdicts = append(g.verdicts, v)
		g.ready = data[h1.LeadingEmptyLines(data):n]
		g.r += n
		g.closeAfter = v.closes()
		g.afterHold = gateHead
		switch {
		case g.head.Chunked:
			g.state, g.chunk = gateChunked, chunkScanner{}
		case g.head.ContentLength > 0:
			g.state, g.remaining = gateBody, g.head.ContentLength
		default:
			g.endBody()
		}
		if v.hold && g.state != gateDone {
			// The body (if any) passes first; then hold.
			g.afterHold = gateHold
			if g.state == gateHead {
				g.state = gateHold
			}
		}
		return true
	case gateBody:
		n := int64(len(data))
		if n == 0 {
			return false
		}
		n = min(n, g.remaining)
		g.ready = data[:n]
		g.r += int(n)
		if g.remaining -= n; g.remaining == 0 {
			g.endBody()
		}
		return true
	case gateChunked:
		if len(data) == 0 {
			return false
		}
		n, end, ok := g.chunk.scan(data)
		if !ok {
			// Framing net/http would refuse too, or could read otherwise:
			// release nothing more, so it sees the body break off.
			g.ready = data[:n]
			g.r += n
			g.state = gateBroken
			return true
		}
		if n == 0 {
			return false
		}
		g.ready = data[:n]
		g.r += n
		if end {
			g.endBody()
		}
		return true
	case gateTunnel:
		if len(data) == 0 {
			return false
		}
		g.ready = data
		g.r = g.w
		return true
	}
	return false // gateHold: wait for the handler
}

// endBody moves on after a request's body.
func (g *gatedConn) endBody() {
	switch {
	case g.closeAfter:
		g.state = gateDone
	case g.afterHold == gateHold:
		g.state = gateHold
	default:
		g.state = gateHead
	}
}

// refuse queues a refusal and hands net/http the stand-in head; the
// connection ends after it.
func (g *gatedConn) refuse(v verdict) {
	if v.status == 0 {
		v.status = http.StatusBadRequest
	}
	g.verdicts = append(g.verdicts, v)
	g.ready = []byte(standIn)
	g.r = g.w
	g.state = gateDone
}

// next takes the verdict of the request net/http is about to serve: they
// come in the order of their heads, as net/http serves an HTTP/1.x
// connection's requests one after another.
func (g *gatedConn) next() (verdict, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.verdicts) == 0 {
		return verdict{}, false
	}
	v := g.verdicts[0]
	g.verdicts = g.verdicts[1:]
	return v, true
}

// tunnel: the handler upgraded the connection; what follows is the new
// protocol's.
func (g *gatedConn) tunnel() {
	g.mu.Lock()
	if g.state == gateHold {
		g.state = gateTunnel
	} else if g.state != gateDone {
		g.afterHold = gateTunnel
	}
	g.mu.Unlock()
}

// release: the handler answered an upgrade request without upgrading; what
// follows is the next request.
func (g *gatedConn) release() {
	g.mu.Lock()
	if g.state == gateHold {
		g.state = gateHead
	}
	g.afterHold = gateHead
	g.mu.Unlock()
}
