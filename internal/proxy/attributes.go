package proxy

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/proxy/accesslog"
	"github.com/elbow-lb/elbow/internal/proxy/desync"
)

// Attributes are the load balancer attributes a running proxy changes
// live, as ModifyLoadBalancerAttributes changes them on AWS
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#load-balancer-attributes).
type Attributes struct {
	// IdleTimeout is idle_timeout.timeout_seconds; 0 is the default, 60 s.
	IdleTimeout time.Duration
	// DropInvalidHeaderFields is routing.http.drop_invalid_header_fields.enabled.
	DropInvalidHeaderFields bool
	// DesyncMode is routing.http.desync_mitigation_mode.
	DesyncMode desync.Mode
	// AccessLogs is access_logs.s3.enabled; AccessLogPath the file the
	// entries go to (already resolved; "" or "-": standard output).
	AccessLogs    bool
	AccessLogPath string
	// HTTP2Disabled is routing.http2.enabled set to false: HTTPS listeners
	// offer clients HTTP/1.1 only (ALPN). The zero value is the ALB's
	// default, HTTP/2 offered. A change reaches connections opened
	// afterwards.
	HTTP2Disabled bool
}

// AttributesOf reads the attributes of cfg.LoadBalancer.
func AttributesOf(cfg *config.Config) (Attributes, error) {
	lb := cfg.LoadBalancer
	a := Attributes{IdleTimeout: time.Duration(lb.IdleTimeout) * time.Second,
		DropInvalidHeaderFields: lb.DropInvalidHeaderFields, AccessLogs: lb.AccessLogs.Enabled,
		HTTP2Disabled: !lb.HTTP2()}
	if lb.DesyncMitigationMode != "" {
		m, err := desync.ParseMode(lb.DesyncMitigationMode)
		if err != nil {
			return a, fmt.Errorf("load_balancer.desync_mitigation_mode: %w", err)
		}
		a.DesyncMode = m
	}
	if p := lb.AccessLogs.Path; a.AccessLogs && p != "" && p != "-" {
		a.AccessLogPath = cfg.Resolve(p) // beside the config file
	}
	return a, nil
}

// attributes are the Attributes as the data path reads them: one value
// behind Proxy.attrs, replaced whole, so that a request sees one
// consistent set however they change meanwhile.
type attributes struct {
	idle        time.Duration
	dropInvalid bool
	desync      desync.Mode
	// access is the access log; nil when access logs are disabled.
	access *accesslog.Writer
	noH2   bool
}

// accessLogKey says which output the access log has: "" none, "writer"
// Options.AccessLog, else "file:" and the path ("file:" alone: stdout).
func accessLogKey(a Attributes) string {
	if !a.AccessLogs {
		return ""
	}
	return "file:" + a.AccessLogPath
}

// SetAttributes changes the load balancer's attributes on the running
// proxy. What each change reaches:
//   - the desync mitigation mode and drop_invalid_header_fields: every
//     request whose head is read afterwards, on connections already open too;
//   - access logs: requests that begin afterwards are logged (or not) to
//     the new output; those in flight go to the output of when they began
//     (nowhere once disabled). The new file is opened first (an error
//     changes nothing), then entries switch to it, then the old one is
//     closed;
//   - the idle timeout: see docs/load-balancer.md ("Idle timeout");
//   - HTTP/2 (routing.http2.enabled): TLS handshakes made afterwards.
func (p *Proxy) SetAttributes(a Attributes) error { return p.setAttributes(a, true) }

// setAttributes is SetAttributes; with access false the access log is left
// as it is.
func (p *Proxy) setAttributes(a Attributes, access bool) error {
	p.attrMu.Lock()
	defer p.attrMu.Unlock()
	if a.IdleTimeout <= 0 {
		a.IdleTimeout = defaultIdleTimeout
	}
	cur := p.attrs.Load()
	next := &attributes{idle: a.IdleTimeout, dropInvalid: a.DropInvalidHeaderFields, desync: a.DesyncMode, access: cur.access,
		noH2: a.HTTP2Disabled}
	key := accessLogKey(a)
	var oldFile *os.File
	if access && key != p.accessKey {
		var out io.Writer
		var file *os.File
		switch {
		case key == "":
		case a.AccessLogPath == "":
			out = os.Stdout
		default:
			f, err := openAccessLog(a.AccessLogPath)
			if err != nil {
				return err
			}
			out, file = f, f
		}
		if out != nil {
			if p.accessW == nil {
				p.accessW = accesslog.NewWriter(out)
			} else {
				p.accessW.SetOutput(out)
			}
			next.access = p.accessW
		} else {
			if p.accessW != nil {
				p.accessW.SetOutput(nil)
			}
			next.access = nil
		}
		oldFile, p.logFile, p.accessKey = p.logFile, file, key
	}
	if next.idle != cur.idle {
		p.upstream.SetIdleTimeout(next.idle)
		old := p.transport.Swap(p.newTransport(next.idle, false))
		defer old.CloseIdleConnections()
		oldH2 := p.transportH2.Swap(p.newTransport(next.idle, true))
		defer oldH2.CloseIdleConnections()
	}
	p.attrs.Store(next)
	if oldFile != nil {
		_ = oldFile.Close()
	}
	return nil
}

func openAccessLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("access log %s: %w", path, err)
	}
	return f, nil
}

// defaultIdleTimeout is the ALB's (idle_timeout.timeout_seconds, 60).
const defaultIdleTimeout = 60 * time.Second

// transportOf is the ReverseProxy path's transport now: SetAttributes
// replaces it when the idle timeout changes (ResponseHeaderTimeout and the
// write idle timeout of its connections are fixed per transport).
func (p *Proxy) transportOf() *http.Transport { return p.transport.Load() }
