// Package monitor owns Elastic Beanstalk enhanced health for an elbow
// environment: per-instance 10-second windows of requests (proxied responses
// and the health checks each instance answered), status codes and latency
// percentiles; CPU and load of each instance's process tree read from /proc;
// the rules that turn those windows, ELB target health and the Auto Scaling
// capacity, and the update in progress (SetUpdate: commands running, the
// version each instance runs against the expected one, deployment.go) into
// statuses, colors and causes worded as AWS words them
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-status.html); and the events emitted on transitions, kept in a bounded
// ring and fanned out to subscribers without ever blocking.
//
// Recording is lock-free: the proxy and the checker add to striped atomic
// counters and histograms of the current window, which the monitor swaps out
// at each window edge. Everything else (rules, events, the output shapes
// DescribeEnvironmentHealth and DescribeInstancesHealth) runs on the
// monitor's own evaluation, driven by Run every 10 seconds or by Evaluate in
// tests. Thresholds come from config.EnhancedHealth; docs/health-rules.md
// explains them.
package monitor
