package proxy

import (
	"net/http"
	"net/netip"
	"time"
)

// ServeHTTP routes one request.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.serveRequest(new(exchange), w, r)
}

// serveRequest is ServeHTTP with the exchange to fill, which the caller
// may reuse once it returns (an HTTP/2 stream's worker does).
func (l *Listener) serveRequest(ex *exchange, w http.ResponseWriter, r *http.Request) {
	// The attributes now, for the whole request (SetAttributes may change
	// them meanwhile).
	at := l.p.attrs.Load()
	*ex = exchange{Context: r.Context(), w: w, l: l, start: time.Now(), writeIdle: at.idle, attrs: at}
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
	if r.ProtoMajor == 2 && differ(r.Header["Content-Length"]) {
		// Malformed (RFC 9113 section 8.1.1), and what HTTP/1 refuses
		// as smuggling; net/http's HTTP/2 server passes it on (the
		// loop's refuses it before: h2request.go).
		ex.action = refusedAction
		defer l.finish(ex, r)
		serveError(ex, http.StatusBadRequest)
		return
	}
	if at.dropInvalid {
		dropInvalidHeaderFields(r.Header)
	}
	if r.Host == "" && r.ProtoMajor == 1 && r.ProtoMinor == 0 {
		r.Host = l.hostName
	}
	if r.ProtoMajor == 2 && r.ContentLength == 0 {
		// An HTTP/2 request without a body still has a Body (net/http's
		// stream reader, which yields nothing: a stream's DATA may not
		// exceed its content-length, RFC 9113 section 8.1.1). As NoBody it
		// takes the relay of package upstream to an HTTP/1.1 target, as
		// HTTP/1.1 requests do, not ReverseProxy and net/http's Transport.
		r.Body = http.NoBody
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &clientBody{ReadCloser: r.Body, ex: ex, rc: http.NewResponseController(w), idle: at.idle}
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

// differ reports whether a field's values are not all the same.
func differ(values []string) bool {
	for _, v := range values[min(1, len(values)):] {
		if v != values[0] {
			return true
		}
	}
	return false
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
