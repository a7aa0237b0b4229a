package imds

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
)

// LinkLocal serves the metadata of every instance of a VPC at one address,
// 169.254.169.254:80, and picks the instance by the caller's private IP, as
// EC2 answers each instance through its own network interface.
//
// It also applies the PUT response hop limit: the answer to a token request
// leaves with that IP TTL, so a caller one routing hop further away (a
// container on the instance) gets no token when the limit is 1, as on EC2
// ("Instance metadata access considerations", EC2 User Guide: "the default
// hop limit is 1 ... containerized applications ... set it to 2").
type LinkLocal struct {
	hopLimit int
	log      *slog.Logger

	mu   sync.RWMutex
	byIP map[netip.Addr]*Server
}

// defaultTTL is what Linux sends with by default (ip-sysctl
// net.ipv4.ip_default_ttl): every answer but the token's.
const defaultTTL = 64

type connKey struct{}

// NewLinkLocal returns a service with no instance yet.
func NewLinkLocal(hopLimit int, log *slog.Logger) *LinkLocal {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &LinkLocal{hopLimit: hopLimit, log: log, byIP: map[netip.Addr]*Server{}}
}

// Add answers callers from ip with s; Remove stops answering them.
func (l *LinkLocal) Add(ip netip.Addr, s *Server) {
	l.mu.Lock()
	l.byIP[ip] = s
	l.mu.Unlock()
}

func (l *LinkLocal) Remove(ip netip.Addr) {
	l.mu.Lock()
	delete(l.byIP, ip)
	l.mu.Unlock()
}

// HTTPServer serves l with the metadata service's connection timeouts.
func (l *LinkLocal) HTTPServer() *http.Server {
	hs := (&Server{readHeaderTimeout: DefaultReadHeaderTimeout, idleTimeout: DefaultIdleTimeout, log: l.log}).HTTPServer()
	hs.Handler = l
	hs.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, c)
	}
	return hs
}

// ServeHTTP hands the request to the caller's instance.
func (l *LinkLocal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	l.mu.RLock()
	s := l.byIP[ap.Addr().Unmap()]
	l.mu.RUnlock()
	if err != nil || s == nil {
		// Not an instance of this VPC (EC2 has no such caller).
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	ttl := defaultTTL
	if r.Method == http.MethodPut && isTokenPath(r.URL.Path) {
		ttl = l.hopLimit
	}
	if c, ok := r.Context().Value(connKey{}).(syscall.Conn); ok {
		setTTL(c, ttl)
	}
	s.ServeHTTP(w, r)
}

func setTTL(c syscall.Conn, ttl int) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TTL, ttl)
	})
}
