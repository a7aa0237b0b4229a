package sampleapp

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// shutdownGrace is how long Run lets in-flight requests finish once its
// context ends.
const shutdownGrace = 5 * time.Second

// Run serves the sample app on addr until ctx ends, reading the instance's
// facts from the metadata service at metadataEndpoint (EC2's when empty).
// It returns nil after a clean shutdown.
func Run(ctx context.Context, addr, metadataEndpoint string, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sample app: listen on %s: %w", addr, err)
	}
	return Serve(ctx, ln, metadataEndpoint, logger)
}

// Serve is Run on a listener the caller opened; it closes ln.
func Serve(ctx context.Context, ln net.Listener, metadataEndpoint string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           NewHandler(metadataEndpoint, logger),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("sample app listening", "addr", ln.Addr().String(), "metadata_endpoint", metadataEndpoint)

	select {
	case err := <-served:
		return fmt.Errorf("sample app on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("sample app on %s: shutdown: %w", ln.Addr(), err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sample app on %s: %w", ln.Addr(), err)
	}
	return nil
}

// NewHandler returns the sample app's routes: GET / (the page) and
// GET /health (200 "ok").
func NewHandler(metadataEndpoint string, logger *slog.Logger) http.Handler {
	return newHandler(metadataEndpoint, logger, metadataTimeout)
}

func newHandler(metadataEndpoint string, logger *slog.Logger, timeout time.Duration) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &app{facts: newFactsCache(newMetadataClient(metadataEndpoint, timeout)), log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", a.health)
	mux.HandleFunc("GET /{$}", a.page)
	return a.accessLog(mux)
}

type app struct {
	facts *factsCache
	log   *slog.Logger
}

// health answers the health checker. It reads nothing, so a slow or missing
// metadata service never fails a health check.
func (a *app) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok"))
}

type pageData struct {
	Facts           instanceFacts
	MetadataProblem string
	Host            string
	XForwardedFor   string
	XForwardedProto string
	TraceID         string
}

func (a *app) page(w http.ResponseWriter, r *http.Request) {
	d := pageData{
		Host:            r.Host,
		XForwardedFor:   r.Header.Get("X-Forwarded-For"),
		XForwardedProto: r.Header.Get("X-Forwarded-Proto"),
		TraceID:         r.Header.Get("X-Amzn-Trace-Id"),
	}
	facts, err := a.facts.get(r.Context())
	if err != nil {
		d.MetadataProblem = err.Error()
		a.log.Warn("sample app: metadata unavailable", "err", err)
	}
	d.Facts = facts
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Every reload must reach the load balancer, or it cannot show another
	// instance answering.
	w.Header().Set("Cache-Control", "no-store")
	if err := pageTemplate.Execute(w, d); err != nil {
		a.log.Warn("sample app: writing page", "err", err)
	}
}

// statusRecorder remembers the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// accessLog writes one line per request, the record a web server on the
// instance would keep (health checks included, as on Beanstalk).
func (a *app) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r)
		a.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"host", r.Host, "user_agent", r.UserAgent(), "duration", time.Since(start))
	})
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>elbow sample app{{with .Facts.InstanceID}} on {{.}}{{end}}</title>
<style>
 body { font-family: system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; color: #1d2733; line-height: 1.5; }
 h1 { font-size: 1.5rem; margin-bottom: .25rem; }
 h2 { font-size: 1.05rem; margin-top: 2rem; }
 table { border-collapse: collapse; width: 100%; }
 th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e3e7ec; vertical-align: top; }
 th { width: 12rem; font-weight: 600; color: #4a5665; }
 code { font-family: ui-monospace, monospace; word-break: break-all; }
 .problem { background: #fff4e5; border-left: 4px solid #e08a00; padding: .5rem .75rem; }
 .none { color: #8a94a0; }
 p.note { color: #4a5665; }
</style>
</head>
<body>
<h1>{{if .Facts.InstanceID}}Instance <code>{{.Facts.InstanceID}}</code> answered{{else}}An instance answered{{end}}</h1>
<p class="note">elbow sample application, served behind the load balancer.</p>
{{if .MetadataProblem}}<p class="problem">metadata unavailable: {{.MetadataProblem}}</p>{{end}}
<h2>This instance (from its metadata service)</h2>
<table>
 <tr><th>Instance ID</th><td>{{with .Facts.InstanceID}}<code>{{.}}</code>{{else}}<span class="none">unknown</span>{{end}}</td></tr>
 <tr><th>Private IP</th><td>{{with .Facts.PrivateIP}}<code>{{.}}</code>{{else}}<span class="none">unknown</span>{{end}}</td></tr>
 <tr><th>Availability zone</th><td>{{with .Facts.AvailabilityZone}}<code>{{.}}</code>{{else}}<span class="none">unknown</span>{{end}}</td></tr>
</table>
<h2>This request</h2>
<table>
 <tr><th>Host</th><td>{{with .Host}}<code>{{.}}</code>{{else}}<span class="none">none</span>{{end}}</td></tr>
 <tr><th>X-Forwarded-For</th><td>{{with .XForwardedFor}}<code>{{.}}</code>{{else}}<span class="none">none</span>{{end}}</td></tr>
 <tr><th>X-Forwarded-Proto</th><td>{{with .XForwardedProto}}<code>{{.}}</code>{{else}}<span class="none">none</span>{{end}}</td></tr>
 <tr><th>X-Amzn-Trace-Id</th><td>{{with .TraceID}}<code>{{.}}</code>{{else}}<span class="none">none</span>{{end}}</td></tr>
</table>
<p class="note">The load balancer sends each request to one of the healthy instances: when
more than one runs, reloading this page shows another instance answering. The forwarded headers
are the ones the load balancer added; with none of them, the request did not come through it.</p>
</body>
</html>
`))
