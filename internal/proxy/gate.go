package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/elbow-lb/elbow/internal/proxy/desync"
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

// verdict is the judgement of one request head, shared by the loop and
// the gate.
type verdict struct {
	desync desync.Verdict
	action desync.Action
	// status, when not 0, is the load balancer's answer: the request is
	// not forwarded and the connection closes.
	status int
	// hold: the request asks for an upgrade; what follows it is the
	// upgraded protocol if the handler hijacks the connection, and the
	// next request otherwise.
	hold bool
	// noHost: an HTTP/1.0 request without Host (the listener's name is
	// filled in).
	noHost bool
	// The refused request, for the access log.
	method, target, proto, host string
}

// closes reports whether the connection closes after the request (and the
// target's connection with it).
func (v *verdict) closes() bool { return v.action == desync.ForwardAndClose }

// judge parses and classifies one request head. Every listener and path
// calls it, so that a request is refused, passed or passed on a closed
// connection alike wherever it arrives. The desync mode decides first
// (a blocked request is a 400, as the ALB answers); then what h1 cannot
// frame unambiguously is refused in every mode, monitor included.
func (p *Proxy) judge(head string, r *h1.Request) (verdict, h1.Outcome) {
	var v verdict
	// Empty lines before the request line are allowed (RFC 9112 section
	// 2.2) and not passed on: the classification starts after them.
	v.desync = desync.ClassifyHead(head[h1.LeadingEmptyLines(head):])
	v.action = p.o.DesyncMode.Action(v.desync.Class)
	o := r.Parse(head)
	switch {
	case v.action == desync.Block:
		v.status, o = http.StatusBadRequest, h1.Reject
	case o == h1.Reject:
		v.status = r.Status
	}
	if r.Chunked && r.Header["Content-Length"] != nil {
		// Both framings: never on a connection kept open, whatever the
		// mode (the classification already says Ambiguous or worse).
		v.action = desync.ForwardAndClose
	}
	v.hold, v.noHost = r.Upgrade, r.NoHost
	v.method, v.target, v.proto, v.host = r.Method, r.Target, r.Proto, r.Host
	return v, o
}

// standIn is the head net/http reads in place of a refused request: its
// handler finds the refusal in the verdict queue and answers it.
const standIn = "GET / HTTP/1.1\r\nHost: elbow.refused\r\nConnection: close\r\n\r\n"

type gateState uint8

const (
	gateHead    gateState = iota // expecting a request head
	gateBody                     // remaining bytes of a Content-Length body
	gateChunked                  // inside a chunked body
	gateHold                     // after an upgrade request, until the handler decides
	gateTunnel                   // upgraded: bytes pass unchecked
	gateDone                     // nothing more is released: see Read
	gateBroken                   // invalid body framing: the stream breaks off
)

// gatedConn is a client connection read through the gate.
type gatedConn struct {
	net.Conn
	p           *Proxy
	connTraceID string
	// tlsState is an HTTPS connection's, which net/http cannot see through
	// the wrapper; the handler fills the request's TLS from it.
	tlsState *tls.ConnectionState

	// buf[r:w] is read from the client and not yet released; only the
	// reading goroutine (one at a time, as net/http reads) touches it.
	buf  []byte
	r, w int
	head h1.Request

	mu sync.Mutex
	// ready is released to net/http and not yet read by it.
	ready     []byte
	state     gateState
	remaining int64
	chunk     chunkScanner
	// closeAfter: the current request passes only on a closed connection.
	closeAfter bool
	afterHold  gateState
	verdicts   []verdict
}

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

// chunkScanner follows a chunked body exactly as net/http's chunked reader
// reads it (net/http/internal/chunked.go): a size line of 1-16 hex digits,
// optional trailing whitespace and ;extensions, ended by CRLF with no other
// CR; the data; CRLF. A last chunk must be followed by CRLF at once: a body
// with trailer fields is not passed (net/http would parse them with a
// lenient header reader), so its request breaks off.
type chunkScanner struct {
	phase     uint8 // 0 size line, 1 data, 2 CR after data, 3 LF after data, 4 CR after last chunk, 5 LF after last chunk
	line      int   // bytes of the size line seen
	size      uint64
	digits    int
	sawSpace  bool
	inExt     bool
	remaining uint64
}

// maxChunkLine is net/http's limit on a chunk size line.
const maxChunkLine = 4096

// scan consumes from data what belongs to the body: n bytes; end when the
// body is complete; ok false when the framing is invalid (n bytes before
// the fault may still be released).
func (s *chunkScanner) scan(data []byte) (n int, end, ok bool) {
	for n < len(data) {
		c := data[n]
		switch s.phase {
		case 0:
			s.line++
			if s.line > maxChunkLine {
				return n, false, false
			}
			switch {
			case c == '\r':
				if s.digits == 0 {
					return n, false, false
				}
				s.phase = 6
			case c == '\n':
				return n, false, false // bare LF: net/http refuses it
			case s.inExt:
			case c == ';':
				if s.sawSpace {
					return n, false, false // net/http trims only trailing whitespace
				}
				s.inExt = true
			case c == ' ' || c == '\t':
				s.sawSpace = true
			case s.sawSpace:
				return n, false, false // "5 x": net/http reads "5 x" as the size
			default:
				d, isHex := hexDigit(c)
				if !isHex || s.digits == 16 {
					return n, false, false
				}
				s.size = s.size<<4 | uint64(d)
				s.digits++
			}
			n++
		case 6: // LF ending the size line
			if c != '\n' {
				return n, false, false
			}
			n++
			if s.size == 0 {
				s.phase = 4
			} else {
				s.phase, s.remaining = 1, s.size
			}
		case 1:
			take := uint64(len(data) - n)
			take = min(take, s.remaining)
			n += int(take)
			if s.remaining -= take; s.remaining == 0 {
				s.phase = 2
			}
		case 2, 4:
			if c != '\r' {
				return n, false, false
			}
			n++
			s.phase++
		case 3, 5:
			if c != '\n' {
				return n, false, false
			}
			n++
			if s.phase == 5 {
				return n, true, true
			}
			*s = chunkScanner{}
		}
	}
	return n, false, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

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
		go t.handshake(nc)
	}
}

func (t *tlsGateListener) handshake(nc net.Conn) {
	tc := tls.Server(nc, t.cfg)
	_ = nc.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
	if err := tc.Handshake(); err != nil {
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
