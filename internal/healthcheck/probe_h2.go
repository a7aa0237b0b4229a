package healthcheck

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/http2"
)

// Health checks of a target group whose protocol version is HTTP2: the ALB
// checks such targets with HTTP/2 requests, so a target that answers only
// HTTP/1.1 fails them, as users of HTTP2 target groups find
// (kubernetes-sigs/aws-load-balancer-controller issues 2694 and 3162). As
// for HTTP/1.1 checks: a new connection per check, no certificate
// verification, redirects not followed, User-Agent ELB-HealthChecker/2.0,
// :authority the target's address and port.

// insecureTLSH2 offers only h2: a target that cannot speak it fails.
var insecureTLSH2 = &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}} //nolint:gosec // ALB does not verify target certificates.

// errNoH2 is a TLS target that did not choose h2 in ALPN.
var errNoH2 = errors.New("the target did not negotiate HTTP/2 (ALPN h2) in its TLS handshake")

func roundTripH2(ctx context.Context, dial dialFunc, deadline time.Time, addr string, s Settings, snapshot func(code int) bool) (code int, header http.Header, body []byte, err error) {
	conn, cc, u, err := openH2(ctx, dial, deadline, addr, s)
	if err != nil {
		return 0, nil, nil, err
	}
	defer conn.Close()
	defer cc.Close()
	req := (&http.Request{Method: http.MethodGet, URL: u, Host: addr, Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: http.Header{"User-Agent": {UserAgent}}}).WithContext(ctx)
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return 0, nil, nil, err
	}
	return outcome(resp, snapshot)
}

// openH2 connects to addr for one HTTP/2 check: ALPN h2 alone over TLS for
// an HTTPS check, prior knowledge over cleartext. It returns the
// connection (the caller closes it), a client connection of the check's
// own on it, and the URL of s.Path on addr.
func openH2(ctx context.Context, dial dialFunc, deadline time.Time, addr string, s Settings) (net.Conn, *http2.ClientConn, *url.URL, error) {
	useTLS := s.Protocol == ProtocolHTTPS
	conn, err := connect(ctx, dial, deadline, addr, useTLS, insecureTLSH2)
	if err != nil {
		return nil, nil, nil, err
	}
	if tc, ok := conn.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol != "h2" {
		conn.Close()
		return nil, nil, nil, errNoH2
	}
	u, err := url.ParseRequestURI(s.Path) // checked by ValidatePath
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	u.Scheme, u.Host = "http", addr
	if useTLS {
		u.Scheme = "https"
	}
	// A transport of the check's own: it speaks on the connection it is
	// given and keeps nothing after the check.
	cc, err := (&http2.Transport{}).NewClientConn(conn)
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	return conn, cc, u, nil
}
