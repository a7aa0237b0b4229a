package proxy

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unsafe"

	"github.com/elbow-lb/elbow/internal/proxy/monotime"
	"github.com/elbow-lb/elbow/internal/proxy/upstream"
)

func (l *Listener) forward(ex *exchange, r *http.Request, a *action) {
	fw := a.pickForwarder()
	if fw == nil {
		serveError(ex, http.StatusServiceUnavailable)
		return
	}
	ex.fw = fw
	if incompatibleProtocol(fw, r) {
		serveError(ex, statusIncompatibleProtocol)
		return
	}
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
	if sw, ok := ex.w.(scratchWriter); ok && !ex.attrs.keepsStrings() {
		// In the connection's buffer, not a new string: nothing keeps the
		// value past the request (see keepsStrings).
		b := appendTraceID(sw.scratch(), existing, ex.start)
		ex.traceHdr[0] = unsafe.String(unsafe.SliceData(b), len(b))
	} else {
		ex.traceHdr[0] = traceID(existing, ex.start)
	}
	if fw.plain && upstream.Eligible(r) {
		l.relay(ex, r)
		return
	}
	l.viaReverseProxy(ex, r)
}

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
	if ww, ok := ex.w.(waitWatcher); ok {
		req.Tag = ww.waitFor(ex)
		defer ww.waitDone()
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
	// Also when an idempotent request's connection died before any byte
	// of answer: the target crashed under it, and GET can go again, as
	// nginx's proxy_next_upstream error does. Timeouts are not retried.
	retry := errors.Is(res.Err, upstream.ErrConnect) || (res.Unanswered && upstream.Idempotent(r.Method) && r.ContentLength <= 0)
	if retry {
		if next, ok := ex.retryTarget(); ok {
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
