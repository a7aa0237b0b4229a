package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// lbStats are the load balancer's connection-level counts, the ones
// CloudWatch publishes for an ALB beside its per-request metrics
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html).
// Each is an atomic: they move on the connection path, never under a lock.
type lbStats struct {
	newConns       atomic.Int64
	activeConns    atomic.Int64
	rejectedConns  atomic.Int64
	clientTLSError atomic.Int64
	processedBytes atomic.Int64
	// targetConnErrors maps a target's ip:port to its *atomic.Int64 of
	// failed connections; an entry is made on a target's first failure
	// only, off the path of a request that succeeds.
	targetConnErrors sync.Map
	// targetTLSErrors is the same for TLS handshakes with HTTPS targets.
	targetTLSErrors sync.Map
}

// Stats is a snapshot of the load balancer's connection counts.
type Stats struct {
	// LoadBalancer is CloudWatch's LoadBalancer dimension, app/<name>/<id>.
	LoadBalancer string
	// NewConnections: client connections accepted (NewConnectionCount).
	NewConnections int64
	// ActiveConnections: client connections open now on the proxy's own
	// connection loop, HTTP and HTTPS (ActiveConnectionCount); connections
	// net/http serves (HTTP/2, or all with the loop off) are counted in
	// NewConnections only.
	ActiveConnections int64
	// RejectedConnections: connections accepted while the listener was
	// closing and closed unserved (RejectedConnectionCount).
	RejectedConnections int64
	// ClientTLSNegotiationErrors: TLS handshakes with clients that failed
	// (ClientTLSNegotiationErrorCount).
	ClientTLSNegotiationErrors int64
	// ProcessedBytes: bytes received from and sent to clients, by request
	// (ProcessedBytes), as the access log counts them.
	ProcessedBytes int64
	// TargetConnectionErrors: connections to a target (ip:port) that could
	// not be established (TargetConnectionErrorCount).
	TargetConnectionErrors map[string]int64
	// TargetTLSNegotiationErrors: TLS handshakes with an HTTPS target
	// (ip:port) that failed (TargetTLSNegotiationErrorCount).
	TargetTLSNegotiationErrors map[string]int64
}

// Stats returns the load balancer's connection counts now.
func (p *Proxy) Stats() Stats {
	s := Stats{
		LoadBalancer:               p.elbID,
		NewConnections:             p.stats.newConns.Load(),
		ActiveConnections:          p.stats.activeConns.Load(),
		RejectedConnections:        p.stats.rejectedConns.Load(),
		ClientTLSNegotiationErrors: p.stats.clientTLSError.Load(),
		ProcessedBytes:             p.stats.processedBytes.Load(),
		TargetConnectionErrors:     map[string]int64{},
		TargetTLSNegotiationErrors: map[string]int64{},
	}
	p.stats.targetConnErrors.Range(func(k, v any) bool {
		s.TargetConnectionErrors[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	p.stats.targetTLSErrors.Range(func(k, v any) bool {
		s.TargetTLSNegotiationErrors[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return s
}

// targetTLSConfig is the TLS of connections to HTTPS targets. The ALB
// does not verify target certificates: "The load balancer does not
// validate these certificates" (ALB user guide, "Target groups", routing
// protocol HTTPS); it speaks HTTP/1.1 to them (protocol version HTTP1).
var targetTLSConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // ALB semantics

// targetTLSConfigH2 offers h2 alone, for HTTP2 groups: a target that
// does not choose it cannot be spoken to (the transport then fails the
// request, a 502).
var targetTLSConfigH2 = &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}} //nolint:gosec // ALB semantics

// targetHandshakeTimeout bounds a TLS handshake with a target, as the
// transport's TLSHandshakeTimeout did.
const targetHandshakeTimeout = 10 * time.Second

// targetHandshake makes the TLS handshake with the HTTPS target at addr
// over c; a failure counts for the target, unless the request went away
// first (as targetConnError).
func (p *Proxy) targetHandshake(ctx context.Context, c net.Conn, addr string, http2 bool) (net.Conn, error) {
	cfg := targetTLSConfig
	if http2 {
		cfg = targetTLSConfigH2
	}
	tc := tls.Client(c, cfg)
	hctx, cancel := context.WithTimeout(ctx, targetHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		_ = c.Close()
		if !errors.Is(ctx.Err(), context.Canceled) {
			v, ok := p.stats.targetTLSErrors.Load(addr)
			if !ok {
				v, _ = p.stats.targetTLSErrors.LoadOrStore(addr, new(atomic.Int64))
			}
			v.(*atomic.Int64).Add(1)
		}
		return nil, err
	}
	return tc, nil
}

// countingDial wraps the dial of both target paths so that a connection
// that cannot be established counts for its target.
func (p *Proxy) countingDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		d := &net.Dialer{}
		dial = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			p.targetConnError(ctx, addr)
		}
		return c, err
	}
}

// targetConnError counts a failed connection to addr. A dial cancelled
// (the client left, or the target was deregistered) is not the target's
// failure; one that ran out of the connect timeout is.
func (p *Proxy) targetConnError(ctx context.Context, addr string) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	v, ok := p.stats.targetConnErrors.Load(addr)
	if !ok {
		v, _ = p.stats.targetConnErrors.LoadOrStore(addr, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}
