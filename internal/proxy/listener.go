package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/elbow-lb/elbow/internal/proxy/monotime"
	"github.com/elbow-lb/elbow/internal/proxy/upstream"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/elbow-lb/elbow/internal/config"
)

// Listener accepts client traffic on one address and routes it by its rules.
type Listener struct {
	p *Proxy
	// key identifies the listener's config across reloads (listenerKey).
	key      string
	protocol string // HTTP or HTTPS
	address  string
	// port is the port listened on, once bound (the configured one, or the
	// one the system chose for port 0).
	port string
	// hostName is the Host given to an HTTP/1.0 request that has none, as
	// the ALB gives its DNS name: the listener's host (and port, unless the
	// protocol's default).
	hostName   string
	xfProto    []string
	xfPort     []string
	accessType string

	table atomic.Pointer[table]

	cert        *tls.Certificate
	fingerprint string
	srv         *http.Server
	ln          net.Listener
	// loop is the client-side connection loop of a plain-HTTP listener
	// (serverloop.go); nil when net/http serves every connection.
	loop *loopState
}

// NewListener builds a listener from cl over groups; the Proxy's Start
// binds it. Port 0 picks a free port (tests).
func (p *Proxy) NewListener(cl config.Listener, groups Groups) (*Listener, error) {
	l := &Listener{p: p, key: listenerKey(cl), protocol: cl.Protocol, address: cl.Address, port: strconv.Itoa(cl.Port)}
	if l.protocol == "" {
		l.protocol = "HTTP"
	}
	l.accessType = "http"
	l.xfProto = []string{"http"}
	if l.protocol == "HTTPS" {
		l.accessType = "https"
		l.xfProto = []string{"https"}
		var err error
		if cl.CertificateFile != "" {
			c, lerr := tls.LoadX509KeyPair(cl.CertificateFile, cl.KeyFile)
			if lerr != nil {
				return nil, fmt.Errorf("certificate %s: %w", cl.CertificateFile, lerr)
			}
			l.cert = &c
		} else if l.cert, err = selfSigned(cl.Address, time.Now()); err != nil {
			return nil, err
		}
		l.fingerprint = fingerprint(l.cert)
	}
	t, err := l.compile(cl, groups)
	if err != nil {
		return nil, err
	}
	l.table.Store(t)
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: p.o.IdleTimeout,
		IdleTimeout:       p.o.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if g, ok := c.(*gatedConn); ok {
				return context.WithValue(ctx, connTraceKey{}, g)
			}
			return context.WithValue(ctx, connTraceKey{}, newConnTraceID())
		},
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	if l.cert != nil {
		protocols.SetHTTP2(true)
		l.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*l.cert}, MinVersion: tls.VersionTLS12,
			NextProtos: []string{"h2", "http/1.1"}}
	}
	l.srv.Protocols = &protocols
	if l.cert == nil && !p.o.DisableFastPath && !p.o.DisableServerLoop {
		l.loop = &loopState{conns: map[*clientConn]struct{}{}}
	}
	return l, nil
}

// SetRoutes compiles cl's rules over groups and swaps them in atomically.
// Only the rules and actions of cl are read.
func (l *Listener) SetRoutes(cl config.Listener, groups Groups) error {
	t, err := l.compile(cl, groups)
	if err != nil {
		return fmt.Errorf("listener %s: %w", l.Addr(), err)
	}
	l.table.Store(t)
	return nil
}

// Addr is the address listened on (host:port); before Start, the configured one.
func (l *Listener) Addr() string {
	if l.ln != nil {
		return l.ln.Addr().String()
	}
	return net.JoinHostPort(l.address, l.port)
}

// Protocol is HTTP or HTTPS.
func (l *Listener) Protocol() string { return l.protocol }

// URL is the base URL clients use, such as https://127.0.0.1:8443.
func (l *Listener) URL() string {
	if l.protocol == "HTTPS" {
		return "https://" + l.Addr()
	}
	return "http://" + l.Addr()
}

// CertificateFingerprint is the SHA-256 fingerprint of an HTTPS listener's
// certificate (AA:BB:...), "" for HTTP.
func (l *Listener) CertificateFingerprint() string { return l.fingerprint }

// Certificate is an HTTPS listener's certificate, nil for HTTP.
func (l *Listener) Certificate() *tls.Certificate { return l.cert }

func (l *Listener) bind() error {
	ln, err := net.Listen("tcp", net.JoinHostPort(l.address, l.port))
	if err != nil {
		return fmt.Errorf("listener %s %s: %w", l.protocol, net.JoinHostPort(l.address, l.port), err)
	}
	l.ln = ln
	if l.loop != nil {
		l.loop.handoff = newHandoffListener(ln.Addr())
	}
	l.port = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	l.xfPort = []string{l.port}
	host := l.address
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	l.hostName = host
	if !(l.port == "80" && l.protocol == "HTTP" || l.port == "443" && l.protocol == "HTTPS") {
		l.hostName = net.JoinHostPort(host, l.port)
	}
	return nil
}

func (l *Listener) run() {
	var err error
	switch {
	case l.cert != nil:
		err = l.srv.Serve(newTLSGateListener(l.ln, l.p, l.srv.TLSConfig))
	case l.loop != nil:
		go l.acceptLoop()
		err = l.srv.Serve(l.loop.handoff)
	default:
		err = l.srv.Serve(gateListener{Listener: l.ln, p: l.p})
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		l.p.log.Error("listener stopped", "addr", l.Addr(), "err", err)
	}
}

func (l *Listener) shutdown(ctx context.Context) error {
	if l.ln == nil {
		return nil
	}
	var loopErr error
	var wg sync.WaitGroup
	if l.loop != nil {
		// Stop accepting first: the accept loop owns the socket, and
		// http.Server only closes its hand-off adapter.
		l.loop.closing.Store(true)
		_ = l.ln.Close()
		wg.Go(func() { loopErr = l.shutdownLoop(ctx) })
	}
	err := l.srv.Shutdown(ctx)
	if err != nil {
		_ = l.srv.Close()
	}
	wg.Wait()
	if err = errors.Join(err, loopErr); err != nil {
		return fmt.Errorf("listener %s: requests still in flight at shutdown: %w", l.Addr(), err)
	}
	return nil
}

// ServeHTTP routes one request.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := &exchange{Context: r.Context(), w: w, l: l, start: time.Now(), writeIdle: l.p.o.IdleTimeout}
	client, _ := netip.ParseAddrPort(r.RemoteAddr)
	ex.clientIP = ipOf(r.RemoteAddr)
	switch c := r.Context().Value(connTraceKey{}).(type) {
	case string:
		ex.connTraceID = c // HTTP/2
	case *gatedConn:
		ex.connTraceID, ex.gate = c.connTraceID, c
		if c.tlsState != nil {
			r.TLS = c.tlsState
		}
		v, _ := c.next()
		if v.hold {
			defer c.release()
		}
		if v.status != 0 {
			l.refuse(ex, r, &v)
			return
		}
		ex.verdict = v
	}
	if l.p.o.DropInvalidHeaderFields {
		dropInvalidHeaderFields(r.Header)
	}
	if r.Host == "" && r.ProtoMajor == 1 && r.ProtoMinor == 0 {
		r.Host = l.hostName
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &clientBody{ReadCloser: r.Body, ex: ex, rc: http.NewResponseController(w), idle: l.p.o.IdleTimeout}
	}
	a, priority := l.table.Load().route(r, client.Addr())
	l.serve(ex, r, a, priority)
}

// refuse answers a request the load balancer refuses itself (the gate's
// or the loop's judgement: v.status) and closes the connection; the
// access log shows the request as it came, with its classification.
func (l *Listener) refuse(ex *exchange, r *http.Request, v *verdict) {
	ex.verdict = *v
	r.Method, r.RequestURI, r.Proto, r.Host = v.method, v.target, v.proto, v.host
	r.Header = http.Header{}
	ex.action = refusedAction
	defer l.finish(ex, r)
	ex.Header()["Connection"] = []string{"close"}
	serveError(ex, v.status)
}

// refusedAction stands for "no action" in the access log of a request the
// load balancer refused before routing.
var refusedAction = &action{kind: actionRefused}

// serve answers a routed request, for net/http and for the connection loop.
func (l *Listener) serve(ex *exchange, r *http.Request, a *action, priority int) {
	ex.action, ex.priority = a, priority
	defer l.finish(ex, r)
	if ex.verdict.closes() {
		ex.Header()["Connection"] = []string{"close"}
	}
	if tooManyForwarded(r.Header["X-Forwarded-For"]) {
		ex.Header()["Connection"] = []string{"close"}
		serveError(ex, statusTooManyForwarded)
		return
	}
	switch a.kind {
	case actionForward:
		l.forward(ex, r, a)
	case actionRedirect:
		ex.redirectURL = l.redirectURL(&a.redirect, r)
		ex.Header()["Location"] = []string{ex.redirectURL}
		ex.WriteHeader(a.redirectCode)
	case actionFixedResponse:
		a.serveFixed(ex)
	}
}

func (l *Listener) forward(ex *exchange, r *http.Request, a *action) {
	fw := a.pickForwarder()
	if fw == nil {
		serveError(ex, http.StatusServiceUnavailable)
		return
	}
	ex.fw = fw
	m := fw.group.Pick(nil)
	if m == nil {
		// "The target groups for the load balancer have no registered targets."
		serveError(ex, http.StatusServiceUnavailable)
		return
	}
	ex.member = m
	// Deferred: ReverseProxy panics with http.ErrAbortHandler when a
	// response body breaks off mid-copy.
	defer func() { ex.member.Release() }()
	var existing string
	if v := r.Header["X-Amzn-Trace-Id"]; len(v) > 0 {
		existing = v[0]
	}
	if lc := ex.loopConn; lc != nil && !l.p.keepsStrings() {
		// In the connection's buffer, not a new string: nothing keeps the
		// value past the request (see keepsStrings).
		b := appendTraceID(lc.traceBuf[:0], existing, ex.start)
		ex.traceHdr[0] = unsafe.String(unsafe.SliceData(b), len(b))
	} else {
		ex.traceHdr[0] = traceID(existing, ex.start)
	}
	if fw.plain && upstream.Eligible(r) {
		l.relay(ex, r)
		return
	}
	ctx, cancel := context.WithCancel(ex)
	defer cancel()
	defer l.p.trackCut(ex, cancel)()
	l.p.rp.ServeHTTP(ex, r.WithContext(ctx))
}

// dropHeaders are client headers not relayed, as ReverseProxy's Rewrite
// mode drops them: their values cannot be trusted.
var dropHeaders = []string{"Forwarded", "X-Forwarded-Host"}

// relay is the fast path of a forward to a plain-HTTP target: the request
// is written and the response relayed on this goroutine (package upstream).
// It behaves as the ReverseProxy path does: same headers, same errors, the
// same retry when the connection could not be made.
func (l *Listener) relay(ex *exchange, r *http.Request) {
	host := r.Host
	if hasUpper(host) {
		host = strings.ToLower(host)
	}
	// Filled field by field: a composite literal is built aside and
	// copied, a noticeable part of this function's cost.
	var req upstream.Request
	req.Addr, req.Owner, req.In, req.Host, req.Drop = ex.member.Addr(), ex.member, r, host, dropHeaders
	req.Close = ex.verdict.closes()
	req.Replace[0] = upstream.Header{Name: "X-Forwarded-For", Value: forwardedFor(r, ex.clientIP)}
	req.Replace[1] = upstream.Header{Name: "X-Forwarded-Proto", Value: l.xfProto[0]}
	req.Replace[2] = upstream.Header{Name: "X-Forwarded-Port", Value: l.xfPort[0]}
	req.Replace[3] = upstream.Header{Name: "X-Amzn-Trace-Id", Value: ex.traceHdr[0]}
	up := l.p.upstream
	req.Tag = ex
	if lc := ex.loopConn; lc != nil {
		lc.waiting.Store(ex.start.UnixNano())
		defer lc.waiting.Store(0)
	} else if ex.Context.Done() != nil {
		// net/http cancels the request's context when its client leaves
		// (three allocations: this path is HTTPS's, TLS costs far more).
		stop := context.AfterFunc(ex.Context, func() { up.Abort(ex) })
		defer stop()
	}
	// Sent as soon as routed: the microseconds since the request arrived
	// are below the access log's millisecond precision, and not worth a
	// clock read.
	ex.sentAt = ex.start
	req.SentAt = ex.sentAt
	res := up.Forward(ex, &req)
	// One retry on another target when nothing reached the first (connect
	// failed), or when an idempotent request's connection died before any
	// byte of answer: the target crashed under it, and GET can go again, as
	// nginx's proxy_next_upstream error does. Timeouts are not retried.
	retry := errors.Is(res.Err, upstream.ErrConnect) || (res.Unanswered && upstream.Idempotent(r.Method) && r.ContentLength <= 0)
	if retry && ex.Context.Err() == nil {
		if next := ex.fw.group.Pick(ex.member); next != nil {
			ex.failedTarget = ex.member.Addr()
			ex.member.Release()
			ex.member = next
			req.Addr, req.Owner = next.Addr(), next
			ex.sentAt = monotime.Now(ex.start)
			req.SentAt = ex.sentAt
			res = up.Forward(ex, &req)
		}
	}
	ex.targetStatus = res.StatusCode
	ex.headersAt = res.HeaderAt
	if res.HeaderAt.IsZero() {
		ex.headersAt = monotime.Now(ex.start)
	}
	switch {
	case res.Err == nil:
	case errors.Is(res.Err, upstream.ErrBody):
		// The client has the header already: cut its connection, as
		// ReverseProxy does, so that it sees a truncated response.
		panic(http.ErrAbortHandler)
	default:
		l.p.log.Debug("target failed", "target", ex.member.Addr(), "err", res.Err)
		serveError(ex, errorStatus(ex, res.Err))
	}
}

// statusTooManyForwarded is the ALB's 463: "The load balancer received an
// X-Forwarded-For request header with more than 30 IP addresses."
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html)
const statusTooManyForwarded = 463

// maxForwardedFor is the most addresses an X-Forwarded-For may hold.
const maxForwardedFor = 30

// tooManyForwarded reports whether X-Forwarded-For fields hold more than
// maxForwardedFor addresses, counted as the comma-separated elements of
// every field.
func tooManyForwarded(values []string) bool {
	n := 0
	for _, v := range values {
		n++
		for i := 0; i < len(v); i++ {
			if v[i] == ',' {
				n++
			}
		}
	}
	return n > maxForwardedFor
}

// ipOf is the IP part of an ip:port address, without allocating.
func ipOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			ip := addr[:i]
			if len(ip) > 1 && ip[0] == '[' {
				ip = ip[1 : len(ip)-1]
			}
			return ip
		}
	}
	return addr
}

// dropInvalidHeaderFields removes headers whose names hold anything but
// letters, digits and hyphens: the ALB's definition of an invalid header
// field (routing.http.drop_invalid_header_fields.enabled).
func dropInvalidHeaderFields(h http.Header) {
	for name := range h {
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				delete(h, name)
				break
			}
		}
	}
}
