package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/proxy/monotime"
	"github.com/elbow-lb/elbow/internal/proxy/accesslog"
	"github.com/elbow-lb/elbow/internal/proxy/desync"
	"github.com/elbow-lb/elbow/internal/proxy/upstream"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// exchange is one request's state. It is at once the request's context
// (so that ReverseProxy's Rewrite and the transport find it without a
// context.WithValue allocation) and the client's ResponseWriter (so that
// the status and the bytes sent are known).
type exchange struct {
	context.Context
	w http.ResponseWriter
	l *Listener

	start    time.Time
	clientIP string
	action   *action
	priority int

	fw     *forwarder
	member *targetgroup.Member
	// failedTarget is the target whose connection failed before the retry.
	failedTarget string
	sentAt       time.Time
	headersAt    time.Time
	targetStatus int

	status      int
	sent        int64
	redirectURL string

	traceHdr    [1]string
	xffHdr      [1]string
	connTraceID string
	// loopConn is the loop's connection the exchange is on; nil on
	// net/http's paths.
	loopConn *clientConn
	// gate is the gated connection of an HTTP/1.x request net/http serves.
	gate *gatedConn
	// verdict is the request's judgement (gate.go); zero for HTTP/2.
	verdict verdict
	// bodyErr is the error reading the client's request body: a client
	// that stops sending it is its own failure (408), not the target's.
	bodyErr error

	// writeIdle, on net/http's paths (the loop's connections have their
	// own, package rawio): each Write renews the client connection's write
	// deadline to the idle timeout, so that a client that stops reading is
	// cut, as the ALB cuts a connection with no data sent or received.
	writeIdle     time.Duration
	writeDeadline monotime.IdleDeadline
}

type exchangeKey struct{}

// Value finds the exchange from the transport's context.
func (e *exchange) Value(key any) any {
	if key == (exchangeKey{}) {
		return e
	}
	return e.Context.Value(key)
}

func (e *exchange) Header() http.Header { return e.w.Header() }

func (e *exchange) WriteHeader(code int) {
	if e.status == 0 && code >= 200 {
		e.status = code
	}
	e.w.WriteHeader(code)
}

// WriteHead takes a target's response header without a header map when
// the client's writer can (the connection loop's), else through it.
func (e *exchange) WriteHead(code int, fields []upstream.Field) {
	if e.status == 0 && code >= 200 {
		e.status = code
	}
	upstream.WriteHead(e.w, code, fields)
}

func (e *exchange) Write(b []byte) (int, error) {
	if e.status == 0 {
		e.status = http.StatusOK
	}
	if e.writeIdle > 0 && e.writeDeadline.Renew(monotime.Now(e.start), e.writeIdle) {
		// net/http's writers have the method (what ResponseController
		// calls), and asking them directly allocates nothing.
		if d, ok := e.w.(interface{ SetWriteDeadline(time.Time) error }); ok {
			_ = d.SetWriteDeadline(e.writeDeadline.At)
		}
	}
	n, err := e.w.Write(b)
	e.sent += int64(n)
	return n, err
}

// Flush lets streamed responses (server-sent events) through at once.
func (e *exchange) Flush() {
	if f, ok := e.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the client's writer (hijack for
// upgrades, deadlines).
func (e *exchange) Unwrap() http.ResponseWriter { return e.w }

// Hijack takes over the client connection for an upgrade (ReverseProxy
// finds it through http.ResponseController): from here on the gate passes
// the client's bytes to the target unchecked, as the new protocol's.
func (e *exchange) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(e.w).Hijack()
	if err == nil && e.gate != nil {
		e.gate.tunnel()
	}
	return nc, brw, err
}

// rewrite builds the request to the target: its address, and the headers
// the ALB adds (alb.md section 5). ReverseProxy has already removed the
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

// forwardedFor is X-Forwarded-For in append mode: the client's values
// kept, then the address the connection came from.
func forwardedFor(r *http.Request, clientIP string) string {
	if prior := r.Header["X-Forwarded-For"]; len(prior) > 0 {
		return strings.Join(prior, ", ") + ", " + clientIP
	}
	return clientIP
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// retrier is the proxy's transport: the shared keep-alive transport, and
// one retry on another target when the connection to the first could not
// be made. Nothing reached that target, so the retry is safe for every
// method and body (the body was not read; ReverseProxy keeps it open).
type retrier struct{ p *Proxy }

func (rt retrier) RoundTrip(out *http.Request) (*http.Response, error) {
	ex := out.Context().Value(exchangeKey{}).(*exchange)
	ex.sentAt = time.Now()
	res, err := rt.p.transport.RoundTrip(out)
	if err != nil && isConnectError(err) && ex.Context.Err() == nil {
		if next := ex.fw.group.Pick(ex.member); next != nil {
			ex.failedTarget = ex.member.Addr()
			ex.member.Release()
			ex.member = next
			rt.p.retarget(ex, next)
			out.URL.Host = next.Addr()
			ex.sentAt = time.Now()
			res, err = rt.p.transport.RoundTrip(out)
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

// proxyError answers as the ALB does when the target failed (alb.md 5):
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

func errorStatus(ex *exchange, err error) int {
	var ne net.Error
	switch {
	case ex.bodyErr != nil && errors.As(ex.bodyErr, &ne) && ne.Timeout():
		// "The client did not send data before the idle timeout period
		// expired." (ALB troubleshooting, HTTP 408)
		return http.StatusRequestTimeout
	case ex.Context.Err() != nil, ex.bodyErr != nil:
		return 460 // the client closed the connection first
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// errorPages are the ALB's own error bodies (nginx's titles).
var errorPages = map[int]string{
	http.StatusBadRequest:                  "400 Bad Request",
	http.StatusRequestTimeout:              "408 Request Time-out",
	http.StatusRequestEntityTooLarge:       "413 Request Entity Too Large",
	http.StatusRequestURITooLong:           "414 Request-URI Too Large",
	http.StatusRequestHeaderFieldsTooLarge: "431 Request Header Fields Too Large",
	http.StatusHTTPVersionNotSupported:     "505 HTTP Version Not Supported",
	http.StatusBadGateway:                  "502 Bad Gateway",
	http.StatusServiceUnavailable:          "503 Service Temporarily Unavailable",
	http.StatusGatewayTimeout:              "504 Gateway Time-out",
}

func serveError(w http.ResponseWriter, code int) {
	title, ok := errorPages[code]
	h := w.Header()
	if !ok {
		w.WriteHeader(code)
		return
	}
	if code == http.StatusRequestTimeout {
		// The request's body is not all read: nothing after it can be.
		h["Connection"] = []string{"close"}
	}
	body := "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title + "</h1></center>\r\n</body>\r\n</html>\r\n"
	h.Set("Server", "awselb/2.0")
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

// finish hands the response to the recorder and the access log.
// keepsStrings reports whether a request's strings outlive it: the access
// log writes its entries later, on its own goroutine. Without it the
// connection loop lets a request's strings share the bytes of its
// connection's buffers instead of copying them.
func (p *Proxy) keepsStrings() bool { return p.access != nil }

func (l *Listener) finish(ex *exchange, r *http.Request) {
	p := l.p
	if p.records == nil && p.access == nil {
		return
	}
	end := monotime.Now(ex.start)
	if p.records != nil && ex.fw != nil {
		rec := ResponseRecord{Time: end, Group: ex.fw.group.Name(), StatusCode: ex.status,
			TargetStatusCode: ex.targetStatus, Latency: end.Sub(ex.start)}
		if ex.member != nil {
			rec.Target = ex.member.Target()
		}
		if ex.targetStatus != 0 {
			rec.TargetLatency = ex.headersAt.Sub(ex.sentAt)
		}
		p.records.send(&rec)
	}
	if p.access != nil {
		p.access.Log(l.accessEntry(ex, r, end))
	}
}

func (l *Listener) accessEntry(ex *exchange, r *http.Request, end time.Time) *accesslog.Entry {
	e := &accesslog.Entry{
		Type: l.accessType, Time: end, ELB: l.p.elbID, Client: r.RemoteAddr,
		RequestProcessing: -1, TargetProcessing: -1, ResponseProcessing: -1,
		ELBStatusCode: ex.status, TargetStatusCode: ex.targetStatus,
		ReceivedBytes: requestSize(r), SentBytes: ex.sent,
		Method: r.Method, URL: l.accessURL(r), Proto: r.Proto,
		UserAgent: r.UserAgent(), TraceID: ex.traceHdr[0],
		MatchedRulePriority: ex.priority, RequestCreation: ex.start,
		ActionsExecuted: ex.action.name, RedirectURL: ex.redirectURL, ConnTraceID: ex.connTraceID,
	}
	if ex.verdict.desync.Class != desync.Compliant {
		e.Classification, e.ClassificationReason = ex.verdict.desync.LogFields()
	}
	if r.Method == "" {
		// Refused before a request line could be read.
		e.Method, e.URL, e.Proto = "-", "-", "-"
	}
	if r.ProtoMajor == 2 {
		e.Type = "h2"
	}
	if r.TLS != nil {
		e.SSLProtocol = tlsVersionName(r.TLS.Version)
		e.SSLCipher = tlsCipherName(r.TLS.CipherSuite)
		e.DomainName = r.TLS.ServerName
	}
	if ex.fw != nil {
		e.TargetGroupARN = ex.fw.arn
	}
	switch {
	case ex.targetStatus != 0:
		e.Target = ex.member.Addr()
		e.RequestProcessing = ex.sentAt.Sub(ex.start)
		e.TargetProcessing = ex.headersAt.Sub(ex.sentAt)
		e.ResponseProcessing = end.Sub(ex.headersAt)
	case ex.member != nil:
		// Dispatched, no response: the target is logged, times are -1.
		e.Target = ex.member.Addr()
	case ex.fw == nil:
		// Redirects and fixed responses are answered by the load balancer itself.
		e.RequestProcessing, e.TargetProcessing, e.ResponseProcessing = end.Sub(ex.start), 0, 0
	}
	targets, codes := e.Target, "-"
	if ex.targetStatus != 0 {
		codes = strconv.Itoa(ex.targetStatus)
	}
	if ex.failedTarget != "" {
		targets = ex.failedTarget + " " + targets
		codes = "- " + codes
	}
	e.TargetList, e.TargetStatusList = targets, codes
	if e.TargetList == "" {
		e.TargetStatusList = ""
	}
	return e
}

func (l *Listener) accessURL(r *http.Request) string {
	scheme := "http://"
	if l.protocol == "HTTPS" {
		scheme = "https://"
	}
	return scheme + strings.ToLower(hostOnly(r.Host)) + ":" + l.port + r.RequestURI
}

// requestSize estimates the bytes the client sent: request line, headers, body.
func requestSize(r *http.Request) int64 {
	n := int64(len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len("Host: \r\n") + len(r.Host) + 2)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	if r.ContentLength > 0 {
		n += r.ContentLength
	}
	return n
}

// clientBody is the request body of a net/http request: each read must
// bring bytes within the idle timeout (the ALB cuts a connection with no
// data sent or received for that long), and an error is kept so that the
// answer blames the client, not the target.
type clientBody struct {
	io.ReadCloser
	ex   *exchange
	rc   *http.ResponseController
	idle time.Duration
}

func (b *clientBody) Read(p []byte) (int, error) {
	_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.ex.bodyErr = err
	}
	return n, err
}
