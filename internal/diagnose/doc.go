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
// docs/diagnosis.md. What the checker sends and how it maps failures to
// reason codes is from "Health checks for your Application Load Balancer"
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html)
// and "Troubleshoot your Application Load Balancers"
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html);
// the latter also says the Host is the target's private IP and the health
// check port. That the check carries no X-Forwarded-* header is not
// documented; it is what apps behind load balancers report (for instance
// dekkerglen/CubeCobra pull request 2596). Each framework's file cites that
// framework's documentation.
//
// Layout: explain.go picks the case; host.go, redirect.go, status.go and
// noanswer.go word the case families; advice.go holds the fixes they share;
// metadata.go adds, where a fix reads the instance's IP from its metadata
// service, whether the app ever asked that service (Diagnoser.Metadata);
// logs.go quotes the instance's own logs, nginx's access-log line of the
// failing check and the app's line refusing its Host, and lets the app's
// line decide the case (Diagnoser.InstanceLogs).
// Everything framework-specific (the clues that recognise it, its own
// host-refusal case, its wording in each family) is one frameworkText value
// per framework, in its own file (django.go, rails.go, ...), registered from
// that file's init; generic.go is the wording when none is recognised and
// the default of every field a framework leaves zero. Adding a framework is
// adding one such file.
package diagnose
