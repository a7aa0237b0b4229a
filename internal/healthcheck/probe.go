package healthcheck

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// UserAgent is what the ALB health checker sends (Classic ELB sends /1.0).
const UserAgent = "ELB-HealthChecker/2.0"

// Result is one probe of one target. A failed check is data, not an error:
// Reason says why it failed, and Err carries the transport error if any.
type Result struct {
	Target Target
	// Addr is the address probed, ip:health-check-port.
	Addr    string
	Start   time.Time
	Latency time.Duration
	// StatusCode is the response's code, 0 when no response was read.
	StatusCode int
	// GRPCStatus is the grpc-status a gRPC check's answer carried, as sent
	// ("0", "12"); empty for HTTP checks and for answers without one.
	GRPCStatus string
	// Reason is empty when the check passed, else why it failed:
	// ResponseCodeMismatch, Timeout or FailedHealthChecks; InternalError when
	// the settings forbade sending the check (an invalid path).
	Reason Reason
	// Err is the transport or protocol error behind a Timeout or
	// FailedHealthChecks, or the *PathError behind an InternalError; nil when
	// a response was read.
	Err error
	// Header and Body (its first BodySnapshotLimit bytes) are kept for failed
	// checks only, so diagnosis can read them without probing again. A gRPC
	// check's Header also holds the answer's trailers (grpc-status,
	// grpc-message).
	Header http.Header
	Body   []byte
}

// Passed reports whether the check succeeded.
func (r Result) Passed() bool { return r.Reason == "" }

// Health is the TargetHealth a failing result gives an unhealthy target.
func (r Result) Health() TargetHealth {
	if r.Reason == ReasonResponseCodeMismatch {
		code := r.StatusCode
		if r.GRPCStatus != "" {
			// A gRPC check's codes are the grpc-status values it got.
			code, _ = strconv.Atoi(r.GRPCStatus)
		}
		return TargetHealth{State: StateUnhealthy, Reason: r.Reason, Description: MismatchDescription(code)}
	}
	return Health(StateUnhealthy, r.Reason)
}

// BodySnapshotLimit bounds the body bytes a failed result keeps.
const BodySnapshotLimit = 1024

// bodyDrainLimit bounds how much of a response body the probe reads before
// closing: the verdict rests on the status line, the rest is courtesy.
const bodyDrainLimit = 64 << 10

// Prober sends one health check. HTTPProber is the real one; tests of the
// scheduler use fakes.
type Prober interface {
	Probe(ctx context.Context, t Target, s Settings) Result
}

// HTTPProber sends the health check exactly as the ELB health checker does
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html and
// load-balancer-troubleshooting.html): GET path HTTP/1.1, Host: <target ip>:<port>,
// User-Agent: ELB-HealthChecker/2.0, Connection: close, no X-Forwarded-*,
// redirects not followed, a new connection per check, certificates not verified.
type HTTPProber struct {
	// Now is the clock for Start and Latency; nil means time.Now.
	Now func() time.Time
	// Dial connects to the target; nil is a net.Dialer's without TCP
	// keep-alive. In vpc mode it makes the socket inside the VPC.
	Dial dialFunc
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// insecureTLS mirrors the checker's HTTPS: no certificate verification.
var insecureTLS = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // ALB does not verify target certificates.

// Request returns the exact bytes of the health-check request for t. It
// writes s.Path as it is: the caller checks it first (ValidatePath), as Probe
// does, or a path holding CR LF becomes two requests.
func Request(t Target, s Settings) []byte {
	b := make([]byte, 0, 128+len(s.Path))
	b = append(b, "GET "...)
	b = append(b, s.Path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, s.CheckAddr(t)...)
	b = append(b, "\r\nConnection: close\r\nUser-Agent: "...)
	b = append(b, UserAgent...)
	b = append(b, "\r\n\r\n"...)
	return b
}

// Probe sends one check and classifies the outcome. It never returns an
// error: every failure is a Result with its Reason.
func (p HTTPProber) Probe(ctx context.Context, t Target, s Settings) Result {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	res := Result{Target: t, Addr: s.CheckAddr(t), Start: now()}
	// Settings are validated at load and on change; this is the last line of
	// defence, so that a path that slipped through is never written to a
	// target: nothing is sent, and the failure is the load balancer's.
	validate := ValidatePath
	if s.GRPC {
		validate = ValidateGRPCPath
	}
	if err := validate(s.Path); err != nil {
		res.Reason = ReasonInternalError
		res.Err = err
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	if s.GRPC {
		p.probeGRPC(ctx, deadline, s, &res, now)
		return res
	}

	failing := func(code int) bool { return !s.Matcher.Match(code) }
	var (
		code   int
		header http.Header
		body   []byte
		err    error
	)
	if s.HTTP2 {
		code, header, body, err = roundTripH2(ctx, p.Dial, deadline, res.Addr, s, failing)
	} else {
		code, header, body, err = roundTrip(ctx, p.Dial, deadline, res.Addr, Request(t, s), s.Protocol == ProtocolHTTPS, failing)
	}
	res.Latency = now().Sub(res.Start)
	res.StatusCode = code
	switch {
	case err != nil:
		res.failed(err)
	case !s.Matcher.Match(code):
		res.Reason = ReasonResponseCodeMismatch
	}
	if !res.Passed() {
		res.Header, res.Body = header, body
	}
	return res
}

func roundTrip(ctx context.Context, dial dialFunc, deadline time.Time, addr string, req []byte, useTLS bool, snapshot func(code int) bool) (code int, header http.Header, body []byte, err error) {
	conn, err := connect(ctx, dial, deadline, addr, useTLS, insecureTLS)
	if err != nil {
		return 0, nil, nil, err
	}
	defer conn.Close()
	if _, err := conn.Write(req); err != nil {
		return 0, nil, nil, err
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(conn)
	defer func() { br.Reset(nil); readerPool.Put(br) }()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	return outcome(resp, snapshot)
}

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// connect opens the check's connection, with its deadline set and, for
// HTTPS, its TLS handshake made (cfg's, certificates not verified).
func connect(ctx context.Context, dial dialFunc, deadline time.Time, addr string, useTLS bool, cfg *tls.Config) (net.Conn, error) {
	// No TCP keep-alive: the connection lives for one request, and enabling
	// it costs three setsockopt calls per check.
	if dial == nil {
		d := net.Dialer{KeepAlive: -1}
		dial = d.DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, err
	}
	if useTLS {
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
	return conn, nil
}

// outcome reads a response's code, keeps a failing one's header and first
// bytes for diagnosis, and drains a bounded amount of the body, so that
// the target sees an orderly end rather than a reset mid-response.
func outcome(resp *http.Response, snapshot func(code int) bool) (code int, header http.Header, body []byte, err error) {
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 599 {
		// A status outside the HTTP range is a malformed response, not a code
		// to match: the ALB counts it as a failed check.
		return 0, nil, nil, errors.New("malformed response: status code " + strconv.Itoa(resp.StatusCode))
	}
	if snapshot(resp.StatusCode) {
		snap := make([]byte, BodySnapshotLimit)
		n, _ := io.ReadFull(resp.Body, snap)
		body = snap[:n]
		header = resp.Header
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, bodyDrainLimit))
	return resp.StatusCode, header, body, nil
}

// failed records a check that read no answer: Target.Timeout when err is a
// timeout, else Target.FailedHealthChecks (connection refused or reset, a
// malformed answer).
func (r *Result) failed(err error) {
	r.Err = err
	r.Reason = ReasonFailedHealthChecks
	if isTimeout(err) {
		r.Reason = ReasonTimeout
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
