package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/diagnose"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/spf13/cobra"
)

// checkOptions are the flags of elbow check: the target group's health-check
// settings, named as in elbow.yaml, and how to run the check.
type checkOptions struct {
	path     string
	port     string
	protocol string
	// protocolVersion is the target group's: HTTP2 sends the check over
	// HTTP/2, as the ALB checks an HTTP2 group's targets.
	protocolVersion string
	matcher         string
	timeout         int
	interval        int
	count           int
	host            string
	json            bool
	// logs is an instance's log folder (<log_dir>/<instance-id>, as elbow
	// logs shows), whose nginx and app lines the diagnosis quotes.
	logs string
}

func newCheckCmd() *cobra.Command {
	var o checkOptions
	cmd := &cobra.Command{
		Use:   "check URL",
		Short: "Send the ELB health check to a target and explain why it fails",
		Long: `Check sends exactly the health check an Application Load Balancer sends (GET path
HTTP/1.1, Host: <target ip>:<port>, User-Agent: ELB-HealthChecker/2.0, no X-Forwarded-*
headers, redirects not followed) to the target at URL, prints the verdict as
DescribeTargetHealth words it and, when the check fails, why and how to fix it for
the framework the target runs.

To explain a failure it also requests the same path as a user's request arrives
through the load balancer (Host: --host, X-Forwarded-Proto: https) and compares.

With --protocol-version HTTP2 the check goes over HTTP/2 (h2c with prior knowledge, or
ALPN h2 over HTTPS), as the ALB checks the targets of a target group whose protocol
version is HTTP2. With --protocol-version GRPC it is a gRPC call over HTTP/2 to the
method at --path (default /AWS.ALB/healthcheck) whose grpc-status --matcher judges
(gRPC codes 0-99, default 12), as for a target group whose protocol version is GRPC.

With --count N it checks N times, --interval seconds apart, and passes only if every
check passes. Exit status: 0 when the check passes, 1 when it fails, 2 on a usage
error, so that it can run in CI before a deployment.`,
		Example: `  elbow check http://127.0.0.2:8000
  elbow check http://127.0.0.2:8000 --path /health --matcher 200-301 --host www.example.com
  elbow check https://10.0.1.5:8443/health --json
  elbow check http://127.0.0.2:50051 --protocol-version GRPC --path /grpc.health.v1.Health/Check --matcher 0`,
		Args: cobraArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd.Context(), cmd.OutOrStdout(), args[0], o, cmd.Flags().Changed)
		},
	}
	d := config.DefaultHealthCheck
	f := cmd.Flags()
	f.StringVar(&o.path, "path", d.Path, "health check path: / then up to 1023 printable ASCII characters, no spaces (default: the URL's path, else /)")
	f.StringVar(&o.port, "port", d.Port, "health check port: traffic-port (the URL's port) or 1-65535")
	f.StringVar(&o.protocol, "protocol", "", "health check protocol, HTTP or HTTPS (default: the URL's scheme)")
	f.StringVar(&o.protocolVersion, "protocol-version", "HTTP1", "the target group's protocol version, HTTP1, HTTP2 or GRPC (HTTP2: the check goes over HTTP/2, h2c with prior knowledge or ALPN h2; GRPC: a gRPC call over HTTP/2)")
	f.StringVar(&o.matcher, "matcher", d.Matcher, "success codes, 200-499: 200, 200,202 or 200-299; with --protocol-version GRPC, gRPC codes 0-99: 12 (the default), 0,1 or 0-5")
	f.IntVar(&o.timeout, "timeout", d.Timeout, "health check timeout in seconds, 2-120, smaller than the interval")
	f.IntVar(&o.interval, "interval", d.Interval, "seconds between checks with --count, 5-300")
	f.IntVar(&o.count, "count", 1, "number of checks; the target passes if every one passes")
	f.StringVar(&o.host, "host", "", "the public Host your users send, for the comparison request (default: the URL's host)")
	f.BoolVar(&o.json, "json", false, "print the result as JSON")
	f.StringVar(&o.logs, "logs", "", "the instance's log folder (.elbow/logs/i-...): the diagnosis quotes its nginx access log and web.stdout.log, as elbow up's does")
	return cmd
}

// checkRequest is a validated elbow check invocation.
type checkRequest struct {
	url string
	// urlHost is the URL's host[:port], the Host the comparison request
	// sends when --host is not given.
	urlHost  string
	target   healthcheck.Target
	settings healthcheck.Settings
	count    int
}

// flagNames maps health_check keys, as config errors name them, to flags.
var flagNames = map[string]string{
	"path": "--path", "port": "--port", "protocol": "--protocol", "matcher": "--matcher",
	"timeout": "--timeout", "interval": "--interval", "": "--interval/--timeout",
}

// parseCheck validates the URL and the flags; changed reports whether a flag
// was given, so that the URL's scheme and path apply unless overridden.
func parseCheck(rawURL string, o checkOptions, changed func(flag string) bool) (checkRequest, error) {
	u, err := url.Parse(rawURL)
	scheme := ""
	if err == nil {
		scheme = strings.ToLower(u.Scheme)
	}
	if scheme != "http" && scheme != "https" {
		return checkRequest{}, usageError{fmt.Errorf("URL %q: give http:// or https:// and the target's address, such as http://127.0.0.2:8000", rawURL)}
	}
	addr, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return checkRequest{}, usageError{fmt.Errorf("URL %q: %q is not an IP address: the health checker connects to a target's IP and sends it as Host", rawURL, u.Hostname())}
	}
	port := 80
	if scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return checkRequest{}, usageError{fmt.Errorf("URL %q: port %q must be between 1 and 65535", rawURL, p)}
		}
	}
	hc := config.DefaultHealthCheck
	hc.Path, hc.Port, hc.Matcher = o.path, o.port, o.matcher
	hc.Timeout, hc.Interval = o.timeout, o.interval
	hc.Protocol = strings.ToUpper(scheme)
	if changed("protocol") {
		hc.Protocol = strings.ToUpper(o.protocol)
	}
	version := strings.ToUpper(o.protocolVersion)
	if version != "HTTP1" && version != "HTTP2" && version != "GRPC" {
		return checkRequest{}, usageError{fmt.Errorf("--protocol-version: %q is not allowed: must be one of HTTP1, HTTP2, GRPC", o.protocolVersion)}
	}
	if version == "GRPC" {
		// AWS's gRPC defaults, unless given.
		if !changed("path") {
			hc.Path = healthcheck.DefaultGRPCPath
		}
		if !changed("matcher") {
			hc.Matcher = healthcheck.DefaultGRPCMatcher
		}
	}
	// The URL's path is the check's, except a bare / for a gRPC check,
	// which keeps the gRPC default.
	if !changed("path") && u.Path != "" && (version != "GRPC" || u.RequestURI() != "/") {
		hc.Path = u.RequestURI()
	}
	if errs := config.ValidateHealthCheck(hc, version); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = flagNames[e.Key] + ": " + e.Msg
		}
		return checkRequest{}, usageError{errors.New(strings.Join(msgs, "\n"))}
	}
	if o.count < 1 {
		return checkRequest{}, usageError{fmt.Errorf("--count: %d is out of range: must be at least 1", o.count)}
	}
	if changed("host") && strings.TrimSpace(o.host) == "" {
		return checkRequest{}, usageError{errors.New("--host: empty: give the name your users reach the app by, such as www.example.com")}
	}
	s, err := hc.Settings(version)
	if err != nil {
		return checkRequest{}, usageError{err}
	}
	ip := addr.Unmap().String()
	return checkRequest{
		url:      rawURL,
		urlHost:  u.Host,
		target:   healthcheck.Target{ID: ip, IP: ip, Port: port},
		settings: s,
		count:    o.count,
	}, nil
}

// probeReport is one check in the JSON output.
type probeReport struct {
	StatusCode int `json:"StatusCode"`
	// GRPCStatus is a gRPC check's grpc-status, when one came back.
	GRPCStatus string             `json:"GrpcStatus,omitempty"`
	LatencyMS  float64            `json:"LatencyMs"`
	Reason     healthcheck.Reason `json:"Reason,omitempty"`
	Error      string             `json:"Error,omitempty"`
}

// checkReport is the JSON of elbow check: field names are stable.
type checkReport struct {
	URL          string                   `json:"URL"`
	Target       string                   `json:"Target"`
	HealthCheck  healthCheckReport        `json:"HealthCheck"`
	TargetHealth healthcheck.TargetHealth `json:"TargetHealth"`
	// StatusCode and LatencyMs are those of the check the verdict rests on:
	// the last failing one, else the last.
	StatusCode int                 `json:"StatusCode"`
	LatencyMS  float64             `json:"LatencyMs"`
	Probes     []probeReport       `json:"Probes"`
	Diagnosis  *diagnose.Diagnosis `json:"Diagnosis,omitempty"`
}

type healthCheckReport struct {
	Protocol        string `json:"Protocol"`
	ProtocolVersion string `json:"ProtocolVersion"`
	Port            int    `json:"Port"`
	Path            string `json:"Path"`
	Matcher         string `json:"Matcher"`
	TimeoutSeconds  int    `json:"TimeoutSeconds"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func runCheck(ctx context.Context, out io.Writer, rawURL string, o checkOptions, changed func(flag string) bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := parseCheck(rawURL, o, changed)
	if err != nil {
		return err
	}
	t, s := req.target, req.settings
	var prober healthcheck.HTTPProber
	var verdict healthcheck.Result
	failed := false
	report := checkReport{
		URL: rawURL, Target: t.Addr(),
		HealthCheck: healthCheckReport{Protocol: string(s.Protocol), ProtocolVersion: s.ProtocolVersion(), Port: s.CheckPort(t), Path: s.Path, Matcher: s.Matcher.String(), TimeoutSeconds: int(s.Timeout / time.Second)},
	}
	for i := range req.count {
		if i > 0 {
			select {
			case <-ctx.Done():
				return &exitError{code: 1, err: ctx.Err()}
			case <-time.After(s.Interval):
			}
		}
		r := prober.Probe(ctx, t, s)
		p := probeReport{StatusCode: r.StatusCode, GRPCStatus: r.GRPCStatus, LatencyMS: ms(r.Latency), Reason: r.Reason}
		if r.Err != nil {
			p.Error = r.Err.Error()
		}
		report.Probes = append(report.Probes, p)
		if !o.json && req.count > 1 {
			fmt.Fprintf(out, "check %d/%d: %s\n", i+1, req.count, probeLine(r))
		}
		if !r.Passed() {
			failed, verdict = true, r
		} else if !failed {
			verdict = r
		}
	}
	report.StatusCode, report.LatencyMS = verdict.StatusCode, ms(verdict.Latency)
	report.TargetHealth = healthcheck.TargetHealth{State: healthcheck.StateHealthy}
	if failed {
		report.TargetHealth = verdict.Health()
		dg := diagnose.Diagnoser{PublicHost: o.host, ListenerHost: req.urlHost}
		if o.logs != "" {
			dg.InstanceLogs = func(healthcheck.Target) (string, bool) { return o.logs, true }
		}
		d := dg.Diagnose(ctx, t, s, verdict)
		report.Diagnosis = &d
	}
	if o.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		printCheck(out, t, s, verdict, report)
	}
	if failed {
		// The report is the message; exit 1 without another line on stderr.
		return &exitError{code: 1, err: errors.New("")}
	}
	return nil
}

func probeLine(r healthcheck.Result) string {
	if r.Passed() {
		return fmt.Sprintf("healthy, %d in %.1f ms", r.StatusCode, ms(r.Latency))
	}
	return fmt.Sprintf("%s in %.1f ms", r.Health(), ms(r.Latency))
}

func printCheck(out io.Writer, t healthcheck.Target, s healthcheck.Settings, r healthcheck.Result, rep checkReport) {
	// A gRPC check is a call whose grpc-status the matcher judges.
	method, answer := "GET", strconv.Itoa(r.StatusCode)
	if s.GRPC {
		method = "gRPC call"
		if r.GRPCStatus != "" {
			answer += ", grpc-status " + r.GRPCStatus
		}
	}
	if rep.Diagnosis == nil {
		fmt.Fprintf(out, "healthy: %s %s on %s answered %s in %.1f ms (matcher %s)\n",
			method, s.Path, s.CheckAddr(t), answer, ms(r.Latency), s.Matcher)
		return
	}
	d := rep.Diagnosis
	h := rep.TargetHealth
	fmt.Fprintf(out, "%s %s over %s to %s, as the ELB health checker sends it (Host: %s, User-Agent: %s)\n",
		method, s.Path, s.Protocol, s.CheckAddr(t), s.CheckAddr(t), healthcheck.UserAgent)
	fmt.Fprintf(out, "State:       %s\nReason:      %s\nDescription: %s\n", h.State, h.Reason, h.Description)
	if r.StatusCode != 0 {
		fmt.Fprintf(out, "Answer:      %s in %.1f ms\n", answer, ms(r.Latency))
	} else if r.Err != nil {
		fmt.Fprintf(out, "Error:       %v\n", r.Err)
	}
	fmt.Fprintln(out)
	title := d.Case
	if d.Framework != "" {
		title += " (" + d.Framework + ")"
	}
	fmt.Fprintf(out, "Diagnosis: %s\n%s\n\n", title, wrap(d.Summary, "  ", 100))
	fmt.Fprintf(out, "Why\n%s\n", wrap(d.Why, "  ", 100))
	if len(d.Fixes) > 0 {
		fmt.Fprintln(out, "\nFixes")
		for i, f := range d.Fixes {
			fmt.Fprintf(out, "  %d. %s\n", i+1, f.Title)
			fmt.Fprintln(out, indent(f.Detail, "       "))
			if f.TradeOff != "" {
				fmt.Fprintln(out, wrap("Trade-off: "+f.TradeOff, "     ", 100))
			}
			fmt.Fprintln(out)
		}
	}
	fmt.Fprintln(out, "What elbow saw")
	printExchange(out, "health check", &d.Evidence.HealthCheck)
	printExchange(out, "as a user through the load balancer", d.Evidence.AsUser)
	printExchange(out, "on 127.0.0.1", d.Evidence.Loopback)
	printExchange(out, "with the other protocol", d.Evidence.OtherProtocol)
}

func printExchange(out io.Writer, label string, ex *diagnose.Exchange) {
	if ex == nil {
		return
	}
	fmt.Fprintf(out, "  %s, %s:\n", label, ex.Addr)
	fmt.Fprintln(out, indent(ex.Request, "    > "))
	if ex.Error != "" && ex.StatusCode == 0 {
		fmt.Fprintf(out, "    error: %s\n", ex.Error)
		return
	}
	fmt.Fprintf(out, "    < %d (%.1f ms)\n", ex.StatusCode, ex.LatencyMS)
	keys := make([]string, 0, len(ex.Header))
	for k := range ex.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range ex.Header[k] {
			fmt.Fprintf(out, "    < %s: %s\n", k, v)
		}
	}
	if body := strings.TrimSpace(ex.Body); body != "" {
		fmt.Fprintln(out, "    body (first bytes):")
		fmt.Fprintln(out, indent(body, "      "))
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// wrap fills s into lines of at most width characters, each with prefix.
func wrap(s, prefix string, width int) string {
	var b strings.Builder
	line := prefix
	for _, w := range strings.Fields(s) {
		if len(line) > len(prefix) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = prefix
		}
		if len(line) > len(prefix) {
			line += " "
		}
		line += w
	}
	b.WriteString(line)
	return b.String()
}
