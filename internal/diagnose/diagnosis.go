package diagnose

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// Diagnosis explains one failing health check. Field names are stable: they
// are the JSON the console API and `elbow check --json` return.
type Diagnosis struct {
	// Case is a stable identifier of what went wrong, such as
	// "django-allowed-hosts" or "https-redirect"; docs/diagnosis.md lists them.
	Case string `json:"Case"`
	// Framework is the framework or server recognised from the responses
	// ("Django", "Rails", "Express", "Spring", "ASP.NET Core", "nginx", ...),
	// or "" when none was.
	Framework string `json:"Framework,omitempty"`
	// Summary says what happened, in one sentence.
	Summary string `json:"Summary"`
	// Why says why the health check fails although users may be served.
	Why string `json:"Why"`
	// Fixes are the ways out, the most recommended first.
	Fixes []Fix `json:"Fixes,omitempty"`
	// Evidence is what elbow saw on the wire.
	Evidence Evidence `json:"Evidence"`
}

// Fix is one way to make the check pass.
type Fix struct {
	Title string `json:"Title"`
	// Detail is what to change, often a snippet to paste.
	Detail string `json:"Detail"`
	// TradeOff is what the fix costs or leaves unchecked.
	TradeOff string `json:"TradeOff,omitempty"`

	// readsMetadata marks the fixes that read the instance's private IP
	// from its metadata service: the diagnosis then says whether the app
	// asked that service (metadata.go).
	readsMetadata bool
}

// Evidence holds the exchanges the diagnosis rests on.
type Evidence struct {
	// HealthCheck is the failing health check itself.
	HealthCheck Exchange `json:"HealthCheck"`
	// AsUser is the same path requested as a user's request arrives through
	// the load balancer: public Host, X-Forwarded-Proto: https, X-Forwarded-For.
	AsUser *Exchange `json:"AsUser,omitempty"`
	// Loopback is a request to 127.0.0.1 on the same port, made when the
	// target's own address refused the connection.
	Loopback *Exchange `json:"Loopback,omitempty"`
	// OtherProtocol is the check repeated with the other protocol (HTTPS for
	// an HTTP check and the reverse), made when the answer looked like a
	// protocol mismatch.
	OtherProtocol *Exchange `json:"OtherProtocol,omitempty"`
	// MetadataService is the instance's metadata service and what it
	// answered since launch, given when a fix reads the instance's IP from
	// it and the Diagnoser knows the instance.
	MetadataService *MetadataService `json:"MetadataService,omitempty"`
	// InstanceLogs quotes the instance's own logs: nginx's access-log line
	// of the failing check and the app's line refusing it, given when the
	// Diagnoser knows the instance's log folder and found such a line.
	InstanceLogs *InstanceLogs `json:"InstanceLogs,omitempty"`
}

// Exchange is one request and what came back.
type Exchange struct {
	// Request is the request line and the headers that matter, one per line.
	Request string `json:"Request"`
	// Addr is the address connected to, ip:port.
	Addr string `json:"Addr"`
	// StatusCode is 0 when no response was read.
	StatusCode int `json:"StatusCode,omitempty"`
	// Location is the redirect target, if any.
	Location string      `json:"Location,omitempty"`
	Header   http.Header `json:"Header,omitempty"`
	// Body is the first bytes of the response body (at most 1 KiB).
	Body string `json:"Body,omitempty"`
	// Error is the transport error when no response was read.
	Error     string  `json:"Error,omitempty"`
	LatencyMS float64 `json:"LatencyMs"`
}

// Answered reports whether a response was read.
func (e *Exchange) Answered() bool { return e != nil && e.StatusCode != 0 }

// Diagnoser explains failing health checks. The zero value works: it sends
// the comparison requests with the target's own address as Host and logs
// nowhere.
type Diagnoser struct {
	// PublicHost is the name users reach the app by (load_balancer.public_host,
	// or `elbow check --host`), sent as Host in the user-like request.
	PublicHost string
	// ListenerHost is the address users reach the load balancer at, host or
	// host:port as a browser sends it in Host (the listener's address in
	// elbow up, the URL's host in elbow check). The user-like request carries
	// it when PublicHost is empty; when both are empty it carries the
	// target's address, which tells redirects apart but not host validation.
	// Never a made-up name: a host allow-list refuses that as surely as the
	// checker's IP, and the comparison would then prove nothing.
	ListenerHost string
	// Offline explains from the failing result alone, sending nothing more:
	// cheaper, but host and redirect problems are then told apart less surely.
	Offline bool
	// Logger receives a debug line per diagnosis; nil discards.
	Logger *slog.Logger
	// Now is the clock for latencies; nil means time.Now.
	Now func() time.Time
	// Metadata finds the metadata service of a target's instance; nil, or
	// false for a target, when elbow runs no instance behind it. Read once
	// per diagnosis, after the extra requests.
	Metadata MetadataLookup
	// Dial connects to targets for the extra requests; nil is a
	// net.Dialer's. In vpc mode it connects inside the VPC, as the checker
	// does.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// InstanceLogs finds the log folder of a target's instance; nil, or
	// false for a target, when elbow runs no instance behind it. Read once
	// per failing diagnosis, after the extra requests (logs.go).
	InstanceLogs InstanceLogsLookup
}

// HealthyCase is the Case of a Diagnosis for a check that passed.
const HealthyCase = "healthy"

// Diagnose explains why r, a health check of t with settings s, failed. Any
// extra requests are sent to t's address only and finish within s.Timeout.
// For a passing r it returns a Diagnosis with Case "healthy".
func (d Diagnoser) Diagnose(ctx context.Context, t healthcheck.Target, s healthcheck.Settings, r healthcheck.Result) Diagnosis {
	obs := d.observe(ctx, t, s, r)
	diag := explain(obs)
	if d.Logger != nil {
		d.Logger.Debug("diagnosed health check", "target", t.Addr(), "case", diag.Case, "framework", diag.Framework, "status", r.StatusCode, "reason", r.Reason)
	}
	return diag
}
