package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/elbow-lb/elbow/internal/proxy/upstream"
)

// h2Stream is one request stream of an h2Conn, and the ResponseWriter its
// handler writes the response to.
type h2Stream struct {
	c      *h2Conn
	id     uint32
	req    *http.Request
	ctx    context.Context
	cancel context.CancelFunc

	// Under c.mu.
	sendWindow int64
	recvWindow int64
	reset      bool   // reset by either side, or the connection ended
	body       []byte // received, not yet read
	bodyDone   bool   // END_STREAM received
	declared   int64  // content-length, -1 without
	received   int64
	unacked    int64 // body bytes read, not yet granted back on the stream
	readBy     time.Time
	writeBy    time.Time

	// The handler's alone.
	header      http.Header
	status      int
	headersSent bool
	head        bool // a HEAD request: no body is sent
	// expect: Expect: 100-continue, not answered yet (the body may be
	// read on another goroutine than the handler's: ReverseProxy's).
	expect   atomic.Bool
	ended    bool // END_STREAM sent
	pend     []byte
	pooled   *[h2PendSize]byte
	traceBuf [128]byte
}

// h2PendSize is how much of a response body is gathered before it goes
// out as a DATA frame: a response that fits goes out as HEADERS and one
// DATA frame carrying END_STREAM.
const h2PendSize = 16 << 10

var h2Pends = sync.Pool{New: func() any { return new([h2PendSize]byte) }}

var errStreamClosed = errors.New("http2: stream closed")

// resetLocked ends the stream for its handler; c.mu is held.
func (st *h2Stream) resetLocked(http2.ErrCode) {
	if !st.reset {
		st.reset = true
		st.cancel()
	}
}

// onHeaders opens a stream (or ends one with trailers).
func (c *h2Conn) onHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	c.mu.Lock()
	if st := c.streams[id]; st != nil {
		if st.bodyDone || st.reset {
			// Half-closed (remote): RFC 9113 section 5.1.
			c.mu.Unlock()
			c.writeReset(id, http2.ErrCodeStreamClosed)
			return nil
		}
		// Trailers (RFC 9113 section 8.1): they end the stream, and are
		// not passed on (a relay to HTTP/1.1 with a Content-Length has no
		// place for them).
		if !f.StreamEnded() {
			c.mu.Unlock()
			return c.goAway(http2.ErrCodeProtocol, errors.New("http2: trailers without END_STREAM"))
		}
		bad := st.endBodyLocked()
		c.mu.Unlock()
		if bad {
			c.writeReset(id, http2.ErrCodeProtocol)
		}
		return nil
	}
	if id%2 == 0 || id <= c.maxID {
		c.mu.Unlock()
		return c.goAway(http2.ErrCodeProtocol, errors.New("http2: HEADERS on a closed or server stream"))
	}
	c.maxID = id
	if c.goingAway {
		c.mu.Unlock()
		return nil
	}
	if len(c.streams) >= h2MaxStreams {
		c.mu.Unlock()
		c.writeReset(id, http2.ErrCodeRefusedStream)
		return nil
	}
	c.mu.Unlock()
	if f.Truncated {
		// Past SETTINGS_MAX_HEADER_LIST_SIZE: answered as HTTP/1 heads
		// are (RFC 6585's 431), without reaching a target.
		c.wmu.Lock()
		c.writeHeadersLocked(id, http.StatusRequestHeaderFieldsTooLarge, nil, true)
		_ = c.flushLocked()
		c.wmu.Unlock()
		return nil
	}
	c.opened++
	st := &h2Stream{c: c, id: id, declared: -1, recvWindow: h2StreamWindow}
	if !c.newRequest(st, f) {
		c.writeReset(id, http2.ErrCodeProtocol)
		return nil
	}
	c.mu.Lock()
	st.sendWindow = c.initWindow
	c.streams[id] = st
	c.mu.Unlock()
	c.handlers.Go(st.run)
	return nil
}

// endBodyLocked marks the request body complete; true when it is
// malformed (its DATA did not add up to its content-length, RFC 9113
// section 8.1.1).
func (st *h2Stream) endBodyLocked() bool {
	st.bodyDone = true
	st.c.cond.Broadcast()
	if st.declared >= 0 && st.received != st.declared {
		st.resetLocked(http2.ErrCodeProtocol)
		return true
	}
	return false
}

// connectionSpecific are the fields RFC 9113 section 8.2.2 makes a
// request malformed with (te too, unless it is "trailers").
var connectionSpecific = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true}

// newRequest builds the stream's request from its header block, checking
// it as RFC 9113 section 8.3 asks (the Framer checked names, values and
// the pseudo-fields' order and kinds); false when it is malformed.
func (c *h2Conn) newRequest(st *h2Stream, f *http2.MetaHeadersFrame) bool {
	method, scheme := f.PseudoValue("method"), f.PseudoValue("scheme")
	path, authority := f.PseudoValue("path"), f.PseudoValue("authority")
	if method == "" {
		return false
	}
	for _, hf := range f.PseudoFields() {
		switch hf.Name {
		case ":method", ":scheme", ":path", ":authority":
		default:
			// :protocol too: extended CONNECT (RFC 8441) is not offered.
			return false
		}
	}
	u := &url.URL{}
	target := path
	if method == http.MethodConnect {
		if path != "" || scheme != "" || authority == "" {
			return false
		}
		u.Host, target = authority, authority
	} else {
		if scheme == "" || path == "" {
			return false
		}
		switch {
		case path == "*" && method == http.MethodOptions:
			u.Path = "*"
		case path[0] != '/':
			return false
		case plainTarget(path):
			u.Path, u.RawQuery, u.ForceQuery = path, "", false
			if i := strings.IndexByte(path, '?'); i >= 0 {
				u.Path, u.RawQuery = path[:i], path[i+1:]
				u.ForceQuery = u.RawQuery == ""
			}
		default:
			parsed, err := url.ParseRequestURI(path)
			if err != nil {
				return false
			}
			u = parsed
		}
	}
	fields := f.RegularFields()
	h := make(http.Header, len(fields))
	var cookies []string
	host := authority
	for _, hf := range fields {
		switch {
		case connectionSpecific[hf.Name]:
			return false
		case hf.Name == "te" && hf.Value != "trailers":
			return false
		case hf.Name == "cookie":
			// RFC 9113 section 8.2.3: split cookies are joined for
			// HTTP/1.1.
			cookies = append(cookies, hf.Value)
			continue
		case hf.Name == "host":
			if host == "" {
				host = hf.Value
			}
		case hf.Name == "content-length":
			n, err := strconv.ParseInt(hf.Value, 10, 64)
			if err != nil || n < 0 || hf.Value[0] == '+' || st.declared >= 0 && n != st.declared {
				return false
			}
			st.declared = n
		}
		k := http.CanonicalHeaderKey(hf.Name)
		h[k] = append(h[k], hf.Value)
	}
	if len(cookies) > 0 {
		h["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	r := &http.Request{Method: method, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2, Header: h, Host: host,
		RequestURI: target, RemoteAddr: c.remoteAddr, TLS: c.tlsState, Body: http.NoBody}
	if f.StreamEnded() {
		if st.declared > 0 {
			return false
		}
		st.bodyDone = true
	} else {
		r.ContentLength = st.declared
		r.Body = (*h2Body)(st)
	}
	st.head = method == http.MethodHead
	st.expect.Store(!st.bodyDone && len(h["Expect"]) == 1 && strings.EqualFold(h["Expect"][0], "100-continue"))
	st.ctx, st.cancel = context.WithCancel(c.ctx)
	st.req = r.WithContext(st.ctx)
	st.header = make(http.Header, 8)
	return true
}

// onData takes a request body's bytes, within the windows offered.
func (c *h2Conn) onData(f *http2.DataFrame) error {
	id, n := f.StreamID, int64(f.Length)
	c.mu.Lock()
	if n > c.recvWindow {
		c.mu.Unlock()
		return c.goAway(http2.ErrCodeFlowControl, errors.New("http2: DATA past the connection window"))
	}
	c.recvWindow -= n
	st := c.streams[id]
	if st == nil || st.bodyDone || st.reset || n > st.recvWindow {
		// Closed, or past the stream's window: the bytes still count on
		// the connection, and are granted back at once.
		c.recvUnacked += n
		idle := id > c.maxID
		code := http2.ErrCodeStreamClosed
		if st != nil && !st.bodyDone && !st.reset {
			code = http2.ErrCodeFlowControl
			st.resetLocked(code)
			c.cond.Broadcast()
		}
		c.mu.Unlock()
		if idle {
			return c.goAway(http2.ErrCodeProtocol, errors.New("http2: DATA on an idle stream"))
		}
		c.writeReset(id, code)
		c.grant(nil)
		return nil
	}
	st.recvWindow -= n
	data := f.Data()
	// Padding is granted back at once.
	pad := n - int64(len(data))
	st.unacked += pad
	c.recvUnacked += pad
	st.received += int64(len(data))
	bad := st.declared >= 0 && st.received > st.declared
	if bad {
		st.resetLocked(http2.ErrCodeProtocol)
	} else {
		st.body = append(st.body, data...)
		if f.StreamEnded() {
			bad = st.endBodyLocked()
		}
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	if bad {
		c.writeReset(id, http2.ErrCodeProtocol)
	}
	return nil
}

// grant sends WINDOW_UPDATE for what was read (of st's body, and of the
// connection's) once a quarter of a window has gathered.
func (c *h2Conn) grant(st *h2Stream) {
	var streamIncr, connIncr int64
	c.mu.Lock()
	if st != nil && !st.bodyDone && !st.reset && st.unacked >= h2StreamWindow/4 {
		streamIncr, st.unacked = st.unacked, 0
		st.recvWindow += streamIncr
	}
	if c.recvUnacked >= h2ConnWindow/4 {
		connIncr, c.recvUnacked = c.recvUnacked, 0
		c.recvWindow += connIncr
	}
	c.mu.Unlock()
	if streamIncr == 0 && connIncr == 0 {
		return
	}
	c.wmu.Lock()
	if streamIncr > 0 {
		_ = c.fr.WriteWindowUpdate(st.id, uint32(streamIncr))
	}
	if connIncr > 0 {
		_ = c.fr.WriteWindowUpdate(0, uint32(connIncr))
	}
	_ = c.flushLocked()
	c.wmu.Unlock()
}

// wait waits on c.cond until by (zero: no bound); false when by passed.
// c.mu is held.
func (c *h2Conn) wait(by time.Time) bool {
	if by.IsZero() {
		c.cond.Wait()
		return true
	}
	d := time.Until(by)
	if d <= 0 {
		return false
	}
	t := time.AfterFunc(d, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	c.cond.Wait()
	t.Stop()
	return true
}

// h2Body is a stream's request body.
type h2Body h2Stream

func (b *h2Body) Read(p []byte) (int, error) {
	st := (*h2Stream)(b)
	c := st.c
	if st.expect.Load() && st.expect.CompareAndSwap(true, false) {
		// The client waits for this before it sends the body (RFC 9110
		// section 10.1.1), as net/http's servers send it on the first read.
		c.wmu.Lock()
		if !st.headersSent {
			c.writeHeadersLocked(st.id, http.StatusContinue, nil, false)
			_ = c.flushLocked()
		}
		c.wmu.Unlock()
	}
	c.mu.Lock()
	for len(st.body) == 0 && !st.bodyDone && !st.reset {
		if !c.wait(st.readBy) {
			c.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
	}
	if st.reset && !st.bodyDone {
		c.mu.Unlock()
		return 0, errStreamClosed
	}
	n := copy(p, st.body)
	st.body = st.body[n:]
	st.unacked += int64(n)
	c.recvUnacked += int64(n)
	done := st.bodyDone && len(st.body) == 0
	c.mu.Unlock()
	c.grant(st)
	if done {
		return n, io.EOF
	}
	return n, nil
}

func (b *h2Body) Close() error { return nil }

// run serves the stream's request and ends the stream.
func (st *h2Stream) run() {
	c := st.c
	aborted := false
	defer func() {
		if v := recover(); v != nil {
			// ErrAbortHandler: a response broke off after its header went
			// out; the client must see the stream cut.
			if v != http.ErrAbortHandler {
				c.l.p.log.Error("panic serving a request", "client", c.remoteAddr, "panic", v)
			}
			aborted = true
		}
		st.end(aborted)
	}()
	c.l.ServeHTTP(st, st.req)
}

// end sends what is left of the response with END_STREAM (or resets the
// stream) and forgets the stream.
func (st *h2Stream) end(aborted bool) {
	c := st.c
	if !aborted {
		if st.status == 0 {
			st.status = http.StatusOK
		}
		if !st.ended {
			aborted = st.writeData(st.pend, true) != nil
		}
	}
	c.mu.Lock()
	unread := !st.bodyDone && !st.reset
	gone := st.reset
	st.resetLocked(http2.ErrCodeNo)
	delete(c.streams, st.id)
	// What the handler left unread is granted back on the connection.
	c.recvUnacked += int64(len(st.body))
	st.body = nil
	left, away := len(c.streams), c.goingAway
	if left == 0 && !away {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.l.p.attrs.Load().idle))
	}
	c.mu.Unlock()
	c.wmu.Lock()
	switch {
	case aborted && !gone:
		_ = c.fr.WriteRSTStream(st.id, http2.ErrCodeInternal)
	case unread:
		// RFC 9113 section 8.1: the response is complete, the rest of
		// the request body is not wanted.
		_ = c.fr.WriteRSTStream(st.id, http2.ErrCodeNo)
	}
	_ = c.flushLocked()
	c.wmu.Unlock()
	c.grant(nil)
	if st.pooled != nil {
		h2Pends.Put(st.pooled)
		st.pooled, st.pend = nil, nil
	}
	if !aborted && hasClose(st.header) {
		// The load balancer closes the connection after this answer (a
		// refusal, 463): no new streams; the open ones finish.
		_ = c.goAway(http2.ErrCodeNo, nil)
		away = true
	}
	if away && left == 0 {
		_ = c.nc.Close()
	}
}

func hasClose(h http.Header) bool {
	for _, v := range h["Connection"] {
		if strings.EqualFold(v, "close") {
			return true
		}
	}
	return false
}

func (st *h2Stream) Header() http.Header { return st.header }

func (st *h2Stream) WriteHeader(code int) {
	if st.status != 0 {
		return
	}
	if code >= 100 && code < 200 {
		if code == http.StatusSwitchingProtocols {
			return // no such thing in HTTP/2 (RFC 9113 section 8.6)
		}
		st.c.wmu.Lock()
		st.c.writeHeadersLocked(st.id, code, st.header, false)
		_ = st.c.flushLocked()
		st.c.wmu.Unlock()
		return
	}
	st.status = code
}

func (st *h2Stream) Write(p []byte) (int, error) {
	if st.status == 0 {
		st.status = http.StatusOK
	}
	if st.head || st.ended {
		return len(p), nil
	}
	n := len(p)
	for len(p) > 0 {
		if st.pooled == nil {
			st.pooled = h2Pends.Get().(*[h2PendSize]byte)
			st.pend = st.pooled[:0]
		}
		k := copy(st.pend[len(st.pend):cap(st.pend)], p)
		st.pend = st.pend[:len(st.pend)+k]
		p = p[k:]
		if len(st.pend) == cap(st.pend) {
			if err := st.writeData(st.pend, false); err != nil {
				return n - len(p), err
			}
			st.pend = st.pend[:0]
		}
	}
	return n, nil
}

// WriteHead takes a target's status and header fields (upstream.HeadWriter):
// they are encoded at once, without a header map. A response that cannot
// have a body ends with its HEADERS frame.
func (st *h2Stream) WriteHead(code int, fields []upstream.Field) {
	if st.status != 0 || code < 200 || code > 999 {
		return
	}
	st.status = code
	end := st.head || code == http.StatusNoContent || code == http.StatusNotModified
	for _, f := range fields {
		if len(f.Name) == len("content-length") && strings.EqualFold(f.Name, "content-length") && f.Value == "0" {
			end = true
		}
	}
	c := st.c
	c.wmu.Lock()
	c.writeFieldsLocked(st.id, code, st.header, fields, end)
	st.headersSent, st.ended = true, end
	c.wmu.Unlock()
}

// scratch lends the trace id's buffer (scratchWriter).
func (st *h2Stream) scratch() []byte { return st.traceBuf[:0] }

// Flush sends what the handler wrote so far (streamed responses).
func (st *h2Stream) Flush() {
	if st.status == 0 {
		st.status = http.StatusOK
	}
	if st.writeData(st.pend, false) == nil {
		st.pend = st.pend[:0]
		st.c.wmu.Lock()
		_ = st.c.flushLocked()
		st.c.wmu.Unlock()
	}
}

// SetReadDeadline bounds each wait for the request body (the idle
// timeout, through http.ResponseController).
func (st *h2Stream) SetReadDeadline(t time.Time) error {
	st.c.mu.Lock()
	st.readBy = t
	st.c.mu.Unlock()
	return nil
}

// SetWriteDeadline bounds each wait for the client's window.
func (st *h2Stream) SetWriteDeadline(t time.Time) error {
	st.c.mu.Lock()
	st.writeBy = t
	st.c.mu.Unlock()
	return nil
}

// writeData sends the header when not yet sent, then p as DATA frames
// within the client's windows and frame size; end sets END_STREAM on the
// last (on the HEADERS frame when there is no body).
func (st *h2Stream) writeData(p []byte, end bool) error {
	c := st.c
	if !st.headersSent {
		c.wmu.Lock()
		st.headersSent = true // under wmu: see h2Body.Read
		c.writeHeadersLocked(st.id, st.status, st.header, end && len(p) == 0)
		err := c.werr
		c.wmu.Unlock()
		if err != nil || len(p) == 0 {
			return err
		}
	} else if len(p) == 0 && !end {
		return nil
	}
	for first := true; len(p) > 0 || first && end; first = false {
		c.mu.Lock()
		for len(p) > 0 && !st.reset && (c.sendWindow <= 0 || st.sendWindow <= 0) {
			// The client must see what is buffered to grant more.
			c.mu.Unlock()
			c.wmu.Lock()
			_ = c.flushLocked()
			c.wmu.Unlock()
			c.mu.Lock()
			if st.reset || c.sendWindow > 0 && st.sendWindow > 0 {
				break
			}
			if !c.wait(st.writeBy) {
				st.resetLocked(http2.ErrCodeCancel)
			}
		}
		if st.reset {
			c.mu.Unlock()
			return errStreamClosed
		}
		n := int64(len(p))
		n = min(n, c.sendWindow, st.sendWindow, int64(c.maxFrame))
		c.sendWindow -= n
		st.sendWindow -= n
		c.mu.Unlock()
		c.wmu.Lock()
		err := c.fr.WriteData(st.id, end && n == int64(len(p)), p[:n])
		if err == nil {
			err = c.werr
		}
		c.wmu.Unlock()
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// writeHeadersLocked sends a response header block (HEADERS, and
// CONTINUATION frames past the client's frame size); wmu is held.
func (c *h2Conn) writeHeadersLocked(id uint32, status int, h http.Header, end bool) {
	c.writeFieldsLocked(id, status, h, nil, end)
}

// writeFieldsLocked is writeHeadersLocked with a target's fields besides
// the header map. Their values are the target connection's bytes, valid
// during the call only: they go out never indexed (RFC 7541 section
// 6.2.3), so that hpack's dynamic table keeps no reference to them.
func (c *h2Conn) writeFieldsLocked(id uint32, status int, h http.Header, fields []upstream.Field, end bool) {
	c.hbuf.b = c.hbuf.b[:0]
	_ = c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: statusText(status)})
	for k, vv := range h {
		lk := c.lowerName(k)
		if connectionSpecific[lk] {
			continue // RFC 9113 section 8.2.2
		}
		for _, v := range vv {
			_ = c.henc.WriteField(hpack.HeaderField{Name: lk, Value: v})
		}
	}
	for _, f := range fields {
		lk := c.lowerName(f.Name)
		if connectionSpecific[lk] {
			continue
		}
		_ = c.henc.WriteField(hpack.HeaderField{Name: lk, Value: f.Value, Sensitive: true})
	}
	c.mu.Lock()
	max := c.maxFrame
	c.mu.Unlock()
	block := c.hbuf.b
	first := block[:min(len(block), max)]
	block = block[len(first):]
	_ = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(block) == 0})
	for len(block) > 0 {
		part := block[:min(len(block), max)]
		block = block[len(part):]
		_ = c.fr.WriteContinuation(id, len(block) == 0, part)
	}
}

// lowerName is a header name as HTTP/2 sends it; the strings are kept
// (the hpack encoder's table refers to them), at most 1,000 per connection.
func (c *h2Conn) lowerName(k string) string {
	if v, ok := c.lower[k]; ok {
		return v
	}
	v := strings.ToLower(k)
	if len(c.lower) < 1000 {
		// k may be a target's bytes, valid only during the call.
		c.lower[strings.Clone(k)] = v
	}
	if v == k {
		v = strings.Clone(k)
	}
	return v
}

var statusTexts [600]string

func init() {
	for i := 100; i < len(statusTexts); i++ {
		statusTexts[i] = strconv.Itoa(i)
	}
}

func statusText(code int) string {
	if code >= 100 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}
