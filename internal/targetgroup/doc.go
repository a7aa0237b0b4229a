// Package targetgroup owns a target group at run time: the registered
// targets, their health as the group's own health checker reports it, the
// deregistration delay (draining, then unused and gone), slow start, and the
// choice of a target for each request (round_robin,
// least_outstanding_requests, weighted_random) with the ALB's fail-open rule.
//
// Selection is built for the request path: the set of routable targets is a
// copy-on-write snapshot swapped atomically when health or registration
// changes, outstanding-request counters are atomics, and no lock is taken to
// pick a target. Facts come from the ALB user guide,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html.
package targetgroup
