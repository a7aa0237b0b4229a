// Package healthcheck owns the target-group health checker: the probe that
// goes on the wire exactly as the ELB health checker's does (HTTP/1.1, HTTP/2
// for HTTP2 groups, a gRPC call for GRPC groups), the matcher of success
// codes (HTTP codes, or a GRPC group's gRPC codes), the ALB target state machine (states, reason codes and
// descriptions as DescribeTargetHealth words them) and the scheduler that
// probes every registered target on its own interval.
//
// The checker knows the load balancer and the monitor only through two small
// interfaces: Reporter (a target's health changed) and ResultObserver (a probe
// finished, pass or fail, with its code and latency).
//
// Facts and wording come from the ALB user guide,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html,
// and the ELBv2 API (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html).
package healthcheck
