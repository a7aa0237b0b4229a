package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"
	"unsafe"

	"github.com/elbow-lb/elbow/internal/proxy/h1"
	"github.com/elbow-lb/elbow/internal/proxy/httpbytes"
	"github.com/elbow-lb/elbow/internal/proxy/monotime"
	"github.com/elbow-lb/elbow/internal/proxy/rawio"
)

// The client-side connection loop of a plain-HTTP listener. net/http's
// server costs a goroutine hand-off, a background read and some thirty
// allocations per request; here one goroutine per connection reads each
// request head into a reused buffer (package h1), routes it and, when it
// fully understands it (a fixed response, a redirect, or a forward to
// plain-HTTP targets relayed by package upstream), answers it itself.
// Anything else (chunked request bodies, Expect, upgrades, absolute-form
// targets, HTTP/2 prior knowledge, forwards to HTTPS targets) is handed,
// with the rest of its connection, to the listener's http.Server through a
// listener adapter, so that it is served exactly as before.

// maxDiscard is how much of an unread request body is read and dropped to
// keep the connection; above it the connection is closed instead (as
// net/http does).
const maxDiscard = 256 << 10

// goneSweepInterval is how often the loop looks for clients that left while
// their request waits for its target, and how long a request must have
// waited to be looked at.
const goneSweepInterval = 250 * time.Millisecond

// sweepGone finds the loop's clients that closed their connection while
// their request waits for its target (a goroutine blocked on the target
// cannot see that) and aborts those requests, as net/http's server and the
// ALB do: the target's connection is closed and the request logged 460.
// Requests answered within the interval are never looked at.
func (l *Listener) sweepGone() {
	ticker := time.NewTicker(goneSweepInterval)
	defer ticker.Stop()
	var waiting []*clientConn
	for range ticker.C {
		if l.loop.closing.Load() {
			return
		}
		before := time.Now().Add(-goneSweepInterval).UnixNano()
		waiting = waiting[:0]
		l.loop.mu.Lock()
		for c := range l.loop.conns {
			if w := c.waiting.Load(); w != 0 && w < before {
				waiting = append(waiting, c)
			}
		}
		l.loop.mu.Unlock()
		for _, c := range waiting {
			if c.peer == nil {
				continue
			}
			// Over TLS a leaving client's close_notify precedes its FIN.
			if gone := c.peer.PeerClosed() || c.tlsState != nil && c.peer.PeerGone(); !gone {
				continue
			}
			c.cancel()
			if l.p.upstream.Abort(&c.ex) {
				l.p.log.Debug("client left: request aborted", "client", c.remoteAddr)
			}
		}
	}
}

// acceptLoop accepts the listener's connections until it is closed.
func (l *Listener) acceptLoop() {
	go l.sweepGone()
	var backoff time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if l.loop.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.p.log.Warn("accept", "addr", l.Addr(), "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		l.p.stats.newConns.Add(1)
		if l.tlsConfig != nil {
			go l.serveTLS(nc)
			continue
		}
		c := l.newClientConn(nc, nil)
		if c == nil {
			l.p.stats.rejectedConns.Add(1)
			_ = nc.Close()
			continue
		}
		l.p.stats.activeConns.Add(1)
		go c.serve()
	}
}

// newClientConn registers a connection with the loop; nil when the
// listener is closing. tc is an HTTPS connection's TLS side, its
// handshake done: the loop reads and writes through it, and peer is the
// TCP connection under it (for sweepGone).
func (l *Listener) newClientConn(nc net.Conn, tc *tlsConn) *clientConn {
	c := &clientConn{l: l, nc: nc, remoteAddr: nc.RemoteAddr().String(), connTraceID: newConnTraceID()}
	if tc != nil {
		c.tlsState, c.peer = &tc.state, tc.raw
	}
	c.clientIP = ipOf(c.remoteAddr)
	ap, _ := netip.ParseAddrPort(c.remoteAddr)
	c.client = ap.Addr()
	c.state.Store(connIdle)
	l.loop.mu.Lock()
	defer l.loop.mu.Unlock()
	if l.loop.closing.Load() {
		return nil
	}
	l.loop.conns[c] = struct{}{}
	return c
}

func (c *clientConn) serve() {
	if c.tlsState == nil {
		c.io = rawio.New(c.nc)
		c.peer, _ = c.io.(*rawio.Conn)
	} else {
		c.io = c.nc // the TLS side, over c.peer
	}
	if c.peer != nil {
		// Per connection: the idle timeout of when it was accepted.
		c.peer.SetWriteIdleTimeout(c.l.p.attrs.Load().idle)
	}
	pools := &c.l.p.pools
	if b, ok := pools.read.Get().(*[readBufSize]byte); ok {
		c.pooled = b
	} else {
		c.pooled = new([readBufSize]byte)
	}
	c.buf = c.pooled[:]
	if w, ok := pools.write.Get().(*bufio.Writer); ok {
		w.Reset(c.io)
		c.bw = w
	} else {
		c.bw = bufio.NewWriterSize(c.io, 4<<10)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.body.c = c
	c.resp.c = c
	c.resp.header = make(http.Header, 16)

	handedOff := false
	defer func() {
		c.cancel()
		if !handedOff {
			_ = c.nc.Close()
		}
		c.state.Store(connClosed)
		c.l.p.stats.activeConns.Add(-1)
		c.l.loop.mu.Lock()
		delete(c.l.loop.conns, c)
		c.l.loop.mu.Unlock()
		c.bw.Reset(nil)
		pools.write.Put(c.bw)
		pools.read.Put(c.pooled)
	}()
	for {
		n, ok := c.readHead()
		if !ok {
			return
		}
		if n < 0 {
			// Refused before its head is whole: net/http's side answers
			// it through the gate, as it answers every refusal.
			handedOff = c.handOff()
			return
		}
		// The attributes now, for the whole request (SetAttributes may
		// change them meanwhile).
		at := c.l.p.attrs.Load()
		var head string
		if at.keepsStrings() {
			head = string(c.buf[c.r : c.r+n])
		} else {
			// The request's strings share buf's bytes: buf is not
			// written while the request is served (a body is read past
			// it), and nothing keeps them longer.
			head = unsafe.String(&c.buf[c.r], n)
		}
		v, outcome := c.l.p.judge(head, &c.head)
		if outcome != h1.OK || !c.buildRequest() {
			// Refusals, and what the loop does not serve itself: the
			// gate judges the request again and net/http serves it (a
			// refusal with its access-log entry), on every path alike.
			handedOff = c.handOff()
			return
		}
		if c.head.NoHost {
			c.req.Host = c.l.hostName
		}
		if at.dropInvalid {
			dropInvalidHeaderFields(c.req.Header)
		}
		a, priority := c.l.table.Load().route(&c.req, c.client)
		if a.kind == actionForward && !a.allPlain {
			handedOff = c.handOff()
			return
		}
		c.r += n
		if v.closes() {
			c.req.Close = true
		}
		if !c.serveOne(a, priority, &v, at) {
			return
		}
	}
}

// readHead reads until buf[r:] starts with a whole request head and
// returns its length, or -1 when what has come must be refused before it
// is whole; false when the connection is to be closed.
func (c *clientConn) readHead() (int, bool) {
	for {
		if c.r < c.w {
			if n := h1.HeadEnd(c.buf[c.r:c.w]); n > 0 {
				c.inHead = false
				return n, true
			}
			if h1.EarlyStatus(c.buf[c.r:c.w]) != 0 {
				return -1, true // a refusal (414, 431, HTTP/0.9)
			}
		}
		if c.bw.Buffered() > 0 && c.bw.Flush() != nil {
			return 0, false
		}
		if c.r == c.w {
			c.r, c.w = 0, 0
			// Idle: nothing of a next request has arrived. Shutdown may
			// close the connection from now until the CAS below.
			c.state.Store(connIdle)
			if c.l.loop.closing.Load() {
				return 0, false
			}
		}
		c.makeRoom()
		if c.r == c.w {
			c.extendDeadline()
		} else if !c.inHead {
			// A head has begun: the rest of it must come within the idle
			// timeout (net/http's ReadHeaderTimeout), however slowly it
			// trickles in; a read does not renew that.
			c.inHead = true
			c.deadline.At = time.Now().Add(c.l.p.attrs.Load().idle)
			_ = c.nc.SetReadDeadline(c.deadline.At)
		}
		n, err := c.io.Read(c.buf[c.w:])
		if n > 0 {
			c.w += n
			if !c.state.CompareAndSwap(connIdle, connActive) && c.state.Load() != connActive {
				return 0, false // closed by shutdown
			}
		}
		if err != nil && c.r == c.w || err != nil && n == 0 {
			return 0, false
		}
	}
}

// makeRoom ensures buf has free space after w: the unread part moves to
// the front, and the buffer grows (up to h1.MaxHead) for a long head.
func (c *clientConn) makeRoom() {
	if c.w < len(c.buf) {
		return
	}
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
		return
	}
	bigger := make([]byte, min(2*len(c.buf), h1.MaxHead))
	c.w = copy(bigger, c.buf[c.r:c.w])
	c.r = 0
	c.buf = bigger
}

// extendDeadline gives the next read the idle timeout (monotime.IdleDeadline's rule).
func (c *clientConn) extendDeadline() {
	if c.deadline.Renew(monotime.Now(c.deadline.At), c.l.p.attrs.Load().idle) {
		_ = c.nc.SetReadDeadline(c.deadline.At)
	}
}

func indexNewline(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// reject answers status as net/http does for a malformed request, and the
// connection closes.
func (c *clientConn) reject(status int) {
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	_, _ = c.bw.WriteString("HTTP/1.1 " + text + "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" + text)
	_ = c.bw.Flush()
	c.l.p.log.Debug("request rejected", "client", c.remoteAddr, "status", status, "reason", c.head.Reason)
	// Closing with unread bytes would send a reset, and the client could
	// lose the answer: stop writing, and drain for a moment first.
	if tc, ok := c.nc.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		_ = c.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, _ = io.CopyN(io.Discard, c.nc, maxDiscard)
	}
}

// buildRequest fills c.req from c.head; false when the target is not a
// valid request URI.
func (c *clientConn) buildRequest() bool {
	h := &c.head
	u := &c.url
	*u = url.URL{}
	if plainTarget(h.Target) {
		u.Path = h.Target
		for i := 0; i < len(h.Target); i++ {
			if h.Target[i] == '?' {
				u.Path, u.RawQuery = h.Target[:i], h.Target[i+1:]
				if u.RawQuery == "" {
					u.ForceQuery = true
				}
				break
			}
		}
	} else {
		parsed, err := url.ParseRequestURI(h.Target)
		if err != nil {
			return false
		}
		*u = *parsed
	}
	c.req = http.Request{
		Method: h.Method, URL: u, Proto: h.Proto, ProtoMajor: 1, ProtoMinor: h.Minor,
		Header: h.Header, Host: h.Host, RequestURI: h.Target, RemoteAddr: c.remoteAddr,
		ContentLength: h.ContentLength, Close: h.Close, Body: http.NoBody, TLS: c.tlsState,
	}
	c.body.remaining = h.ContentLength
	if h.ContentLength > 0 {
		c.req.Body = &c.body
	}
	return true
}

// plainTarget reports whether an origin-form target needs no unescaping:
// url.ParseRequestURI would return it as Path (and RawQuery) unchanged.
func plainTarget(s string) bool {
	q := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '?':
			q = true
		case c == '%' || c == '#':
			return false
		case httpbytes.IndexByte("-._~/!$&'()*+,;=:@", c) >= 0:
		case q && httpbytes.IndexByte("[]{}|\\^`\"<>", c) >= 0:
			// Unusual in a query, and still kept as sent there.
		default:
			return false
		}
	}
	return true
}

// serveOne answers the request in c.req; false when the connection is to
// be closed.
func (c *clientConn) serveOne(a *action, priority int, v *verdict, at *attributes) (keep bool) {
	ex := &c.ex
	// One clock read, not time.Now's two (monotime.Anchor).
	start := c.clock.Now()
	*ex = exchange{Context: c.ctx, w: &c.resp, l: c.l, start: start, clientIP: c.clientIP, connTraceID: c.connTraceID, attrs: at}
	ex.verdict = *v
	c.resp.reset(&c.req)
	defer func() {
		if v := recover(); v != nil {
			// ErrAbortHandler: a response broke off after its header
			// went out; the client must see the connection cut.
			if v != http.ErrAbortHandler {
				c.l.p.log.Error("panic serving a request", "client", c.remoteAddr, "panic", v)
			}
			keep = false
		}
	}()
	if !c.servedAny {
		c.servedAny = true
		c.l.loop.served.Add(1)
	}
	c.l.serve(ex, &c.req, a, priority)
	if !c.resp.finish() {
		return false
	}
	if c.body.remaining > 0 && !c.body.discard() {
		return false
	}
	return !c.resp.closeAfter && !c.l.loop.closing.Load()
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	c := b.c
	if c.r < c.w {
		n := copy(p, c.buf[c.r:c.w])
		c.r += n
		b.remaining -= int64(n)
		return n, nil
	}
	if c.bw.Buffered() > 0 {
		if err := c.bw.Flush(); err != nil {
			return 0, err
		}
	}
	c.extendDeadline()
	// Straight into p: no byte beyond the body is consumed, so that a
	// pipelined request after it stays unread.
	n, err := c.io.Read(p)
	b.remaining -= int64(n)
	if err == io.EOF && b.remaining > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		c.ex.bodyErr = err // the client's failure, not the target's
	}
	return n, err
}

func (b *bodyReader) Close() error { return nil }

// discard reads what is left of a body nobody read (a fixed response to a
// POST); false when it is too long to be worth it, or broke off.
func (b *bodyReader) discard() bool {
	if b.remaining > maxDiscard {
		return false
	}
	_, err := io.Copy(io.Discard, b)
	return err == nil
}
