// Package upstream owns the load balancer's HTTP/1.1 client to its targets:
// one pool of kept-alive connections per target address, and the relay of
// one request and its response on the caller's goroutine. It exists for
// speed: net/http.Transport hands every request to a write goroutine and
// every response back from a read goroutine and allocates some fifty
// objects per round trip; here a request is written, and its response read
// and copied to the client, by the goroutine that serves the client.
//
// It handles plain HTTP targets and requests whose body, if any, has a
// known length; everything else (TLS to targets, chunked request bodies,
// protocol upgrades) stays with httputil.ReverseProxy.
package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elbow-lb/elbow/internal/proxy/httpbytes"
	"github.com/elbow-lb/elbow/internal/proxy/monotime"
	"github.com/elbow-lb/elbow/internal/proxy/rawio"
)

// Errors a Forward returns, by stage; they wrap the cause.
var (
	// ErrConnect: no connection could be made; nothing reached the target,
	// so the request may go to another target.
	ErrConnect = errors.New("connect to target")
	// ErrNoResponse: the target sent no valid response header (refused,
	// reset, malformed, or timed out: test the cause with net.Error.Timeout).
	ErrNoResponse = errors.New("no response from target")
	// ErrBody: the response broke off after its header was relayed.
	ErrBody = errors.New("response body from target")
	// ErrCut: Cut closed the connection under the request (wrapped in
	// ErrNoResponse or ErrBody); it is never retried.
	ErrCut = errors.New("deregistration delay elapsed")
	// ErrAborted: Abort closed the connection under the request, whose
	// client had gone; never retried.
	ErrAborted = errors.New("request aborted: the client closed its connection")
)

// Client relays requests to targets.
type Client struct {
	// IdleTimeout bounds the wait for a response header and for each read
	// of the body (the ALB's idle timeout); SetIdleTimeout changes it on a
	// running client.
	IdleTimeout time.Duration
	// idle, when not zero, replaces IdleTimeout (SetIdleTimeout).
	idle atomic.Int64
	// ConnectTimeout bounds a dial. Default 10 s (the ALB's).
	ConnectTimeout time.Duration
	// MaxIdlePerTarget bounds each target's pool.
	MaxIdlePerTarget int
	// IdleConnTimeout: a pooled connection unused this long is closed rather
	// than reused. Default 90 s.
	IdleConnTimeout time.Duration
	// QuietCheckAfter: a pooled connection idle this long is checked
	// before reuse (one non-blocking peek): if the target closed it, or
	// sent anything while it sat idle (a late "408 Request Timeout", as
	// some servers send when they time an idle connection out), it is
	// dropped, so that those bytes are never taken for the next request's
	// answer. net/http's transport watches each idle connection with a
	// goroutine instead; connections reused sooner skip the check, which
	// would cost a system call per request. Default 1 s; negative: never.
	QuietCheckAfter time.Duration
	// OnDial, when set, is called as a new connection to addr begins, once
	// Cut and Abort can reach the request making it: tests wait on it
	// instead of sleeping until "the request is connecting".
	OnDial func(addr string)
	// Dial makes the connections; nil is a net.Dialer's.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	pools sync.Map // addr -> *pool
	bufs  sync.Pool
}

// Header is one header added to the request.
type Header struct{ Name, Value string }

// Request is what goes to the target.
type Request struct {
	// Addr is the target, ip:port.
	Addr string
	// In is the client's request: method, URI, headers and body are relayed,
	// less hop-by-hop headers and those named in Replace.
	In *http.Request
	// Host is the Host header to send.
	Host string
	// Replace are headers set by the load balancer: any client value of
	// the same name is dropped. Names must be canonical; entries with an
	// empty Name are unused. A fixed array, so that a Request on the
	// caller's stack stays there.
	Replace [4]Header
	// Drop are further client headers not relayed (canonical names).
	Drop []string
	// Owner is whom the request is made for (the target group member):
	// Cut(Owner) closes its connection while it is in flight.
	Owner any
	// Tag identifies the request for Abort (the client's exchange).
	Tag any
	// Close sends the request with Connection: close, and the connection
	// is not reused (a request the desync mitigation passes only on closed
	// connections).
	Close bool
	// SentAt is when the caller sends the request; zero for now. The
	// client's clock readings are taken from it and from HeaderAt, not
	// read again (a clock read is a noticeable part of a request's cost).
	SentAt time.Time
}

// Result of a Forward.
type Result struct {
	// StatusCode is the target's response code, 0 when none was read.
	StatusCode int
	// HeaderAt is when the response header was read.
	HeaderAt time.Time
	// Err is nil, or wraps ErrConnect, ErrNoResponse or ErrBody.
	Err error
	// Unanswered reports an ErrNoResponse where the connection failed
	// (reset, closed) before any byte of response, not by a timeout: an
	// idempotent request may be sent again elsewhere.
	Unanswered bool
}

// Eligible reports whether Forward can relay r: no protocol upgrade, and a
// body of known length (or none).
func Eligible(r *http.Request) bool {
	if r.Method == http.MethodConnect || r.Header["Upgrade"] != nil {
		return false
	}
	return r.Body == nil || r.Body == http.NoBody || (r.ContentLength > 0 && len(r.TransferEncoding) == 0)
}

// Idempotent reports whether a request with method may be sent again after
// its connection failed without an answer (RFC 9110 section 9.2.2).
func Idempotent(method string) bool { return idempotent(method) }

// Forward sends req to its target and relays the response to w. When Err
// wraps ErrConnect or ErrNoResponse nothing was written to w.
func (c *Client) Forward(w http.ResponseWriter, req *Request) Result {
	if req.SentAt.IsZero() {
		req.SentAt = time.Now()
	}
	p := c.pool(req.Addr)
	cn, reused, err := p.get(c, req.SentAt, req.Owner, req.Tag)
	if err != nil {
		return dialFailed(req, err)
	}
	res, retry := c.roundTrip(cn, w, req)
	if retry && reused && idempotent(req.In.Method) && bodyless(req.In) {
		// A kept-alive connection the target had closed: nothing was read
		// from it, so the request never reached the application. Again, on
		// a new connection.
		if cn, err = p.dial(c, req.Owner, req.Tag); err != nil {
			return dialFailed(req, err)
		}
		res, retry = c.roundTrip(cn, w, req)
	}
	res.Unanswered = retry && errors.Is(res.Err, ErrNoResponse) && bodyless(req.In)
	return res
}

// dialFailed is the result of a connection that could not be made: a
// connect error (retried elsewhere by the caller), or a request cut or
// aborted while it was connecting, which is not.
func dialFailed(req *Request, err error) Result {
	if errors.Is(err, ErrCut) || errors.Is(err, ErrAborted) {
		return Result{Err: fmt.Errorf("%w %s: %w", ErrNoResponse, req.Addr, err)}
	}
	return Result{Err: fmt.Errorf("%w %s: %w", ErrConnect, req.Addr, err)}
}

// roundTrip runs one request on cn; retry reports a failure before any byte
// of response arrived, on the write or the first read.
func (c *Client) roundTrip(cn *conn, w http.ResponseWriter, req *Request) (res Result, retry bool) {
	if err := cn.writeRequest(req); err != nil {
		cn.close()
		if err := cn.cutError(); err != nil {
			return Result{Err: fmt.Errorf("%w %s: %w", ErrNoResponse, req.Addr, err)}, false
		}
		return Result{Err: fmt.Errorf("%w %s: %w", ErrNoResponse, req.Addr, err)}, true
	}
	// The target's time to answer starts once the request is all sent: a
	// body may have taken a while to come from the client (then the clock
	// is read again; a bodyless request was sent at SentAt).
	sent := req.SentAt
	if req.In.ContentLength != 0 {
		sent = monotime.Now(req.SentAt)
	}
	c.extendDeadlineAt(cn, sent)
	status, keep, err := cn.readHeader(req.In.Method)
	if err != nil {
		nothing := cn.br.Buffered() == 0 && !cn.readAny
		cn.close()
		if err := cn.cutError(); err != nil {
			return Result{Err: fmt.Errorf("%w %s: %w", ErrNoResponse, req.Addr, err)}, false
		}
		return Result{Err: fmt.Errorf("%w %s: %w", ErrNoResponse, req.Addr, err)}, nothing && !isTimeout(err)
	}
	res = Result{StatusCode: status, HeaderAt: monotime.Now(req.SentAt)}
	WriteHead(w, status, cn.fields)
	if err := c.copyBody(cn, w, req.In.Method, status); err != nil {
		cn.close()
		if cut := cn.cutError(); cut != nil {
			err = cut
		}
		res.Err = fmt.Errorf("%w %s: %w", ErrBody, req.Addr, err)
		return res, false
	}
	// Bytes already read beyond the response (more body than its length,
	// a body after 204 or HEAD) would be taken for the answer to the next
	// request on this connection, maybe another client's: never reuse it.
	if keep && cn.br.Buffered() == 0 && !req.Close {
		cn.pool.put(cn, c, res.HeaderAt)
	} else {
		cn.close()
	}
	return res, false
}

// bodyless reports whether r has no body: a body read from the client for
// the first attempt cannot be sent again.
func bodyless(r *http.Request) bool {
	return r.ContentLength == 0 && (r.Body == nil || r.Body == http.NoBody)
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *Client) pool(addr string) *pool {
	if p, ok := c.pools.Load(addr); ok {
		return p.(*pool)
	}
	p, _ := c.pools.LoadOrStore(addr, &pool{addr: addr})
	return p.(*pool)
}

// CloseIdle closes every pooled connection.
func (c *Client) CloseIdle() {
	c.pools.Range(func(_, v any) bool {
		p := v.(*pool)
		p.mu.Lock()
		idle := p.idle
		p.idle = nil
		p.mu.Unlock()
		for _, cn := range idle {
			_ = cn.nc.Close()
		}
		return true
	})
}

// pool is one target's connections: the idle ones, most recently used
// last, and those in use, linked through their busy fields (under the
// lock get and put take anyway), so that Cut finds them.
type pool struct {
	addr string
	mu   sync.Mutex
	idle []*conn
	busy *conn
}

// get takes the most recently used idle connection, or dials one; now is
// the caller's clock reading.
func (p *pool) get(c *Client, now time.Time, owner, tag any) (*conn, bool, error) {
	maxIdle := c.IdleConnTimeout
	if maxIdle <= 0 {
		maxIdle = 90 * time.Second
	}
	quietAfter := c.QuietCheckAfter
	if quietAfter == 0 {
		quietAfter = time.Second
	}
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		cn := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		idle := now.Sub(cn.lastUsed)
		if idle < maxIdle && (idle < quietAfter || quietAfter < 0) {
			p.linkLocked(cn, owner, tag)
			p.mu.Unlock()
			return cn, true, nil
		}
		p.mu.Unlock()
		if idle < maxIdle && cn.quiet() {
			p.mu.Lock()
			p.linkLocked(cn, owner, tag)
			p.mu.Unlock()
			return cn, true, nil
		}
		_ = cn.nc.Close()
	}
	cn, err := p.dial(c, owner, tag)
	return cn, false, err
}

// linkLocked and unlinkLocked add cn to the busy list and take it out.
func (p *pool) linkLocked(cn *conn, owner, tag any) {
	cn.owner, cn.tag = owner, tag
	cn.prev, cn.next = nil, p.busy
	if p.busy != nil {
		p.busy.prev = cn
	}
	p.busy = cn
	cn.linked = true
}

func (p *pool) unlinkLocked(cn *conn) {
	if !cn.linked {
		return
	}
	if cn.prev != nil {
		cn.prev.next = cn.next
	} else {
		p.busy = cn.next
	}
	if cn.next != nil {
		cn.next.prev = cn.prev
	}
	cn.prev, cn.next, cn.owner, cn.tag, cn.linked = nil, nil, nil, nil, false
}

// Cut closes the connections in use for owner: their requests fail with
// ErrCut. The load balancer cuts a target's requests still in flight when
// its deregistration delay ends.
func (c *Client) Cut(owner any) int {
	return c.closeBusy(func(cn *conn) bool { return cn.owner == owner }, cutDeregistered, false)
}

// Abort closes the connection in use for the request tagged tag: its
// client has gone, and the target need not go on working for nobody. The
// request fails with ErrAborted. False when tag has no request in flight.
func (c *Client) Abort(tag any) bool {
	return c.closeBusy(func(cn *conn) bool { return cn.tag == tag }, cutAborted, true) > 0
}

// closeBusy closes the connections in use that match, marked with why;
// once stops at the first pool with one.
func (c *Client) closeBusy(match func(*conn) bool, why int32, once bool) int {
	closed := 0
	c.pools.Range(func(_, v any) bool {
		p := v.(*pool)
		p.mu.Lock()
		for cn := p.busy; cn != nil; cn = cn.next {
			if match(cn) {
				cn.cut.Store(why)
				if cn.nc != nil {
					_ = cn.nc.Close()
				} else if cn.cancelDial != nil {
					cn.cancelDial() // still connecting (see dial)
				}
				closed++
			}
		}
		p.mu.Unlock()
		return !once || closed == 0
	})
	return closed
}

func (p *pool) dial(c *Client, owner, tag any) (*conn, error) {
	timeout := c.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	// In the busy list before it connects, so that Cut and Abort find a
	// request still connecting too: they cancel the dial.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cn := &conn{pool: p, cancelDial: cancel}
	p.mu.Lock()
	p.linkLocked(cn, owner, tag)
	p.mu.Unlock()
	if c.OnDial != nil {
		c.OnDial(p.addr)
	}
	dial := c.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	nc, err := dial(ctx, "tcp", p.addr)
	p.mu.Lock()
	cn.cancelDial = nil
	if err != nil || cn.cut.Load() != 0 {
		p.unlinkLocked(cn)
		p.mu.Unlock()
		if nc != nil {
			_ = nc.Close()
		}
		if cut := cn.cutError(); cut != nil {
			return nil, cut
		}
		return nil, err
	}
	cn.nc = nc
	p.mu.Unlock()
	rw := rawio.New(nc)
	if rc, ok := rw.(*rawio.Conn); ok {
		// A target that stops reading a request body is cut after the
		// idle timeout, as one that stops answering.
		rc.SetWriteIdleTimeout(c.idleTimeout())
	}
	cn.raw, cn.br, cn.bw = rw, bufio.NewReaderSize(rw, 8<<10), bufio.NewWriterSize(rw, 8<<10)
	return cn, nil
}

// SetIdleTimeout changes the idle timeout of a running client (the load
// balancer attribute idle_timeout.timeout_seconds, changed live): each wait
// for a response header or body read that begins afterwards takes it; a
// connection's write idle timeout is the one of when it was dialled.
func (c *Client) SetIdleTimeout(d time.Duration) { c.idle.Store(int64(d)) }

func (c *Client) idleTimeout() time.Duration {
	if d := c.idle.Load(); d != 0 {
		return time.Duration(d)
	}
	return c.IdleTimeout
}

// put keeps cn for reuse; lastUsed is when its last response header came,
// a clock reading the request already took. Its idle time counts from
// there: after a long body it looks idle longer than it was, which costs
// at most a quiet check or a fresh dial, never a stale reuse.
func (p *pool) put(cn *conn, c *Client, lastUsed time.Time) {
	cn.lastUsed = lastUsed
	cn.readAny = false
	p.mu.Lock()
	p.unlinkLocked(cn)
	if cn.cut.Load() != 0 {
		p.mu.Unlock()
		return // closed by Cut or Abort after its response ended
	}
	if len(p.idle) < c.MaxIdlePerTarget || c.MaxIdlePerTarget <= 0 {
		p.idle = append(p.idle, cn)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	_ = cn.nc.Close()
}

type conn struct {
	nc        net.Conn
	raw       io.ReadWriter // nc's reads and writes (package rawio)
	pool      *pool
	br        *bufio.Reader
	bw        *bufio.Writer
	lastUsed  time.Time
	readAny   bool
	deadline  monotime.IdleDeadline // the read deadline set last
	framing   framing
	remaining int64
	head      []byte  // scratch for the response header
	fields    []Field // the response header being relayed

	// In the pool's busy list while in use (under the pool's lock).
	owner, tag any
	prev, next *conn
	linked     bool
	cut        atomic.Int32 // closed by Cut (cutDeregistered) or Abort (cutAborted)
	// cancelDial cancels the dial while nc is nil (under the pool's lock).
	cancelDial context.CancelFunc
}

const (
	cutDeregistered = 1 + iota
	cutAborted
)

// cutError is why Cut or Abort closed cn, nil if neither did.
func (cn *conn) cutError() error {
	switch cn.cut.Load() {
	case cutDeregistered:
		return ErrCut
	case cutAborted:
		return ErrAborted
	}
	return nil
}

// quiet reports whether nothing arrived on cn since its last response and
// the target has not closed it.
func (cn *conn) quiet() bool {
	if cn.br.Buffered() > 0 {
		return false
	}
	if rc, ok := cn.raw.(*rawio.Conn); ok {
		return rc.Quiet()
	}
	return true
}

func (cn *conn) close() {
	cn.pool.mu.Lock()
	cn.pool.unlinkLocked(cn)
	cn.pool.mu.Unlock()
	_ = cn.nc.Close()
}

// hopHeaders are not relayed in either direction (RFC 9110 section 7.6.1):
// httputil.ReverseProxy's list, so that a client's proxy credentials never
// reach a target.
func isHop(name string) bool {
	switch name {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

func (cn *conn) writeRequest(req *Request) error {
	in := req.In
	bw := cn.bw
	// The head is appended in bw's free space and written once: cheaper
	// than a bufio call per piece. A head larger than the space is
	// appended to a new array, and still written once.
	b := bw.AvailableBuffer()
	b = append(b, in.Method...)
	b = append(b, ' ')
	uri := in.RequestURI
	if uri == "" || uri[0] != '/' && uri != "*" {
		uri = in.URL.RequestURI() // absolute-form or HTTP/2 requests
	}
	b = append(b, uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, req.Host...)
	b = append(b, "\r\n"...)
	connTokens := in.Header["Connection"]
next:
	for name, values := range in.Header {
		if isHop(name) || name == "Content-Length" && in.ContentLength > 0 {
			continue // a body's length is written once, below
		}
		for _, r := range req.Replace {
			if r.Name == name && name != "" {
				continue next
			}
		}
		for _, d := range req.Drop {
			if d == name {
				continue next
			}
		}
		if len(connTokens) > 0 && httpbytes.Listed(connTokens, name) {
			continue
		}
		for _, v := range values {
			b = appendField(b, name, v)
		}
	}
	for _, r := range req.Replace {
		if r.Name != "" {
			b = appendField(b, r.Name, r.Value)
		}
	}
	if req.Close {
		b = append(b, "Connection: close\r\n"...)
	}
	if in.ContentLength > 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, in.ContentLength, 10)
		b = append(b, "\r\n\r\n"...)
		_, _ = bw.Write(b)
		if _, err := io.CopyN(bw, in.Body, in.ContentLength); err != nil {
			return fmt.Errorf("request body: %w", err)
		}
	} else {
		b = append(b, "\r\n"...)
		_, _ = bw.Write(b)
	}
	return bw.Flush()
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}
