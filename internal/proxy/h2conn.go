package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/elbow-lb/elbow/internal/proxy/h1"
	"github.com/elbow-lb/elbow/internal/proxy/monotime"
)

// HTTP/2 from clients on the connection loop. An HTTPS connection that
// negotiated h2 stays on the goroutine that handshook it, which becomes the
// connection's reader (RFC 9113, with golang.org/x/net/http2's Framer and
// hpack). Each request stream is served on a goroutine of its own by the
// listener's ServeHTTP, as every other path's requests are (routing, the
// relay through package upstream, the access log, the recorder); its
// response goes out as frames written under the connection's write lock,
// one flush per response. net/http's HTTP/2 server costs three goroutines
// per request (reader, handler, a flush goroutine per frame batch); this
// costs two, and fewer system calls.

const (
	// h2MaxStreams is SETTINGS_MAX_CONCURRENT_STREAMS, the ALB's 128
	// ("Application Load Balancers ... HTTP/2 ... up to 128 parallel
	// requests", Listeners for your Application Load Balancers).
	h2MaxStreams = 128
	// h2StreamWindow and h2ConnWindow are the receive windows offered: a
	// request body waits in memory at most this much per stream and per
	// connection (the connection's bounds the total).
	h2StreamWindow = 256 << 10
	h2ConnWindow   = 1 << 20
	// h2FloodPerSecond bounds the PING and SETTINGS frames a client may
	// send in a second (each costs an answer); past it the connection
	// closes with GOAWAY ENHANCE_YOUR_CALM.
	h2FloodPerSecond = 1000
	// h2MaxResets: a client that has reset more than this many streams
	// before their response was done, and more than half the streams it
	// opened, is closed with ENHANCE_YOUR_CALM (CVE-2023-44487, "rapid
	// reset": each stream opened costs the server work, each reset frees
	// the client's slot at once). Counted, not timed, so that a slow
	// attacker is caught as surely as a fast one.
	h2MaxResets = 100
)

// h2Conn is one client's HTTP/2 connection.
type h2Conn struct {
	l          *Listener
	nc         net.Conn // the TCP connection
	tc         *tls.Conn
	tlsState   *tls.ConnectionState
	remoteAddr string
	values     context.Context // carries the conn_trace_id
	fr         *http2.Framer
	hdrs       *h2HeaderReader // the reader's alone

	// wmu guards the write side: bw, the framer's writes, the hpack
	// encoder and its buffer, lower.
	wmu   sync.Mutex
	bw    *bufio.Writer
	henc  *hpack.Encoder
	hbuf  headerBuf
	lower map[string]string
	werr  error

	// mu guards the streams and flow control; cond is broadcast when a
	// send window grows, a stream is reset or the connection ends.
	handlers sync.WaitGroup // the streams' goroutines
	// work hands a stream to an idle worker (see dispatch); idleWorkers
	// counts those waiting. Only the frame reader sends on it, and it
	// closes it when it is done (close): the workers' wait is a plain
	// receive, cheaper per stream than a select with a quit channel.
	work        chan *h2Stream
	idleWorkers atomic.Int32
	// counted is the Framer's reader; boundary is its count after the
	// last whole frame read (see serve).
	counted     countingReader
	boundary    int64
	deadline    monotime.IdleDeadline // under mu
	mu          sync.Mutex
	cond        sync.Cond
	streams     map[uint32]*h2Stream
	free        []*h2Stream // ended streams' records (recycle)
	maxID       uint32      // the highest stream id the client opened
	sendWindow  int64       // the connection's, granted by the client
	initWindow  int64       // the client's SETTINGS_INITIAL_WINDOW_SIZE
	maxFrame    int         // the client's SETTINGS_MAX_FRAME_SIZE
	recvWindow  int64       // what the client may still send on the connection
	recvUnacked int64       // body bytes read and not yet granted back
	goingAway   bool        // GOAWAY sent: no new streams
	done        bool        // the connection is over

	// Flood accounting, by the reader alone.
	second         time.Time
	floods         int
	opened, resets int
	// calm: a GOAWAY for misbehaviour went out; the connection lingers
	// before it closes, so that the client reads it (see linger).
	calm bool
}

// headerBuf is the hpack encoder's output.
type headerBuf struct{ b []byte }

func (h *headerBuf) Write(p []byte) (int, error) { h.b = append(h.b, p...); return len(p), nil }

var errH2Closed = errors.New("http2: connection closed")

// serveH2 serves an HTTPS connection that negotiated h2; raw is the TCP
// connection under tc when package rawio has it.
func (l *Listener) serveH2(nc net.Conn, tc *tls.Conn, t *tlsConn) {
	c := &h2Conn{l: l, nc: nc, tc: tc, tlsState: &t.state, remoteAddr: nc.RemoteAddr().String(),
		streams: map[uint32]*h2Stream{}, sendWindow: 65535, initWindow: 65535,
		maxFrame: 16384, recvWindow: h2ConnWindow, lower: map[string]string{}}
	c.cond.L = &c.mu
	if t.raw != nil {
		t.raw.SetWriteIdleTimeout(l.p.attrs.Load().idle)
	}
	if !l.addH2(c) {
		l.p.stats.rejectedConns.Add(1)
		_ = nc.Close()
		return
	}
	l.p.stats.activeConns.Add(1)
	c.values = context.WithValue(context.Background(), connTraceKey{}, newConnTraceID())
	defer func() {
		c.linger()
		c.close()
		// Every stream was told; their handlers end before the
		// connection counts as gone (shutdown waits on it).
		c.handlers.Wait()
		l.removeH2(c)
		l.p.stats.activeConns.Add(-1)
	}()
	c.bw = bufio.NewWriterSize(tc, 16<<10)
	c.counted.r = tc
	c.work = make(chan *h2Stream)
	c.fr = http2.NewFramer(c.bw, &c.counted)
	// Header lists are bounded as HTTP/1 heads are (64 K); reading stops
	// at CONTINUATION frames far past that (CVE-2023-45288).
	c.hdrs = newH2HeaderReader(h1.MaxHead)
	// The frame size offered is the default 16 K (RFC 9113 section
	// 6.5.2); the Framer's own default, 16 M, would let a client make it
	// allocate that much.
	c.fr.SetMaxReadFrameSize(16 << 10)
	c.henc = hpack.NewEncoder(&c.hbuf)
	if err := c.serve(); err != nil {
		l.p.log.Debug("http2 connection", "client", c.remoteAddr, "err", err)
	}
}

func (c *h2Conn) serve() error {
	idle := c.l.p.attrs.Load().idle
	_ = c.nc.SetReadDeadline(time.Now().Add(idle))
	var preface [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(c.tc, preface[:]); err != nil || string(preface[:]) != http2.ClientPreface {
		return errors.New("http2: bad client preface")
	}
	c.wmu.Lock()
	_ = c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: h1.MaxHead})
	_ = c.fr.WriteWindowUpdate(0, h2ConnWindow-65535)
	err := c.bw.Flush()
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	f, err := c.readFrame()
	if err != nil {
		return err
	}
	if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
		// RFC 9113 section 3.4: the preface ends with a SETTINGS frame.
		return c.goAway(http2.ErrCodeProtocol, errors.New("http2: no SETTINGS after the preface"))
	}
	for {
		if err := c.handle(f); err != nil {
			return err
		}
		c.boundary = c.counted.n
		c.renewDeadline()
		if f, err = c.readFrame(); err != nil {
			var se http2.StreamError
			var ce http2.ConnectionError
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout() && c.counted.n == c.boundary && c.open():
				// Idle for the timeout, but with streams open (waiting on
				// their targets, whose own timeout answers them): read on.
				// Only between frames: the Framer lost nothing (crypto/tls
				// keeps a partial record after a timeout).
				c.mu.Lock()
				c.deadline.At = time.Time{}
				c.mu.Unlock()
				f = nil
				continue
			case errors.As(err, &ne) && ne.Timeout():
				// The idle timeout, no stream open.
				return c.goAway(http2.ErrCodeNo, err)
			case errors.As(err, &se):
				if err := c.streamError(se); err != nil {
					return err
				}
				f = nil
				continue
			case errors.As(err, &ce):
				return c.goAway(http2.ErrCode(ce), err)
			case errors.Is(err, http2.ErrFrameTooLarge):
				return c.goAway(http2.ErrCodeFrameSize, err)
			}
			return err
		}
	}
}

// readFrame reads the client's next frame; a HEADERS frame comes back
// with its whole block read and decoded into c.hdrs (its CONTINUATION
// frames read too), and stands for it.
func (c *h2Conn) readFrame() (http2.Frame, error) {
	f, err := c.fr.ReadFrame()
	if hf, ok := f.(*http2.HeadersFrame); ok && err == nil {
		_, err = c.hdrs.read(c.fr, hf)
	}
	return f, err
}

// renewDeadline gives the reader the idle timeout from now
// (monotime.IdleDeadline's rule: the deadline is set only once it has run
// down by a tenth); the reader and a stream's end both renew it, as data
// received and sent both count (the ALB closes a connection with neither
// for the idle timeout).
func (c *h2Conn) renewDeadline() {
	idle := c.l.p.attrs.Load().idle
	c.mu.Lock()
	if c.deadline.Renew(monotime.Now(c.deadline.At), idle) {
		_ = c.nc.SetReadDeadline(c.deadline.At)
	}
	c.mu.Unlock()
}

// open reports whether a stream is open.
func (c *h2Conn) open() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.streams) > 0
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	return n, err
}

// dispatch runs a stream's handler on a worker of the connection: an idle
// one when there is one, else a new one. A worker keeps its goroutine (and
// the stack the relay grew) for the next stream; at most h2IdleWorkers
// wait per connection.
func (c *h2Conn) dispatch(st *h2Stream) {
	select {
	case c.work <- st:
	default:
		c.handlers.Go(func() { c.worker(st) })
	}
}

const h2IdleWorkers = 4

// worker serves streams one after another, with one exchange: a
// request's exchange is done with when its stream ends (the loop reuses
// its connection's alike).
func (c *h2Conn) worker(st *h2Stream) {
	ex := new(exchange)
	for {
		if st.run(ex) {
			c.recycle(st)
		}
		if c.idleWorkers.Add(1) > h2IdleWorkers {
			c.idleWorkers.Add(-1)
			return
		}
		next, ok := <-c.work
		c.idleWorkers.Add(-1)
		if !ok {
			return // the connection is done
		}
		st = next
	}
}

// handle acts on one frame the client sent (nil: nothing to do).
func (c *h2Conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case nil:
	case *http2.HeadersFrame:
		// Read and decoded by readFrame: its block is c.hdrs's.
		return c.onHeaders(&c.hdrs.blk)
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		if err := c.flood(&c.floods, h2FloodPerSecond); err != nil {
			return err
		}
		return c.onSettings(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		if err := c.flood(&c.floods, h2FloodPerSecond); err != nil {
			return err
		}
		c.wmu.Lock()
		_ = c.fr.WritePing(true, f.Data)
		err := c.flushLocked()
		c.wmu.Unlock()
		return err
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.RSTStreamFrame:
		return c.onReset(f)
	case *http2.GoAwayFrame:
		// The client will open no more streams: finish those open.
		c.mu.Lock()
		c.goingAway = true
		open := len(c.streams)
		c.mu.Unlock()
		if open == 0 {
			return io.EOF
		}
	case *http2.PushPromiseFrame:
		// RFC 9113 section 8.4: a client cannot push.
		return c.goAway(http2.ErrCodeProtocol, errors.New("http2: PUSH_PROMISE from a client"))
	default:
		// PRIORITY (deprecated, RFC 9113 section 5.3.2) and unknown
		// types (section 5.5) are ignored.
	}
	return nil
}

// flood counts a frame in *n for the current second; past limit the
// connection closes with ENHANCE_YOUR_CALM.
func (c *h2Conn) flood(n *int, limit int) error {
	now := time.Now()
	if now.Sub(c.second) >= time.Second {
		c.second, c.floods = now, 0
	}
	*n++
	if *n > limit {
		return c.goAway(http2.ErrCodeEnhanceYourCalm, errors.New("http2: PING or SETTINGS flood"))
	}
	return nil
}

func (c *h2Conn) onSettings(f *http2.SettingsFrame) error {
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err // RFC 9113 section 6.5.2's bounds
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			// RFC 9113 section 6.9.2: the change applies to every open
			// stream's window.
			c.mu.Lock()
			delta := int64(s.Val) - c.initWindow
			c.initWindow = int64(s.Val)
			for _, st := range c.streams {
				st.sendWindow += delta
				if st.sendWindow > 1<<31-1 {
					c.mu.Unlock()
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
			}
			c.cond.Broadcast()
			c.mu.Unlock()
		case http2.SettingMaxFrameSize:
			c.mu.Lock()
			c.maxFrame = int(s.Val)
			c.mu.Unlock()
		case http2.SettingHeaderTableSize:
			c.wmu.Lock()
			c.henc.SetMaxDynamicTableSize(s.Val)
			c.wmu.Unlock()
		}
		return nil
	})
	if ce, ok := err.(http2.ConnectionError); ok {
		return c.goAway(http2.ErrCode(ce), ce)
	}
	c.wmu.Lock()
	_ = c.fr.WriteSettingsAck()
	err = c.flushLocked()
	c.wmu.Unlock()
	return err
}

// RFC 9113 section 6.9.1: a window above 2^31-1 is a flow-control error,
// of the connection or of the stream.
func (c *h2Conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	connOver, streamOver := false, false
	c.mu.Lock()
	if f.StreamID == 0 {
		c.sendWindow += int64(f.Increment)
		connOver = c.sendWindow > 1<<31-1
	} else if st := c.streams[f.StreamID]; st != nil {
		st.sendWindow += int64(f.Increment)
		if streamOver = st.sendWindow > 1<<31-1; streamOver {
			st.resetLocked(http2.ErrCodeFlowControl)
		}
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	switch {
	case connOver:
		return c.goAway(http2.ErrCodeFlowControl, errors.New("http2: connection window overflow"))
	case streamOver:
		c.writeReset(f.StreamID, http2.ErrCodeFlowControl)
	}
	return nil
}

func (c *h2Conn) onReset(f *http2.RSTStreamFrame) error {
	c.mu.Lock()
	if f.StreamID > c.maxID {
		c.mu.Unlock()
		// RFC 9113 section 6.4: RST_STREAM on an idle stream.
		return c.goAway(http2.ErrCodeProtocol, errors.New("http2: RST_STREAM on an idle stream"))
	}
	st := c.streams[f.StreamID]
	if st != nil {
		st.resetLocked(f.ErrCode)
		c.cond.Broadcast()
	}
	c.mu.Unlock()
	if st != nil {
		c.resets++
		if c.resets > h2MaxResets && 2*c.resets > c.opened {
			return c.goAway(http2.ErrCodeEnhanceYourCalm, errors.New("http2: rapid reset"))
		}
	}
	return nil
}

// streamError answers a stream the Framer found malformed.
func (c *h2Conn) streamError(se http2.StreamError) error {
	c.mu.Lock()
	if se.StreamID > c.maxID && se.StreamID%2 == 1 {
		c.maxID = se.StreamID
	}
	st := c.streams[se.StreamID]
	if st != nil {
		st.resetLocked(se.Code)
		c.cond.Broadcast()
	}
	c.mu.Unlock()
	c.writeReset(se.StreamID, se.Code)
	return nil
}

// writeReset sends RST_STREAM.
func (c *h2Conn) writeReset(id uint32, code http2.ErrCode) {
	c.wmu.Lock()
	_ = c.fr.WriteRSTStream(id, code)
	_ = c.flushLocked()
	c.wmu.Unlock()
}

// goAway tells the client the connection ends (code, and the last stream
// served) and returns err, which ends the reader.
func (c *h2Conn) goAway(code http2.ErrCode, err error) error {
	c.mu.Lock()
	c.goingAway = true
	last := c.maxID
	if code != http2.ErrCodeNo {
		c.calm = true
	}
	c.mu.Unlock()
	c.wmu.Lock()
	_ = c.fr.WriteGoAway(last, code, nil)
	_ = c.flushLocked()
	c.wmu.Unlock()
	return err
}

// shutdown is the listener's graceful stop: GOAWAY once, then the
// connection closes when its last stream is done; true when it is closed.
func (c *h2Conn) shutdown() bool {
	c.mu.Lock()
	first, open := !c.goingAway, len(c.streams)
	c.goingAway = true
	c.mu.Unlock()
	if first {
		_ = c.goAway(http2.ErrCodeNo, nil)
	}
	if open == 0 {
		_ = c.nc.Close()
		return true
	}
	return false
}

// flushLocked writes what is buffered; wmu is held.
func (c *h2Conn) flushLocked() error {
	if c.werr != nil {
		return c.werr
	}
	if c.bw.Buffered() > 0 {
		c.werr = c.bw.Flush()
	}
	return c.werr
}

// linger, after a GOAWAY for an error: closing with unread bytes would
// send a reset, and the client could lose the GOAWAY; stop writing, and
// drain for a moment first (as the HTTP/1 loop's reject does).
func (c *h2Conn) linger() {
	c.mu.Lock()
	calm := c.calm
	c.mu.Unlock()
	tc, ok := c.nc.(*net.TCPConn)
	if !calm || !ok {
		return
	}
	_ = tc.CloseWrite()
	_ = c.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, _ = io.CopyN(io.Discard, c.nc, maxDiscard)
}

// close ends the connection: every stream still open is told, and waits
// no more for windows.
func (c *h2Conn) close() {
	c.mu.Lock()
	c.done = true
	for _, st := range c.streams {
		st.resetLocked(http2.ErrCodeCancel)
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	// On the frame reader's goroutine, after its last dispatch: no send
	// can follow.
	close(c.work)
	_ = c.nc.Close()
}

// addH2 registers an HTTP/2 connection for shutdown; false when the
// listener is closing.
func (l *Listener) addH2(c *h2Conn) bool {
	l.loop.mu.Lock()
	defer l.loop.mu.Unlock()
	if l.loop.closing.Load() {
		return false
	}
	if l.loop.h2conns == nil {
		l.loop.h2conns = map[*h2Conn]struct{}{}
	}
	l.loop.h2conns[c] = struct{}{}
	return true
}

func (l *Listener) removeH2(c *h2Conn) {
	l.loop.mu.Lock()
	delete(l.loop.h2conns, c)
	l.loop.mu.Unlock()
}
