package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"

	"github.com/elbow-lb/elbow/internal/awsapi/arn"
	"github.com/elbow-lb/elbow/internal/proxy/desync"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/proxy/accesslog"
	"github.com/elbow-lb/elbow/internal/proxy/upstream"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// New builds the listeners cfg describes over groups (by name); nothing
// listens until Start. Options' attributes, when set, win over cfg's (tests).
func New(cfg *config.Config, groups Groups, o Options) (*Proxy, error) {
	if o.LoadBalancerName == "" {
		o.LoadBalancerName = cfg.LoadBalancer.Name
	}
	if o.Region == "" {
		o.Region = cfg.Region
	}
	a, err := AttributesOf(cfg)
	if err != nil {
		return nil, err
	}
	if o.IdleTimeout != 0 {
		a.IdleTimeout = o.IdleTimeout
	}
	a.DropInvalidHeaderFields = a.DropInvalidHeaderFields || o.DropInvalidHeaderFields
	if o.DesyncMode != desync.Defensive {
		a.DesyncMode = o.DesyncMode
	}
	p := newProxy(o)
	// The caller's access log writer, when given, stays (tests).
	if err := p.setAttributes(a, o.AccessLog == nil); err != nil {
		p.close()
		return nil, err
	}
	for i, cl := range cfg.Listeners {
		l, err := p.NewListener(cl, groups)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("listener %d (%s:%d): %w", i, cl.Address, cl.Port, err)
		}
		p.listeners = append(p.listeners, l)
	}
	return p, nil
}

// close releases what New made when it fails: the access log and its file.
func (p *Proxy) close() {
	p.attrMu.Lock()
	defer p.attrMu.Unlock()
	if p.accessW != nil {
		p.accessW.Close()
	}
	if p.logFile != nil {
		_ = p.logFile.Close()
	}
}

// newProxy builds a Proxy without listeners.
func newProxy(o Options) *Proxy {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = defaultIdleTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LoadBalancerName == "" {
		o.LoadBalancerName = "elbow"
	}
	if o.Region == "" {
		o.Region = "us-west-2"
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.MaxIdleConnsPerTarget <= 0 {
		o.MaxIdleConnsPerTarget = 1024
	}
	p := &Proxy{o: o, log: o.Logger, forwarders: map[*targetgroup.Group]*forwarder{}, handshakeSlots: newHandshakeSlots()}
	p.elbID = "app/" + o.LoadBalancerName + "/" + arn.ResourceID(o.LoadBalancerName)
	p.transport.Store(p.newTransport(o.IdleTimeout, false))
	p.transportH2.Store(p.newTransport(o.IdleTimeout, true))
	p.rp = &httputil.ReverseProxy{
		Rewrite:      rewrite,
		Transport:    retrier{p},
		BufferPool:   newBufferPool(),
		ErrorHandler: p.proxyError,
		ErrorLog:     slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
	}
	p.upstream = &upstream.Client{IdleTimeout: o.IdleTimeout, ConnectTimeout: 10 * time.Second,
		MaxIdlePerTarget: o.MaxIdleConnsPerTarget, IdleConnTimeout: 90 * time.Second, OnDial: o.OnDial, Dial: p.countingDial(o.Dial)}
	if o.Recorder != nil {
		p.records = newRecordPump(o.Recorder)
	}
	at := &attributes{idle: o.IdleTimeout, dropInvalid: o.DropInvalidHeaderFields, desync: o.DesyncMode}
	if o.AccessLog != nil {
		p.accessW = accesslog.NewWriter(o.AccessLog)
		p.accessKey = "writer"
		at.access = p.accessW
	}
	p.attrs.Store(at)
	return p
}

// newTransport is the ReverseProxy path's keep-alive transport for an idle
// timeout.
// newTransport is the ReverseProxy path's transport: HTTP/1.1 to targets,
// the ALB's default (target group protocol version HTTP1), or, with
// http2, HTTP/2 only (protocol version HTTP2): ALPN h2 to HTTPS targets,
// prior knowledge (h2c) to HTTP ones.
func (p *Proxy) newTransport(idle time.Duration, http2 bool) *http.Transport {
	o := &p.o
	dialer := &net.Dialer{
		// The ALB's connect timeout, 10 s ("Troubleshoot your Application Load Balancers", HTTP 504).
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
	}
	dialContext := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if o.OnDial != nil {
			o.OnDial(addr)
		}
		dial := dialer.DialContext
		if o.Dial != nil {
			dial = o.Dial
		}
		c, err := dial(ctx, network, addr)
		if err != nil {
			p.targetConnError(ctx, addr)
			return nil, err
		}
		return &writeIdleConn{Conn: c, idle: idle}, nil
	}
	t := &http.Transport{
		DialContext: dialContext,
		// HTTPS targets: the handshake is made here, not by the
		// transport, so that a failed one counts for its target
		// (TargetTLSNegotiationErrorCount).
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return p.targetHandshake(ctx, c, addr, http2)
		},
		MaxIdleConns:          0, // no total limit: MaxIdleConnsPerHost bounds each target
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerTarget,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: idle,
		TLSHandshakeTimeout:   10 * time.Second,
		// The ALB does not verify target certificates: "The load balancer does not validate these certificates" (ALB user guide, "Target groups", routing protocol HTTPS).
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // ALB semantics
		DisableCompression: true,
		// Targets get HTTP/1.1, as from the ALB by default (target group protocol version HTTP1).
		ForceAttemptHTTP2: false,
		WriteBufferSize:   8 << 10,
		ReadBufferSize:    8 << 10,
	}
	if http2 {
		var only http.Protocols
		only.SetHTTP2(true)
		only.SetUnencryptedHTTP2(true)
		t.Protocols = &only
	}
	return t
}

// Listeners returns the listeners, in the order of the config.
func (p *Proxy) Listeners() []*Listener {
	p.lmu.Lock()
	defer p.lmu.Unlock()
	return append([]*Listener(nil), p.listeners...)
}

// Start binds every listener, then serves them all. On a bind error nothing
// is left listening.
func (p *Proxy) Start() error {
	p.lmu.Lock()
	defer p.lmu.Unlock()
	for i, l := range p.listeners {
		if err := l.bind(); err != nil {
			for _, b := range p.listeners[:i] {
				_ = b.ln.Close()
			}
			return err
		}
	}
	for _, l := range p.listeners {
		go l.run()
	}
	return nil
}

// Shutdown stops accepting connections, lets requests in flight finish
// (bounded by ctx, or by Options.ShutdownTimeout when ctx has no
// deadline), then flushes the access log and the recorder.
func (p *Proxy) Shutdown(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.o.ShutdownTimeout)
		defer cancel()
	}
	listeners := p.Listeners()
	var wg sync.WaitGroup
	errs := make([]error, len(listeners))
	for i, l := range listeners {
		wg.Go(func() { errs[i] = l.shutdown(ctx) })
	}
	wg.Wait()
	p.mu.Lock()
	for _, unregister := range p.unhook {
		unregister()
	}
	p.unhook = nil
	p.mu.Unlock()
	p.transportOf().CloseIdleConnections()
	p.transportH2.Load().CloseIdleConnections()
	p.upstream.CloseIdle()
	p.close()
	if p.records != nil {
		p.records.close()
	}
	return errors.Join(errs...)
}

// forwarder returns the (shared) forwarder of group g.
func (p *Proxy) forwarder(g *targetgroup.Group) *forwarder {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.forwarders[g]; f != nil {
		return f
	}
	scheme := "http"
	if g.Protocol() == "HTTPS" {
		scheme = "https"
	}
	grpc := g.ProtocolVersion() == "GRPC"
	http2 := g.ProtocolVersion() == "HTTP2" || grpc
	f := &forwarder{group: g, scheme: scheme, http2: http2, grpc: grpc, plain: scheme == "http" && !http2 && !p.o.DisableFastPath,
		// The same ARN the API answers (DescribeTargetGroups).
		arn: arn.TargetGroup(p.o.Region, g.Name())}
	p.forwarders[g] = f
	p.unhook = append(p.unhook, g.OnExpire(p.cut))
	return f
}

// cut ends the requests still in flight to m when its deregistration
// delay has run out, as the ALB does: a 502 for those without a response
// yet, a cut connection for those whose response had begun.
func (p *Proxy) cut(m *targetgroup.Member) {
	n := p.upstream.Cut(m)
	p.cutMu.Lock()
	for _, r := range p.viaReverseProxy {
		if r.member == m {
			r.cancel()
			n++
		}
	}
	p.cutMu.Unlock()
	p.log.Info("deregistration delay elapsed: requests in flight cut", "target", m.Target().ID, "addr", m.Addr(), "cut", n)
}

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { return new([bufferSize]byte) }}}
}
