package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/proxy/monotime"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// rewrite builds the request to the target: its address, and the headers
// the ALB adds (ALB user guide, "HTTP headers and Application Load Balancers"). ReverseProxy has already removed the
// client's X-Forwarded-For/-Proto/-Host and the hop-by-hop headers.
func rewrite(pr *httputil.ProxyRequest) {
	ex := pr.In.Context().Value(exchangeKey{}).(*exchange)
	out := pr.Out
	// A request passed only on a closed connection closes the target's
	// too: nothing after it is read from either.
	out.Close = ex.verdict.closes()
	out.URL.Scheme = ex.fw.scheme
	out.URL.Host = ex.member.Addr()
	// The Host header goes through as the client sent it, lower-cased.
	if hasUpper(out.Host) {
		out.Host = strings.ToLower(out.Host)
	}
	h := out.Header
	// append mode: the client's values are kept, and never trusted for
	// anything, then the address the connection came from.
	ex.xffHdr[0] = forwardedFor(pr.In, ex.clientIP)
	h["X-Forwarded-For"] = ex.xffHdr[:]
	h["X-Forwarded-Proto"] = ex.l.xfProto
	h["X-Forwarded-Port"] = ex.l.xfPort
	h["X-Amzn-Trace-Id"] = ex.traceHdr[:]
}

// retrier is the proxy's transport: the shared keep-alive transport, and
// one retry on another target when the connection to the first could not
// be made. Nothing reached that target, so the retry is safe for every
// method and body (the body was not read; ReverseProxy keeps it open).
type retrier struct{ p *Proxy }

func (rt retrier) RoundTrip(out *http.Request) (*http.Response, error) {
	ex := out.Context().Value(exchangeKey{}).(*exchange)
	ex.sentAt = time.Now()
	// One transport for both tries: SetAttributes may replace it meanwhile.
	t := rt.p.transportOf()
	if ex.fw.http2 {
		t = rt.p.transportH2.Load()
	}
	res, err := t.RoundTrip(out)
	if err != nil && isConnectError(err) {
		if next, ok := ex.retryTarget(); ok {
			rt.p.retarget(ex, next)
			out.URL.Host = next.Addr()
			ex.sentAt = time.Now()
			res, err = t.RoundTrip(out)
		}
	}
	ex.headersAt = time.Now()
	if err == nil {
		ex.targetStatus = res.StatusCode
	}
	return res, err
}

func isConnectError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// proxyError answers as the ALB does when the target failed ("Troubleshoot your Application Load Balancers"):
// 504 when it did not answer within the idle timeout (or could not be
// connected to within the connect timeout), 502 when it refused, reset or
// sent a malformed response; 460 in the log when the client went away.
func (p *Proxy) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	ex, ok := w.(*exchange)
	if !ok {
		serveError(w, http.StatusBadGateway)
		return
	}
	code := errorStatus(ex, err)
	if ex.member != nil {
		p.log.Debug("target failed", "target", ex.member.Addr(), "status", code, "err", err)
	}
	serveError(ex, code)
}

// retarget records that ex's ReverseProxy request moved to m (its retry).
func (p *Proxy) retarget(ex *exchange, m *targetgroup.Member) {
	p.cutMu.Lock()
	if r := p.viaReverseProxy[ex]; r != nil {
		r.member = m
	}
	p.cutMu.Unlock()
}

// trackCut registers a ReverseProxy request's cancel for the deregistration cut; the returned
// func forgets it.
func (p *Proxy) trackCut(ex *exchange, cancel context.CancelFunc) func() {
	p.cutMu.Lock()
	if p.viaReverseProxy == nil {
		p.viaReverseProxy = map[*exchange]*rpRequest{}
	}
	p.viaReverseProxy[ex] = &rpRequest{member: ex.member, cancel: cancel}
	p.cutMu.Unlock()
	return func() {
		p.cutMu.Lock()
		delete(p.viaReverseProxy, ex)
		p.cutMu.Unlock()
	}
}

func (b *bufferPool) Get() []byte { return b.pool.Get().(*[bufferSize]byte)[:] }

func (b *bufferPool) Put(buf []byte) {
	if len(buf) == bufferSize {
		b.pool.Put((*[bufferSize]byte)(buf))
	}
}

// writeIdleConn is a target connection of the ReverseProxy path whose
// writes fail once the target has taken nothing for the idle timeout: the
// ALB's "no data sent or received" for a target that stops reading a
// request body (net/http's transport has no write timeout; package
// upstream's connections have rawio's). Each write renews the deadline,
// the transport writing at most its 8 KiB buffer (or a TLS record) at a
// time; a renewal costs a timer update, so it is skipped while the
// deadline has run down by less than a tenth (at most a second).
type writeIdleConn struct {
	net.Conn
	idle     time.Duration
	deadline monotime.IdleDeadline
}

// CloseWrite and CloseRead reach the connection underneath: ReverseProxy
// passes a client's half-close on to an upgraded target with CloseWrite,
// and without it would end the whole tunnel.
func (c *writeIdleConn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return errors.ErrUnsupported
}

func (c *writeIdleConn) CloseRead() error {
	if hc, ok := c.Conn.(interface{ CloseRead() error }); ok {
		return hc.CloseRead()
	}
	return errors.ErrUnsupported
}

func (c *writeIdleConn) Write(b []byte) (int, error) {
	if c.deadline.Renew(monotime.Now(c.deadline.At), c.idle) {
		_ = c.Conn.SetWriteDeadline(c.deadline.At)
	}
	return c.Conn.Write(b)
}

// viaReverseProxy forwards through httputil.ReverseProxy (HTTPS targets,
// upgrades, bodies of unknown length), cancellable by a deregistration cut.
func (l *Listener) viaReverseProxy(ex *exchange, r *http.Request) {
	ex.viaTransport = true
	ctx, cancel := context.WithCancel(ex)
	defer cancel()
	defer l.p.trackCut(ex, cancel)()
	l.p.rp.ServeHTTP(ex, r.WithContext(ctx))
}
