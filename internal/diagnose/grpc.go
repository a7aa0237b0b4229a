package diagnose

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// Target groups whose protocol version is GRPC: the ALB calls the gRPC
// method at the health check path and matches the call's grpc-status
// against the gRPC success codes (Matcher.GrpcCode, default 12 with the
// default path /AWS.ALB/healthcheck)
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Matcher.html).
// It reads the status only, not the answer's message: the standard health
// service answers NOT_SERVING inside an OK call (grpc/grpc-node issue
// 1764 shows users meeting this).

// Cases of gRPC target groups (grpc.go).
const (
	CaseGRPCUnimplemented    = "grpc-unimplemented"
	CaseGRPCStatusNotMatched = "grpc-status-not-matched"
	CaseGRPCNotGRPC          = "grpc-not-grpc"
	CaseGRPCHTTP1Only        = "grpc-http1-only"
)

// grpcHealthCheckMethod is the standard health service's Check
// (https://github.com/grpc/grpc/blob/master/doc/health-checking.md).
const grpcHealthCheckMethod = "/grpc.health.v1.Health/Check"

const grpcCodeUnimplemented = 12

// grpcCodeNames are the gRPC status codes' names
// (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
var grpcCodeNames = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// grpcCodeName is "12 (UNIMPLEMENTED)", or the bare number for a code
// gRPC does not define.
func grpcCodeName(code int) string {
	if code >= 0 && code < len(grpcCodeNames) {
		return fmt.Sprintf("%d (%s)", code, grpcCodeNames[code])
	}
	return strconv.Itoa(code)
}

// grpcRequest is the gRPC health check as an Exchange shows it.
func grpcRequest(t healthcheck.Target, s healthcheck.Settings) string {
	return strings.Join([]string{
		"POST " + s.Path + " HTTP/2.0",
		":authority: " + s.CheckAddr(t),
		"content-type: application/grpc",
		"te: trailers",
		"user-agent: " + healthcheck.UserAgent,
		"(body: one empty gRPC message, 5 bytes)",
	}, "\n")
}

// observeGRPC makes the extra requests of a failed gRPC check: the same
// call to 127.0.0.1 when the instance's IP refused it, an HTTP/1.1 request
// when the target connected but did not speak gRPC over HTTP/2.
func (d Diagnoser) observeGRPC(ctx context.Context, obs *observation, now func() time.Time) {
	t, s, r := obs.target, obs.settings, obs.result
	switch {
	case r.Reason != healthcheck.ReasonFailedHealthChecks, errors.Is(r.Err, healthcheck.ErrNoGRPCStatus):
	case errors.Is(r.Err, syscall.ECONNREFUSED):
		// In a VPC (Dial set) the instance's loopback is out of reach.
		if _, ok := loopbackAddr(t.IP, s.CheckPort(t)); ok && d.Dial == nil {
			lo := healthcheck.Target{ID: t.ID, IP: "127.0.0.1", Port: s.CheckPort(t)}
			ls := s
			ls.Port = 0
			res := healthcheck.HTTPProber{Now: now}.Probe(ctx, lo, ls)
			ex := checkExchange(lo, ls, res)
			obs.loopback = &ex
		}
	default:
		ex, err := send(ctx, d.Dial, now, obs.check.Addr, s.Protocol == healthcheck.ProtocolHTTPS, healthcheck.Request(t, s))
		obs.other, obs.otherErr = &ex, err
	}
}

// grpc picks the case of a failed gRPC check.
func (f facts) grpc() verdict {
	r := f.obs.result
	switch {
	case r.Reason == healthcheck.ReasonTimeout:
		if v := f.timeout(); v.id == CaseConnectTimeout {
			return v
		}
		return f.grpcSlow()
	case r.Reason == healthcheck.ReasonResponseCodeMismatch && r.GRPCStatus != "":
		code, _ := strconv.Atoi(r.GRPCStatus)
		if code == grpcCodeUnimplemented {
			return f.grpcUnimplemented()
		}
		return f.grpcStatusNotMatched(code)
	case r.Reason == healthcheck.ReasonResponseCodeMismatch, errors.Is(r.Err, healthcheck.ErrNoGRPCStatus):
		return f.grpcNotGRPC()
	case r.Reason == healthcheck.ReasonFailedHealthChecks && !errors.Is(r.Err, syscall.ECONNREFUSED) && f.obs.other.Answered():
		return f.grpcHTTP1Only()
	}
	return f.failed()
}

// grpcCheckerSends describes the gRPC health check.
func (f facts) grpcCheckerSends() string {
	return fmt.Sprintf("For a GRPC target group the ELB health checker calls the gRPC method %s on %s (an HTTP/2 POST with content-type application/grpc) and reads only the call's grpc-status, which must be one of the success codes %s.",
		f.path, f.hostHeader, f.matcher)
}

// grpcMessage quotes the answer's grpc-message, if any.
func (f facts) grpcMessage() string {
	if m := f.obs.result.Header.Get("Grpc-Message"); m != "" {
		return fmt.Sprintf(" Its grpc-message: %q.", m)
	}
	return ""
}

// grpcMatcherFix sets the gRPC success codes (Matcher.GrpcCode).
func grpcMatcherFix(codes, tradeOff string) Fix {
	return Fix{Title: "Accept " + codes + " as healthy: set the success codes to " + codes,
		Detail: matcherDetail("GrpcCode", codes), TradeOff: tradeOff}
}

// healthServiceFix registers the standard health service, which answers
// grpc-status 0 to Check.
var healthServiceFix = Fix{
	Title: "Register the standard gRPC health service and check it",
	Detail: "Go: hs := health.NewServer(); healthpb.RegisterHealthServer(server, hs)  // google.golang.org/grpc/health, grpc_health_v1\n" +
		"Java: server builder .addService(new HealthStatusManager().getHealthService()); Python: grpc_health.v1.health.HealthServicer; Node: grpc-health-check.\n" +
		"Then: health_check: {path: " + grpcHealthCheckMethod + ", matcher: \"0\"}",
	TradeOff: "Check answers grpc-status 0 with the serving status inside the message, which the load balancer does not read: a service set NOT_SERVING still passes. To fail the check, the method must return an error status.",
}

func (f facts) grpcUnimplemented() verdict {
	why := f.grpcCheckerSends() + " The target answered 12 (UNIMPLEMENTED): a gRPC server answers that for a method it does not serve." + f.grpcMessage()
	fixes := []Fix{}
	switch f.path {
	case grpcHealthCheckMethod:
		why += " The path is the standard health service's Check: the app has not registered grpc.health.v1.Health."
		fixes = append(fixes, healthServiceFix)
	case healthcheck.DefaultGRPCPath:
		why += fmt.Sprintf(" %s is AWS's default path, a method no server has: AWS pairs it with the success code 12, so that any gRPC server answering on the port passes. The matcher here is %s.", healthcheck.DefaultGRPCPath, f.matcher)
		fixes = append(fixes, grpcMatcherFix(healthcheck.DefaultGRPCMatcher, "It proves only that a gRPC server answers on the port."), healthServiceFix)
	default:
		fixes = append(fixes,
			Fix{Title: "Implement the method " + f.path, Detail: "Serve it in the app, answering OK (grpc-status 0) when the app is healthy.", TradeOff: "None."},
			healthServiceFix)
	}
	if f.path != healthcheck.DefaultGRPCPath {
		fixes = append(fixes, grpcMatcherFix(healthcheck.DefaultGRPCMatcher, "It then proves only that a gRPC server answers on the port."))
	}
	return verdict{
		id:      CaseGRPCUnimplemented,
		summary: fmt.Sprintf("The target has no gRPC method %s: it answered grpc-status 12 (UNIMPLEMENTED), which the success codes %s do not include.", f.path, f.matcher),
		why:     why,
		fixes:   fixes,
	}
}

func (f facts) grpcStatusNotMatched(code int) verdict {
	why := f.grpcCheckerSends() + fmt.Sprintf(" The method answered %s.", grpcCodeName(code)) + f.grpcMessage()
	var fixes []Fix
	if code == 0 {
		why += " The call succeeded: only the success codes refuse it."
		fixes = []Fix{grpcMatcherFix("0", "None: 0 is the status of a call that worked.")}
	} else {
		why += " The app reports an error from the health method: it considers itself unable to serve, or the method fails on the empty request the checker sends."
		fixes = []Fix{
			{Title: "Make the health method answer OK", Detail: "Return grpc-status 0 from " + f.path + " when the app can serve, to an empty request message.", TradeOff: "None."},
			grpcMatcherFix(f.matcher+","+strconv.Itoa(code), "A target answering that error stays in service."),
		}
	}
	return verdict{
		id:      CaseGRPCStatusNotMatched,
		summary: fmt.Sprintf("The gRPC health check got grpc-status %s, which the success codes %s do not include.", grpcCodeName(code), f.matcher),
		why:     why,
		fixes:   fixes,
	}
}

func (f facts) grpcNotGRPC() verdict {
	r := f.obs.result
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "none"
	}
	return verdict{
		id:      CaseGRPCNotGRPC,
		summary: fmt.Sprintf("The target at %s speaks HTTP/2 but is no gRPC server: it answered the gRPC health check with HTTP %d, content-type %s, and no grpc-status.", f.hostHeader, r.StatusCode, ct),
		why: f.grpcCheckerSends() + fmt.Sprintf(" A gRPC server answers HTTP 200 with content-type application/grpc and a grpc-status; this answer has HTTP %d and no grpc-status, so it has no code to match.", r.StatusCode) +
			" The port belongs to an HTTP/2 web server (or a proxy without gRPC support) rather than to the gRPC server.",
		fixes: []Fix{
			{Title: "Point the target group at the gRPC server's port", Detail: fmt.Sprintf("Port %d must be the gRPC server's (target group port, or health_check.port).", f.port), TradeOff: "None."},
			{Title: "Or give the group the protocol version the app speaks", Detail: "protocol_version: HTTP2 (or HTTP1) if the app is a web app rather than a gRPC service.", TradeOff: "gRPC calls are then answered 464 by the load balancer."},
		},
	}
}

func (f facts) grpcHTTP1Only() verdict {
	return verdict{
		id:      CaseGRPCHTTP1Only,
		summary: fmt.Sprintf("The target at %s speaks HTTP/1.1 only: the gRPC health check, over HTTP/2, failed, while an HTTP/1.1 request got %d.", f.hostHeader, f.obs.other.StatusCode),
		why:     f.grpcCheckerSends() + fmt.Sprintf(" gRPC runs over HTTP/2 only; the HTTP/2 call failed (%v), and the port answers HTTP/1.1: it is a web app's port, or a proxy in front of the gRPC server that does not speak HTTP/2 to the load balancer (for nginx: http2 on the listen directive and grpc_pass).", f.obs.result.Err),
		fixes: []Fix{
			{Title: "Point the target group at the gRPC server's port", Detail: fmt.Sprintf("Port %d must be the gRPC server's (target group port, or health_check.port).", f.port), TradeOff: "None."},
			{Title: "Or give the group the protocol version the app speaks", Detail: "protocol_version: HTTP1 if the app is an HTTP/1.1 web app.", TradeOff: "gRPC calls are then answered 464 by the load balancer."},
		},
	}
}

func (f facts) grpcSlow() verdict {
	timeout := f.obs.settings.Timeout
	return verdict{
		id:      CaseSlowResponse,
		summary: fmt.Sprintf("The target accepted the connection but gave the gRPC health check no grpc-status within the %s timeout.", timeout),
		why:     f.grpcCheckerSends() + fmt.Sprintf(" No grpc-status came back within %s: the method is slow (it waits on a dependency) or the server is saturated; a server that speaks no HTTP/2 may also stay silent.", timeout),
		fixes: []Fix{
			{Title: "Answer the health method at once", Detail: "Keep " + f.path + " free of remote calls, or check the standard health service (" + grpcHealthCheckMethod + "), which answers from memory.", TradeOff: "It proves less than a real call."},
			{Title: "Raise the health check timeout", Detail: "health_check: {timeout: 10}  # 2-120 seconds, smaller than the interval", TradeOff: "A hung target is noticed later."},
		},
	}
}

// grpcHealthy is the summary of a passing gRPC check.
func (f facts) grpcHealthy() string {
	code, _ := strconv.Atoi(f.obs.result.GRPCStatus)
	return fmt.Sprintf("The target passes its gRPC health check: %s answered grpc-status %s, which the success codes %s accept.",
		f.path, grpcCodeName(code), f.matcher)
}
