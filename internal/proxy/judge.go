package proxy

import (
	"net/http"

	"github.com/elbow-lb/elbow/internal/proxy/desync"
	"github.com/elbow-lb/elbow/internal/proxy/h1"
)

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
	v.action = p.attrs.Load().desync.Action(v.desync.Class)
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
