// Package diagnose owns the explanation of a failing health check: what the
// target answered, why it answered that to the ELB health checker although it
// serves its users, and how to fix it in the terms of the framework the target
// runs (Django, Rails, Express, Spring, ASP.NET Core, nginx, ...).
//
// A Diagnosis is plain data with JSON tags, independent of any front end:
// `elbow check` prints it, and `elbow up`, `elbow targets`, the console API and
// the dashboard show the same value beside a target's TargetHealth.
//
// Diagnoser.Diagnose reads the failing healthcheck.Result and, unless told to
// stay offline, sends at most two more requests to the target, all within the
// health check's timeout: the request a user's browser makes through the load
// balancer (public Host, X-Forwarded-Proto: https, X-Forwarded-For), and where
// it helps, a TCP probe of 127.0.0.1 or a TLS handshake. Comparing the answers
// is what tells a Host-header or HTTPS-redirect problem from a broken app.
//
// The cases, how each is recognised and the fixes offered are listed in
// docs/diagnosis.md; facts come from shared/reference/imds_django.md sections
// 3-6 and shared/reference/alb.md sections 3 and 8.
package diagnose
