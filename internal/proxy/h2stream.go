package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// h2Stream is one request stream of an h2Conn, and the ResponseWriter its
// handler writes the response to. A stream's record is recycled for a
// later stream of its connection (recycle), with its header maps.
type h2Stream struct {
	c      *h2Conn
	id     uint32
	req    *http.Request
	ctx    context.Context
	cancel context.CancelFunc
	// url and reqVal are the request's URL and the request, kept here
	// rather than allocated alone.
	url    url.URL
	reqVal http.Request
	// reqHeader and values are the request's header map and the backing
	// array of its values (newRequest), kept cleared for the next stream.
	reqHeader http.Header
	values    []string

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
	waiting    bool // the request waits for its target (waitWatcher)
	// abandoned: an abort of the request's target connection may still
	// hold the stream (resetLocked), which is then not recycled.
	abandoned bool

	// The handler's alone.
	header      http.Header
	status      int
	headersSent bool
	// sentKeys is how many keys the header had when it went out: a
	// trailer set with http.TrailerPrefix is a key added after.
	sentKeys int
	head     bool // a HEAD request: no body is sent
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
		if st.waiting {
			// The client reset the stream (or left) while its request
			// waits for the target: abort it there, as the loop's sweeper
			// does for HTTP/1.1 (off the lock: it walks the pools). The
			// tag is the stream, never reused: the worker's exchange may
			// serve another stream by the time this runs.
			st.waiting, st.abandoned = false, true
			go st.c.l.p.upstream.Abort(st)
		}
	}
}

// waitFor and waitDone mark the request waiting for its target
// (waitWatcher): a reset meanwhile aborts it, with no context.AfterFunc
// per request.
func (st *h2Stream) waitFor(*exchange) any {
	st.c.mu.Lock()
	st.waiting = true
	st.c.mu.Unlock()
	return st
}

func (st *h2Stream) waitDone() {
	st.c.mu.Lock()
	st.waiting = false
	st.c.mu.Unlock()
}

// onHeaders opens a stream (or ends one with trailers).
func (c *h2Conn) onHeaders(f *h2HeaderBlock) error {
	id := f.streamID
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
		if !f.endStream {
			c.mu.Unlock()
			return c.goAway(http2.ErrCodeProtocol, errors.New("http2: trailers without END_STREAM"))
		}
		if f.npseudo > 0 {
			// RFC 9113 section 8.1: trailers carry no pseudo-fields.
			st.resetLocked(http2.ErrCodeProtocol)
			c.cond.Broadcast()
			c.mu.Unlock()
			c.writeReset(id, http2.ErrCodeProtocol)
			return nil
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
	if f.truncated {
		// Past SETTINGS_MAX_HEADER_LIST_SIZE: answered as HTTP/1 heads
		// are (RFC 6585's 431), without reaching a target.
		c.wmu.Lock()
		c.writeHeadersLocked(id, http.StatusRequestHeaderFieldsTooLarge, nil, true)
		_ = c.flushLocked()
		c.wmu.Unlock()
		return nil
	}
	c.opened++
	st := c.newStream(id)
	if !c.newRequest(st, f) {
		c.writeReset(id, http2.ErrCodeProtocol)
		c.recycle(st)
		return nil
	}
	c.mu.Lock()
	st.sendWindow = c.initWindow
	c.streams[id] = st
	c.mu.Unlock()
	c.dispatch(st)
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
		if !st.headersSent && st.sendFieldsLocked(http.StatusContinue, nil, nil, false) == nil {
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

// run serves the stream's request with ex, the worker's, and ends the
// stream; recyclable when nothing can hold the stream any more: net/http's
// Transport (ReverseProxy's path) may still read a request's body or
// context after the handler returned, and a broken-off response is left
// alone too.
func (st *h2Stream) run(ex *exchange) (recyclable bool) {
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
		recyclable = !aborted && !ex.viaTransport
	}()
	ex.viaTransport = true // until serveRequest resets ex
	c.l.serveRequest(ex, st, st.req)
	return
}

// h2FreeStreams is how many ended streams' records a connection keeps for
// its next streams: as many as a client usually has open at once.
const h2FreeStreams = 8

// newStream is a record for stream id, a recycled one when there is.
func (c *h2Conn) newStream(id uint32) *h2Stream {
	var st *h2Stream
	c.mu.Lock()
	if n := len(c.free); n > 0 {
		st, c.free = c.free[n-1], c.free[:n-1]
	}
	c.mu.Unlock()
	if st == nil {
		st = new(h2Stream)
	}
	st.c, st.id, st.declared, st.recvWindow = c, id, -1, h2StreamWindow
	return st
}

// recycle keeps an ended stream's record for a later stream, with its
// header maps cleared, unless something may still hold it (abandoned).
// The stream is out of c.streams: only its worker has it.
func (c *h2Conn) recycle(st *h2Stream) {
	c.mu.Lock()
	keep := !st.abandoned && !c.done && len(c.free) < h2FreeStreams
	c.mu.Unlock()
	if !keep {
		return
	}
	reqHeader, header, values := st.reqHeader, st.header, st.values
	// A map grown by an unusually long header is not kept.
	if len(reqHeader) > 32 {
		reqHeader = nil
	}
	if len(header) > 32 {
		header = nil
	}
	clear(reqHeader)
	clear(header)
	clear(values[:cap(values)]) // the strings they held may go
	*st = h2Stream{reqHeader: reqHeader, header: header, values: values[:0]}
	c.mu.Lock()
	if !c.done && len(c.free) < h2FreeStreams {
		c.free = append(c.free, st)
	}
	c.mu.Unlock()
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
			if tr := st.trailers(); tr != nil && !st.head {
				aborted = st.writeTrailers(tr) != nil
			} else {
				aborted = st.writeData(st.pend, true) != nil
			}
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
	c.mu.Unlock()
	c.renewDeadline()
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
