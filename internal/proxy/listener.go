package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/proxy/h1"
)

// NewListener builds a listener from cl over groups; the Proxy's Start
// binds it. Port 0 picks a free port (tests).
func (p *Proxy) NewListener(cl config.Listener, groups Groups) (*Listener, error) {
	l := &Listener{p: p, key: listenerKey(cl), protocol: cl.Protocol, address: cl.Address, port: strconv.Itoa(cl.Port)}
	l.httpHandlers.next = l
	if l.protocol == "" {
		l.protocol = "HTTP"
	}
	l.accessType = "http"
	l.xfProto = []string{"http"}
	if l.protocol == "HTTPS" {
		l.accessType = "https"
		l.xfProto = []string{"https"}
		var err error
		if cl.CertificateFile != "" {
			c, lerr := tls.LoadX509KeyPair(cl.CertificateFile, cl.KeyFile)
			if lerr != nil {
				return nil, fmt.Errorf("certificate %s: %w", cl.CertificateFile, lerr)
			}
			l.cert = &c
		} else if l.cert, err = selfSigned(cl.Address, time.Now()); err != nil {
			return nil, err
		}
		l.fingerprint = fingerprint(l.cert)
	}
	t, err := l.compile(cl, groups)
	if err != nil {
		return nil, err
	}
	l.table.Store(t)
	// net/http reads these fields unsynchronised while it serves: they
	// stay as the listener was built with (docs/load-balancer.md, "Idle
	// timeout").
	idle := p.attrs.Load().idle
	l.srv = &http.Server{
		Handler:           &l.httpHandlers,
		ReadHeaderTimeout: idle,
		// HTTP/1.x heads are bounded by the gate first; this bounds
		// HTTP/2's header lists (SETTINGS_MAX_HEADER_LIST_SIZE, 431 above
		// it) to the same 64 K.
		MaxHeaderBytes: h1.MaxHead,
		IdleTimeout:    idle,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if g, ok := c.(*gatedConn); ok {
				return context.WithValue(ctx, connTraceKey{}, g)
			}
			return context.WithValue(ctx, connTraceKey{}, newConnTraceID())
		},
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	if l.cert != nil {
		protocols.SetHTTP2(true)
		// Session tickets stay on (crypto/tls's default, keys rotated by
		// it): a client coming back resumes without the certificate's
		// signature, the costly part of a handshake.
		l.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*l.cert}, MinVersion: tls.VersionTLS12,
			NextProtos: []string{"h2", "http/1.1"}}
		// routing.http2.enabled false: HTTP/1.1 only, read per handshake
		// (crypto/tls keeps the original's ticket keys for the other).
		h1Only := l.srv.TLSConfig.Clone()
		h1Only.NextProtos = []string{"http/1.1"}
		l.srv.TLSConfig.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			// On the loop, the handshake's CPU waits for a slot
			// (handshake_slots.go); net/http's path is not bounded.
			if rn, ok := hello.Conn.(*rawNetConn); ok {
				rn.takeHandshakeSlot()
			}
			if p.attrs.Load().noH2 {
				return h1Only, nil
			}
			return nil, nil
		}
		l.tlsConfig = l.srv.TLSConfig
	}
	l.srv.Protocols = &protocols
	if !p.o.DisableFastPath && !p.o.DisableServerLoop {
		l.loop = &loopState{conns: map[*clientConn]struct{}{}}
	}
	return l, nil
}

// Protocol is HTTP or HTTPS.
func (l *Listener) Protocol() string { return l.protocol }

// URL is the base URL clients use, such as https://127.0.0.1:8443.
func (l *Listener) URL() string {
	if l.protocol == "HTTPS" {
		return "https://" + l.Addr()
	}
	return "http://" + l.Addr()
}

// CertificateFingerprint is the SHA-256 fingerprint of an HTTPS listener's
// certificate (AA:BB:...), "" for HTTP.
func (l *Listener) CertificateFingerprint() string { return l.fingerprint }

// Certificate is an HTTPS listener's certificate, nil for HTTP.
func (l *Listener) Certificate() *tls.Certificate { return l.cert }

func (l *Listener) bind() error {
	ln, err := net.Listen("tcp", net.JoinHostPort(l.address, l.port))
	if err != nil {
		return fmt.Errorf("listener %s %s: %w", l.protocol, net.JoinHostPort(l.address, l.port), err)
	}
	l.ln = ln
	if l.loop != nil {
		l.loop.handoff = newHandoffListener(ln.Addr())
	}
	l.port = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	l.xfPort = []string{l.port}
	host := l.address
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	l.hostName = host
	if !(l.port == "80" && l.protocol == "HTTP" || l.port == "443" && l.protocol == "HTTPS") {
		l.hostName = net.JoinHostPort(host, l.port)
	}
	return nil
}

func (l *Listener) run() {
	var err error
	switch {
	case l.loop != nil:
		// HTTPS too: HTTP/1.x connections stay on the loop after their
		// handshake, HTTP/2 ones are handed to srv (loop_tls.go).
		go l.acceptLoop()
		err = l.srv.Serve(l.loop.handoff)
	case l.cert != nil:
		err = l.srv.Serve(newTLSGateListener(l.ln, l.p, l.srv.TLSConfig))
	default:
		err = l.srv.Serve(gateListener{Listener: l.ln, p: l.p})
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		l.p.log.Error("listener stopped", "addr", l.Addr(), "err", err)
	}
}

func (l *Listener) shutdown(ctx context.Context) error {
	if l.ln == nil {
		return nil
	}
	var loopErr error
	var wg sync.WaitGroup
	if l.loop != nil {
		// Stop accepting first: the accept loop owns the socket, and
		// http.Server only closes its hand-off adapter.
		l.loop.closing.Store(true)
		_ = l.ln.Close()
		wg.Go(func() { loopErr = l.shutdownLoop(ctx) })
	}
	err := l.srv.Shutdown(ctx)
	if err != nil {
		_ = l.srv.Close()
	}
	// net/http's Shutdown returns once its connections are closed, but an
	// HTTP/2 connection closes while its streams' handlers still run
	// (their contexts canceled): they end before the access log and the
	// recorder are closed under them.
	err = errors.Join(err, l.httpHandlers.wait(ctx))
	wg.Wait()
	if err = errors.Join(err, loopErr); err != nil {
		return fmt.Errorf("listener %s: requests still in flight at shutdown: %w", l.Addr(), err)
	}
	return nil
}

// listenerKey identifies a listener across configs: a listener whose
// protocol, address, port and certificate files are unchanged keeps running
// (and its connections) while its rules change.
func listenerKey(cl config.Listener) string {
	return cl.Protocol + " " + net.JoinHostPort(cl.Address, strconv.Itoa(cl.Port)) + " " + cl.CertificateFile + " " + cl.KeyFile
}
