// Package proxy owns the load balancer's data path: listeners (HTTP, and
// HTTPS with HTTP/2) with their rules and actions (forward to weighted
// target groups, redirect, fixed-response), the request rules every
// listener and path applies (judge.go, gate.go: strict parsing, the ALB's
// limits, desync mitigation), the X-Forwarded-* and X-Amzn-Trace-Id
// headers, the answers the ALB itself gives (400, 408, 460, 463, 502, 503,
// 504), one retry on another target of a request whose connection could not
// be made, and the hand-off of every response to the access log and to a
// Recorder (the monitor).
//
// Requests take one of three paths (docs/internals.md): the connection
// loop (loop*.go: HTTP, and HTTPS's HTTP/1.x connections after their TLS
// handshake; h2*.go: HTTPS's HTTP/2 connections) relaying through package
// upstream; net/http's
// server relaying through package upstream; net/http's server with
// httputil.ReverseProxy (reverseproxy.go) for HTTPS targets and upgrades.
// A listener's routing table is compiled once and swapped atomically, so a
// request never takes a lock to route, and a reload needs no restart.
//
// Facts come from the ALB user guide
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/):
// "HTTP headers and Application Load Balancers", "Troubleshoot your
// Application Load Balancers", "Access logs", "Desync mitigation mode".
package proxy
