package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/console/web"
	"github.com/elbow-lb/elbow/internal/diagnose"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/elbow-lb/elbow/internal/proxy"
	"github.com/elbow-lb/elbow/internal/targetgroup"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultAddr is where the console listens unless told otherwise: loopback only.
const DefaultAddr = apiv1.DefaultAddr

// Health is the environment's enhanced health; *monitor.Monitor satisfies it.
type Health interface {
	EnvironmentHealth() monitor.EnvironmentHealth
	InstancesHealth() monitor.InstancesHealth
	// Events returns the events dated after since, oldest first.
	Events(since time.Time) []monitor.Event
}

// TargetGroup is what the console reads of one target group;
// *targetgroup.Group satisfies it.
type TargetGroup interface {
	Name() string
	Protocol() string
	Port() int
	HealthCheck() healthcheck.Settings
	Describe() []targetgroup.TargetHealthDescription
}

// TargetGroups lists the environment's target groups at the time of the
// call, so that a reload that adds or removes groups shows at once.
type TargetGroups func() []TargetGroup

// Groups returns a TargetGroups listing a fixed set of groups.
func Groups(gs ...*targetgroup.Group) TargetGroups {
	list := make([]TargetGroup, len(gs))
	for i, g := range gs {
		list[i] = g
	}
	return func() []TargetGroup { return list }
}

// Diagnoser explains why a target fails its health check; ok is false when
// it has nothing to say. The API shows the diagnosis beside TargetHealth;
// `elbow targets` prints its Summary. It is called only for unhealthy
// targets, with the request's context, and may probe the target.
// diagnose.Watcher's Diagnosis answers it from memory.
type Diagnoser func(ctx context.Context, group string, t healthcheck.Target, h healthcheck.TargetHealth) (d diagnose.Diagnosis, ok bool)

// InstanceInfo is what the fleet knows of an instance that the monitor does
// not: its instance type and availability zone.
type InstanceInfo struct {
	InstanceType     string
	AvailabilityZone string
}

// Options wire a Console. All fields may be left zero: a route whose source
// is missing answers 503 HealthUnavailable (Health) or lists nothing
// (TargetGroups).
type Options struct {
	Health       Health
	TargetGroups TargetGroups
	Diagnose     Diagnoser
	// Instance fills InstanceType and AvailabilityZone of
	// DescribeInstancesHealth; ok is false for an unknown instance.
	Instance func(id string) (info InstanceInfo, ok bool)
	// Logger; nil discards.
	Logger *slog.Logger
	// AllowAnyHost accepts any Host header. By default only IP literals and
	// localhost are accepted, which defeats DNS rebinding against a console
	// on loopback; set it when the console is reached by a DNS name.
	AllowAnyHost bool
	// ShutdownTimeout bounds the graceful shutdown of Serve. Default 5 s.
	ShutdownTimeout time.Duration
	// ModifyHealthCheck applies PATCH /api/v1/target-groups/{name}; nil
	// answers 503.
	ModifyHealthCheck HealthCheckModifier
	// Logs returns the last n lines of an instance's output and the file
	// holding all of it, for GET /api/v1/instances/{id}/log; ok is false for
	// an unknown instance. nil: the environment launches no instances.
	Logs func(id string, n int) (lines []string, file string, ok bool)
	// Credentials, when set, are required of every request: HTTP Basic
	// with the access key id as user and the secret as password, or a
	// SigV4 signature made with them; 401 (403 for a wrong signature)
	// otherwise. nil: any request is answered (loopback only).
	Credentials *Credentials
	// QueryAPI answers AWS Query protocol calls (a POST with a form body,
	// on any path; package awsapi), after the same credentials check as
	// every other request; nil answers them as any unknown route.
	QueryAPI http.Handler
	// HistoryInterval is how often Serve samples the environment's metrics
	// for /api/v1/history. Default 10 s, the monitor's window.
	HistoryInterval time.Duration
	// LoadBalancerStats reads the proxy's connection counts for /metrics
	// (*proxy.Proxy's Stats); nil leaves those series out.
	LoadBalancerStats func() proxy.Stats
	// Updates deploys, aborts, scales and tells the status (updates.go);
	// nil when the environment has none (its targets run elsewhere): those
	// routes answer 503.
	Updates Updates
}

// Console serves the API and /metrics, and counts the proxy's responses.
type Console struct {
	o        Options
	log      *slog.Logger
	mux      *http.ServeMux
	registry *prometheus.Registry
	requests *requestMetrics
	alb      *albMetrics
	// responses holds each series' counters, resolved once (record.go).
	responses sync.Map // seriesKey -> *responseSeries
	history   *history
	changes   *changeLog
	page      http.Handler
	// modifyMu serialises PATCHes from merge to apply.
	modifyMu sync.Mutex
}

var _ proxy.Recorder = (*Console)(nil)

// New builds a console with its own Prometheus registry.
func New(o Options) *Console {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TargetGroups == nil {
		o.TargetGroups = func() []TargetGroup { return nil }
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	if o.HistoryInterval <= 0 {
		o.HistoryInterval = historyInterval
	}
	c := &Console{o: o, log: o.Logger, mux: http.NewServeMux(), registry: prometheus.NewRegistry(),
		history: newHistory(historyPoints), changes: &changeLog{}, page: web.Handler()}
	c.requests = newRequestMetrics()
	c.alb = newALBMetrics()
	c.registry.MustRegister(c.requests.total, &latencyCollector{c: c}, &stateCollector{c: c},
		&lbCollector{stats: o.LoadBalancerStats})
	c.registry.MustRegister(c.alb.collectors()...)
	c.routes()
	return c
}

func (c *Console) routes() {
	c.mux.Handle("/api/v1/environment", get(c.environment))
	c.mux.Handle("/api/v1/instances", get(c.instances))
	c.mux.Handle("/api/v1/instances/{id}/log", get(c.instanceLog))
	c.mux.Handle("/api/v1/target-groups", get(c.targetGroups))
	c.mux.Handle("/api/v1/target-groups/{name}/targets", get(c.targets))
	c.mux.Handle("/api/v1/target-groups/{name}", methods{
		http.MethodGet: c.targetGroup, http.MethodPatch: c.modifyTargetGroup})
	c.mux.Handle("/api/v1/events", get(c.events))
	c.mux.Handle("/api/v1/history", get(c.historyHandler))
	c.mux.Handle("/api/v1/deployments", methods{http.MethodPost: c.deploy})
	c.mux.Handle("/api/v1/environment/abort", methods{http.MethodPost: c.abort})
	c.mux.Handle("/api/v1/environment/capacity", methods{http.MethodPut: c.capacity})
	c.mux.Handle("/api/v1/status", get(c.statusHandler))
	c.mux.Handle("/api/v1/application-versions", get(c.versions))
	// The dashboard: its page at / and its script and style under /ui/.
	c.mux.Handle("/{$}", get(c.page.ServeHTTP))
	c.mux.Handle("/ui/", get(c.page.ServeHTTP))
	c.mux.Handle("/metrics", get(promhttp.HandlerFor(c.registry, promhttp.HandlerOpts{
		ErrorLog: slogPrinter{c.log}, Registry: c.registry,
	}).ServeHTTP))
	c.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no such resource: %s", r.URL.Path))
	})
}

// get lets GET and HEAD through and answers 405 to anything else.
func get(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed",
				fmt.Sprintf("method %s is not allowed on %s; use GET", r.Method, r.URL.Path))
			return
		}
		h(w, r)
	})
}

// methods routes by method and answers 405 with Allow to the others; GET
// lets HEAD through.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if h, ok := m[method]; ok {
		h(w, r)
		return
	}
	allowed := slices.Sorted(maps.Keys(m))
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed",
		fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
}

// ServeHTTP serves the API, /metrics and the dashboard.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	if !c.o.AllowAnyHost && !localHost(r.Host) {
		c.log.Warn("console request refused: Host is not an IP address or localhost", "host", r.Host, "remote", r.RemoteAddr)
		writeError(w, http.StatusForbidden, "Forbidden",
			fmt.Sprintf("host %q is not accepted: use an IP address or localhost", r.Host))
		return
	}
	if !c.authorize(w, r) {
		return
	}
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	start := time.Now()
	if c.o.QueryAPI != nil && awsapi.IsCall(r) {
		c.o.QueryAPI.ServeHTTP(rw, r)
	} else {
		c.mux.ServeHTTP(rw, r)
	}
	// The path only: the query may one day carry something private.
	c.log.Debug("console request", "method", r.Method, "path", r.URL.Path, "status", rw.status, "duration", time.Since(start))
}

// localHost reports whether a Host header names an IP address or localhost.
func localHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if net.ParseIP(host) != nil {
		return true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Serve answers on ln until ctx ends, then shuts down gracefully: requests
// in flight get ShutdownTimeout to finish. It returns nil after a shutdown
// asked for by ctx.
func (c *Console) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           c,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(c.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan error, 1)
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
			done <- nil
			return
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.ShutdownTimeout)
		defer cancel()
		done <- srv.Shutdown(sctx)
	}()
	historyDone := make(chan struct{})
	go func() { defer close(historyDone); c.runHistory(ctx) }()
	defer func() { <-historyDone }()
	c.log.Info("console listening", "addr", ln.Addr().String())
	err := srv.Serve(ln)
	if !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("console on %s: %w", ln.Addr(), err)
	}
	if err := <-done; err != nil {
		return fmt.Errorf("console on %s: shutdown: %w", ln.Addr(), err)
	}
	return nil
}

// ListenAndServe listens on addr (DefaultAddr when empty) and serves until
// ctx ends.
func (c *Console) ListenAndServe(ctx context.Context, addr string) error {
	if addr == "" {
		addr = DefaultAddr
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return c.Serve(ctx, ln)
}

// slogPrinter adapts slog to promhttp's ErrorLog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics: " + fmt.Sprint(v...)) }
