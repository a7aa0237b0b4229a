// Package proxy owns the load balancer's data path: listeners (HTTP, and
// HTTPS with HTTP/2) with their rules and actions (forward to weighted
// target groups, redirect, fixed-response), the X-Forwarded-* and
// X-Amzn-Trace-Id headers, the errors the ALB itself answers (502, 503,
// 504), one retry on another target of a request whose connection could not
// be made, and the hand-off of every response to the access log and to a
// Recorder (the monitor).
//
// A listener's routing table is compiled once and swapped atomically, so a
// request never takes a lock to route, and a reload needs no restart. All
// listeners share one HTTP/1.1 keep-alive transport to the targets.
// Facts come from shared/reference/alb.md sections 4-6.
package proxy
