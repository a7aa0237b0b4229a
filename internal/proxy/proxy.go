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
	"os"
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
// listens until Start.
func New(cfg *config.Config, groups Groups, o Options) (*Proxy, error) {
	if o.LoadBalancerName == "" {
		o.LoadBalancerName = cfg.LoadBalancer.Name
	}
	if o.IdleTimeout == 0 && cfg.LoadBalancer.IdleTimeout > 0 {
		o.IdleTimeout = time.Duration(cfg.LoadBalancer.IdleTimeout) * time.Second
	}
	if o.Region == "" {
		o.Region = cfg.Region
	}
	o.DropInvalidHeaderFields = o.DropInvalidHeaderFields || cfg.LoadBalancer.DropInvalidHeaderFields
	if m := cfg.LoadBalancer.DesyncMitigationMode; m != "" && o.DesyncMode == desync.Defensive {
		mode, err := desync.ParseMode(m)
		if err != nil {
			return nil, fmt.Errorf("load_balancer.desync_mitigation_mode: %w", err)
		}
		o.DesyncMode = mode
	}
	var logFile *os.File
	if o.AccessLog == nil && cfg.LoadBalancer.AccessLogs.Enabled {
		switch path := cfg.LoadBalancer.AccessLogs.Path; path {
		case "-", "":
			o.AccessLog = os.Stdout
		default:
			path = cfg.Resolve(path) // beside the config file
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				return nil, fmt.Errorf("access log %s: %w", path, err)
			}
			logFile, o.AccessLog = f, f
		}
	}
	p := newProxy(o)
	p.logFile = logFile
	for i, cl := range cfg.Listeners {
		l, err := p.NewListener(cl, groups)
		if err != nil {
			if p.access != nil {
				p.access.Close()
			}
			if logFile != nil {
				_ = logFile.Close()
			}
			return nil, fmt.Errorf("listener %d (%s:%d): %w", i, cl.Address, cl.Port, err)
		}
		p.listeners = append(p.listeners, l)
	}
	return p, nil
}

// newProxy builds a Proxy without listeners.
func newProxy(o Options) *Proxy {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
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
	p := &Proxy{o: o, log: o.Logger, forwarders: map[*targetgroup.Group]*forwarder{}}
	p.elbID = "app/" + o.LoadBalancerName + "/" + arn.ResourceID(o.LoadBalancerName)
	dialer := &net.Dialer{
		// The ALB's connect timeout, 10 s ("Troubleshoot your Application Load Balancers", HTTP 504).
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
	}
	p.transport = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if o.OnDial != nil {
				o.OnDial(addr)
			}
			dial := dialer.DialContext
			if o.Dial != nil {
				dial = o.Dial
			}
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &writeIdleConn{Conn: c, idle: o.IdleTimeout}, nil
		},
		MaxIdleConns:          0, // no total limit: MaxIdleConnsPerHost bounds each target
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerTarget,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: o.IdleTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		// The ALB does not verify target certificates: "The load balancer does not validate these certificates" (ALB user guide, "Target groups", routing protocol HTTPS).
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // ALB semantics
		DisableCompression: true,
		// Targets get HTTP/1.1, as from the ALB by default (target group protocol version HTTP1).
		ForceAttemptHTTP2: false,
		WriteBufferSize:   8 << 10,
		ReadBufferSize:    8 << 10,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      rewrite,
		Transport:    retrier{p},
		BufferPool:   newBufferPool(),
		ErrorHandler: p.proxyError,
		ErrorLog:     slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
	}
	p.upstream = &upstream.Client{IdleTimeout: o.IdleTimeout, ConnectTimeout: 10 * time.Second,
		MaxIdlePerTarget: o.MaxIdleConnsPerTarget, IdleConnTimeout: 90 * time.Second, OnDial: o.OnDial, Dial: o.Dial}
	if o.Recorder != nil {
		p.records = newRecordPump(o.Recorder)
	}
	if o.AccessLog != nil {
		p.access = accesslog.NewWriter(o.AccessLog)
	}
	return p
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
	p.transport.CloseIdleConnections()
	p.upstream.CloseIdle()
	if p.access != nil {
		p.access.Close()
	}
	if p.logFile != nil {
		_ = p.logFile.Close()
	}
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
	f := &forwarder{group: g, scheme: scheme, plain: scheme == "http" && !p.o.DisableFastPath,
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
