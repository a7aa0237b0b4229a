package diagnose

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// userAgent is a current browser's, so that apps which treat the ELB
// checker's User-Agent specially answer the user-like request as a user.
const userAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// clientIP is the X-Forwarded-For of the user-like request: an address from
// TEST-NET-3 (RFC 5737), as a header value only; nothing is sent to it.
const clientIP = "203.0.113.10"

// bodyLimit bounds the body bytes kept from each exchange.
const bodyLimit = healthcheck.BodySnapshotLimit

// observation is everything explain reads: the check, its settings and the
// answers to the extra requests.
type observation struct {
	target   healthcheck.Target
	settings healthcheck.Settings
	result   healthcheck.Result
	// publicHost is the Host of the user-like request: the public name,
	// else the listener's host, else the target's address (Diagnoser).
	publicHost string
	// hostHeader is the Host the checker sent, ip:port.
	hostHeader string
	check      Exchange
	asUser     *Exchange
	loopback   *Exchange
	other      *Exchange
	// otherErr is the transport error of the other-protocol request.
	otherErr error
	// metadata is the instance's metadata service, nil when unknown; at is
	// when it was read.
	metadata *MetadataService
	at       time.Time
	// logs are the instance's log lines about the check, nil when unknown.
	logs *InstanceLogs
}

func (d Diagnoser) observe(ctx context.Context, t healthcheck.Target, s healthcheck.Settings, r healthcheck.Result) (obs observation) {
	obs = observation{
		target: t, settings: s, result: r,
		publicHost: d.PublicHost,
		hostHeader: s.CheckAddr(t),
		check:      checkExchange(t, s, r),
	}
	if obs.publicHost == "" {
		obs.publicHost = d.ListenerHost
	}
	if obs.publicHost == "" {
		obs.publicHost = obs.hostHeader
	}
	if r.Passed() {
		return obs
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	// Read after the extra requests, below, as late as possible.
	defer func() {
		if d.InstanceLogs != nil {
			if dir, ok := d.InstanceLogs(t); ok {
				obs.logs = readInstanceLogs(dir, t, s, r)
			}
		}
		if d.Metadata == nil {
			return
		}
		if m, ok := d.Metadata(t); ok {
			obs.metadata, obs.at = &m, now()
		}
	}()
	if d.Offline {
		return obs
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if s.GRPC {
		d.observeGRPC(ctx, &obs, now)
		return obs
	}
	useTLS := s.Protocol == healthcheck.ProtocolHTTPS
	switch r.Reason {
	case healthcheck.ReasonResponseCodeMismatch:
		ex, _ := send(ctx, d.Dial, now, obs.check.Addr, useTLS, userRequest(s.Path, obs.publicHost))
		obs.asUser = &ex
		if !useTLS && r.StatusCode == 400 && plainHTTPOnTLSPortBody(string(r.Body)) {
			ex, err := send(ctx, d.Dial, now, obs.check.Addr, true, healthcheck.Request(t, s))
			obs.other, obs.otherErr = &ex, err
		}
	case healthcheck.ReasonFailedHealthChecks:
		if errors.Is(r.Err, syscall.ECONNREFUSED) {
			// In a VPC (Dial set) the instance's own loopback is inside its
			// namespace, out of the load balancer's reach.
			if lo, ok := loopbackAddr(t.IP, s.CheckPort(t)); ok && d.Dial == nil {
				ex, _ := send(ctx, d.Dial, now, lo, useTLS, userRequest(s.Path, obs.publicHost))
				obs.loopback = &ex
			}
			break
		}
		// Connected but no sensible answer: try the other protocol.
		ex, err := send(ctx, d.Dial, now, obs.check.Addr, !useTLS, healthcheck.Request(t, s))
		obs.other, obs.otherErr = &ex, err
	}
	return obs
}

// loopbackAddr is 127.0.0.1:port when ip is another loopback address: an app
// bound to 127.0.0.1 only refuses its instance IP but answers there.
func loopbackAddr(ip string, port int) (string, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() || !a.IsLoopback() || a == netip.AddrFrom4([4]byte{127, 0, 0, 1}) {
		return "", false
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), true
}

// checkExchange renders the failing health check as an Exchange.
func checkExchange(t healthcheck.Target, s healthcheck.Settings, r healthcheck.Result) Exchange {
	ex := Exchange{
		Request:    requestSummary(healthcheck.Request(t, s)),
		Addr:       s.CheckAddr(t),
		StatusCode: r.StatusCode,
		Header:     r.Header,
		Body:       strings.ToValidUTF8(string(r.Body), "\uFFFD"),
		LatencyMS:  float64(r.Latency.Microseconds()) / 1000,
	}
	if r.Header != nil {
		ex.Location = r.Header.Get("Location")
	}
	if r.Err != nil {
		ex.Error = r.Err.Error()
	}
	if s.GRPC {
		ex.Request = grpcRequest(t, s)
	}
	return ex
}

// userRequest is the request a user's browser makes for path, as the load
// balancer forwards it to the target.
func userRequest(path, host string) []byte {
	var b strings.Builder
	b.WriteString("GET " + path + " HTTP/1.1\r\n")
	b.WriteString("Host: " + host + "\r\n")
	b.WriteString("User-Agent: " + userAgent + "\r\n")
	b.WriteString("Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n")
	b.WriteString("X-Forwarded-For: " + clientIP + "\r\n")
	b.WriteString("X-Forwarded-Proto: https\r\n")
	b.WriteString("X-Forwarded-Port: 443\r\n")
	b.WriteString("Connection: close\r\n\r\n")
	return []byte(b.String())
}

// requestSummary is the request's head without the blank line, LF-separated.
func requestSummary(req []byte) string {
	return strings.ReplaceAll(strings.TrimRight(string(req), "\r\n"), "\r\n", "\n")
}

// insecureTLS mirrors the checker: target certificates are not verified.
var insecureTLS = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // ALB does not verify target certificates.

// send writes req to addr on a new connection and reads the response head and
// the first bodyLimit bytes. Redirects are not followed. The error is also in
// the Exchange, as text.
func send(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), now func() time.Time, addr string, useTLS bool, req []byte) (Exchange, error) {
	ex := Exchange{Request: requestSummary(req), Addr: addr}
	start := now()
	err := func() error {
		if dial == nil {
			var d net.Dialer
			dial = d.DialContext
		}
		conn, err := dial(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		if deadline, ok := ctx.Deadline(); ok {
			if err := conn.SetDeadline(deadline); err != nil {
				return err
			}
		}
		if useTLS {
			tc := tls.Client(conn, insecureTLS)
			if err := tc.HandshakeContext(ctx); err != nil {
				return err
			}
			conn = tc
		}
		if _, err := conn.Write(req); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, bodyLimit))
		ex.StatusCode = resp.StatusCode
		ex.Header = resp.Header
		ex.Location = resp.Header.Get("Location")
		ex.Body = strings.ToValidUTF8(string(body), "\uFFFD")
		return nil
	}()
	if err != nil {
		ex.Error = err.Error()
	}
	ex.LatencyMS = float64(now().Sub(start).Microseconds()) / 1000
	return ex, err
}
