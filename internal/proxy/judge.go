package proxy

import (
	"net/http"

	"github.com/elbow-lb/elbow/internal/proxy/desync"
	"github.com/elbow-lb/elbow/internal/proxy/h1"
)

// verdict is the judgement of one request head, shared by the loop and
// the gate.
type verdict struct {
	desync desync.Verdict
	action desync.Action
	// status, when not 0, is the load balancer's answer: the request is
	// not forwarded and the connection closes.
	status int
	// hold: the request asks for an upgrade; what follows it is the
	// upgraded protocol if the handler hijacks the connection, and the
	// next request otherwise.
	hold bool
	// noHost: an HTTP/1.0 request without Host (the listener's name is
	// filled in).
	noHost bool
	// The refused request, for the access log.
	method, target, proto, host string
}

// closes reports whether the connection closes after the request (and the
// target's connection with it).
func (v *verdict) closes() bool { return v.action == desync.ForwardAndClose }

// judge parses and classifies one request head. Every listener and path
// calls it, so that a request is refused, passed or passed on a closed
// connection alike wherever it arrives. The desync mode decides first
// (a blocked request is a 400, as the ALB answers); then what h1 cannot
// frame unambiguously is refused in every mode, monitor included.
func (p *Proxy) judge(head string, r *h1.Request) (verdict, h1.Outcome) {
	var v verdict
	// Empty lines before the request line are allowed (RFC 9112 section
	// 2.2) and not passed on: the classification starts after them.
	v.desync = desync.ClassifyHead(head[h1.LeadingEmptyLines(head):])
	v.action = p.o.DesyncMode.Action(v.desync.Class)
	o := r.Parse(head)
	switch {
	case v.action == desync.Block:
		v.status, o = http.StatusBadRequest, h1.Reject
	case o == h1.Reject:
		v.status = r.Status
	}
	if r.Chunked && r.Header["Content-Length"] != nil {
		// Both framings: never on a connection kept open, whatever the
		// mode (the classification already says Ambiguous or worse).
		v.action = desync.ForwardAndClose
	}
	v.hold, v.noHost = r.Upgrade, r.NoHost
	v.method, v.target, v.proto, v.host = r.Method, r.Target, r.Proto, r.Host
	return v, o
}
