// Package environment stands up one environment from a validated config and
// takes it down again. It wires the packages that own the parts: the fleet
// and each instance's metadata service, the target groups and their health
// checkers, the load balancer's listeners, the monitor. It owns the order of
// start and stop, and the one stream of events `elbow up` prints; nothing else.
package environment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/elbow-lb/elbow/internal/appversion"
	"github.com/elbow-lb/elbow/internal/autoscale"
	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/awsapi/ebapi"
	"github.com/elbow-lb/elbow/internal/awsapi/elbv2api"
	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/deploy"
	"github.com/elbow-lb/elbow/internal/diagnose"
	"github.com/elbow-lb/elbow/internal/ebengine"
	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/imds"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/elbow-lb/elbow/internal/proxy"
	"github.com/elbow-lb/elbow/internal/targetgroup"
	"github.com/elbow-lb/elbow/internal/vpc"
)

// Options wire an environment.
type Options struct {
	Logger *slog.Logger
	// Events receives everything `elbow up` shows as it happens: target
	// health changes, enhanced-health events, instance lifecycle. It must not block.
	Events func(Event)
	// Executable is the elbow binary, which runs the built-in sample app.
	// Default os.Executable().
	Executable string
	// FirstProbeJitter spreads the first health checks; default 500 ms.
	FirstProbeJitter time.Duration
	// Beanstalk, when set, runs an Elastic Beanstalk project: each instance
	// runs the deployment engine on it (package ebengine).
	Beanstalk *ebengine.Plan
}

// EventSource says which part of the environment an event comes from.
type EventSource string

const (
	SourceTarget   EventSource = "target"   // a target's health changed
	SourceHealth   EventSource = "health"   // an enhanced-health transition
	SourceInstance EventSource = "instance" // an instance's lifecycle
)

// Event is one line of what happens in the environment.
type Event struct {
	Time     time.Time
	Source   EventSource
	Severity string
	Message  string
	// Target and Health are set for SourceTarget events.
	Group  string
	Target healthcheck.Target
	Health healthcheck.TargetHealth
}

// Env is a running environment.
type Env struct {
	cfg *config.Config
	// region is the config's at Start (a change needs a restart), read
	// without the reload lock.
	region  string
	log     *slog.Logger
	events  func(Event)
	monitor *monitor.Monitor
	console *console.Console
	// consoleAddr is the address the console listens on, once bound.
	consoleAddr string
	groups      proxy.Groups
	proxy       *proxy.Proxy
	fleet       *fleet.Fleet
	cancel      context.CancelFunc
	done        sync.WaitGroup
	opts        Options

	// reloadMu serialises configuration changes (Reload, ModifyHealthCheck).
	reloadMu sync.Mutex
	// file is what the environment's file describes (writeback.go).
	file fileState
	// groupStop cancels each target group's checker.
	groupStop map[string]context.CancelFunc

	// watcher diagnoses each target that turns unhealthy and keeps the
	// diagnosis for the console.
	watcher *diagnose.Watcher

	mu   sync.Mutex
	imds map[string]*http.Server // by instance id, loopback mode
	// imdsServers are the instances' metadata services, by instance id.
	imdsServers map[string]*imds.Server
	// vpc, linkLocal and attachments are set in vpc mode only.
	vpc         *vpc.Network
	linkLocal   *imds.LinkLocal
	attachments map[string]*vpc.Attachment // by instance id
	beanstalk   *beanstalk                 // set when running a Beanstalk project
	// upd, versions and deployer run deployments and configuration
	// updates (update.go); nil deployer when the targets run elsewhere.
	upd      updates
	versions *appversion.Store
	deployer *deploy.Deployer
	// scaler and figures are the Auto Scaling group's (scaling.go).
	scaler  *autoscale.Scaler
	figures *autoscale.Figures
	targets map[string]healthcheck.Target
	runCtx  context.Context
	started time.Time
	logDir  string // the fleet's log folder, for the diagnosis (not a project's)
}

// Start stands the environment up: target groups and their checkers, the
// console, the listeners, the monitor, then the instances. On an error
// everything started is stopped.
func Start(ctx context.Context, cfg *config.Config, o Options) (_ *Env, err error) {
	e, runCtx := newEnv(ctx, cfg, o)
	o = e.opts // with its defaults, which the console wiring below reads
	defer func() {
		if err != nil {
			stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
			defer stop()
			e.Stop(stopCtx)
		}
	}()
	if err := e.startBeanstalk(); err != nil {
		return nil, err
	}
	if err := e.startNetwork(); err != nil {
		return nil, err
	}
	if err := e.startGroups(); err != nil {
		return nil, err
	}

	e.console = console.New(console.Options{
		Health: e.monitor, TargetGroups: e.consoleGroups, Diagnose: e.diagnosis,
		Instance: e.instanceInfo, ModifyHealthCheck: e.modifyHealthCheckAndFile, Logs: e.instanceLog,
		Logger: o.Logger, Credentials: console.CredentialsFrom(cfg.Console.Credentials),
		QueryAPI:          &awsapi.Handler{Services: []awsapi.Service{elbv2api.New(e), ebapi.New(e)}, Logger: o.Logger},
		LoadBalancerStats: e.loadBalancerStats,
		Updates:           e.consoleUpdates(),
	})
	consoleLn, err := net.Listen("tcp", cfg.Console.Address)
	if err != nil {
		return nil, fmt.Errorf("console on %s: %w", cfg.Console.Address, err)
	}
	e.consoleAddr = consoleLn.Addr().String()
	e.goRun(func() { e.console.Serve(runCtx, consoleLn) })

	if err := e.startListeners(); err != nil {
		return nil, err
	}
	e.runMonitor()
	if err := e.startInstances(ctx); err != nil {
		return nil, err
	}
	if err := e.startUpdates(); err != nil {
		return nil, err
	}
	e.startScaling()
	return e, nil
}

// consoleUpdates is the environment's deployments for the console, nil
// when its targets run elsewhere (nothing to deploy to).
func (e *Env) consoleUpdates() console.Updates {
	if len(e.cfg.Instances.Targets) > 0 {
		return nil
	}
	return e
}

// newEnv fills o's defaults and builds the environment and its monitor;
// nothing runs yet. runCtx lives until Stop, whatever becomes of ctx.
func newEnv(ctx context.Context, cfg *config.Config, o Options) (e *Env, runCtx context.Context) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Events == nil {
		o.Events = func(Event) {}
	}
	if o.FirstProbeJitter == 0 {
		o.FirstProbeJitter = 500 * time.Millisecond
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e = &Env{
		cfg: cfg, region: cfg.Region, log: o.Logger, cancel: cancel,
		groups: proxy.Groups{}, imds: map[string]*http.Server{}, imdsServers: map[string]*imds.Server{},
		attachments: map[string]*vpc.Attachment{}, targets: map[string]healthcheck.Target{},
		runCtx: runCtx, opts: o, groupStop: map[string]context.CancelFunc{}, started: time.Now(),
	}
	e.events = func(ev Event) {
		o.Events(ev)
		// The environment's own events join the monitor's history, so the
		// console and DescribeEvents list them beside the health
		// transitions, as Beanstalk's event list does; target health
		// changes are elbow's detail, not Beanstalk events.
		if ev.Source == SourceInstance || ev.Source == SourceConfig || ev.Source == SourceDeploy {
			e.monitor.Record(ev.Time, "", ev.Severity, ev.Message)
		}
	}
	e.watcher = e.newWatcher()
	e.figures = autoscale.NewFigures()
	// The monitor's transitions reach the user as events (runMonitor); its
	// own log of them would print each one twice.
	e.monitor = monitor.New(monitor.Options{EnvironmentName: cfg.Name, Rules: cfg.EnhancedHealth, Logger: slog.New(slog.DiscardHandler)})
	return e, runCtx
}

// startGroups builds each target group and starts its checker.
func (e *Env) startGroups() error {
	for _, tg := range e.cfg.TargetGroups {
		g, err := e.newGroup(tg)
		if err != nil {
			return err
		}
		e.groups[tg.Name] = g
		e.runGroup(g)
	}
	return nil
}

// startListeners builds the load balancer's listeners over the groups and
// starts accepting. The proxy opens the access log and closes it at Shutdown.
func (e *Env) startListeners() error {
	cfg := e.cfg
	var rec proxy.Recorder
	if recordResponses {
		rec = recorders{monitorRecorder{e.monitor}, e.console, figuresRecorder{e.figures}}
	}
	p, err := proxy.New(cfg, e.groups, proxy.Options{
		IdleTimeout:      time.Duration(cfg.LoadBalancer.IdleTimeout) * time.Second,
		Recorder:         rec,
		Logger:           e.log,
		LoadBalancerName: cfg.LoadBalancer.Name,
		Region:           cfg.Region,
		Dial:             e.dial(net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}),
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.proxy = p
	e.mu.Unlock()
	return p.Start()
}

// runMonitor runs the enhanced-health monitor and turns its transitions
// into events until the environment stops.
func (e *Env) runMonitor() {
	sub := e.monitor.Subscribe(256)
	e.goRun(func() { e.monitor.Run(e.runCtx) })
	e.goRun(func() {
		for {
			select {
			case <-e.runCtx.Done():
				sub.Close()
				return
			case ev, ok := <-sub.C:
				if !ok {
					return
				}
				if ev.From == "" && ev.To == "" {
					continue // recorded by e.events, which showed it already
				}
				e.events(Event{Time: ev.EventDate, Source: SourceHealth, Severity: ev.Severity, Message: ev.Message})
			}
		}
	})
}

func (e *Env) newGroup(tg config.TargetGroup) (*targetgroup.Group, error) {
	var prober healthcheck.Prober
	if e.vpc != nil {
		// No TCP keep-alive: a check's connection lives for one request.
		prober = healthcheck.HTTPProber{Dial: e.dial(net.Dialer{KeepAlive: -1})}
	}
	return targetgroup.New(tg, targetgroup.Options{
		Prober:           prober,
		Reporters:        []healthcheck.Reporter{e.monitor, targetPrinter{e, tg.Name}, e.watcher.For(tg.Name)},
		Observers:        []healthcheck.ResultObserver{e.monitor, e.watcher.For(tg.Name)},
		Logger:           e.log,
		FirstProbeJitter: e.opts.FirstProbeJitter,
	})
}

// runGroup starts g's checker until the environment stops or the group is removed.
func (e *Env) runGroup(g *targetgroup.Group) {
	ctx, cancel := context.WithCancel(e.runCtx)
	e.mu.Lock()
	e.groupStop[g.Name()] = cancel
	e.mu.Unlock()
	e.goRun(func() { g.Run(ctx) })
}

func (e *Env) stopGroup(name string) {
	e.mu.Lock()
	cancel := e.groupStop[name]
	delete(e.groupStop, name)
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (e *Env) online() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.targets)
}

func (e *Env) goRun(f func()) {
	e.done.Add(1)
	go func() { defer e.done.Done(); f() }()
}

// Stop closes the listeners (requests in flight finish), then drains and
// stops every instance, the checkers and the monitor. It returns when all are gone
// or ctx ends.
func (e *Env) Stop(ctx context.Context) error {
	var errs []error
	// Listeners first: they stop accepting and let requests in flight finish
	// on instances that still run; then the instances drain (nothing is in
	// flight any more) and stop.
	if e.proxy != nil {
		if err := e.proxy.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping the listeners: %w", err))
		}
	}
	if e.fleet != nil {
		e.fleet.StopAll(ctx)
	}
	e.stopNetwork()
	e.cancel()
	e.done.Wait()
	e.watcher.Wait()
	return errors.Join(errs...)
}

// Config is the configuration the environment runs, changes included.
func (e *Env) Config() *config.Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg
}

// Listeners are the load balancer's listeners.
func (e *Env) Listeners() []*proxy.Listener { return e.proxy.Listeners() }

// Groups are the target groups by name.
func (e *Env) Groups() proxy.Groups {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.groups
}

// Group is the target group named name, or nil.
func (e *Env) Group(name string) *targetgroup.Group {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.groups[name]
}

// Monitor is the enhanced-health monitor.
func (e *Env) Monitor() *monitor.Monitor { return e.monitor }

// Fleet is the instances' fleet; nil when the environment registers
// existing targets instead.
func (e *Env) Fleet() *fleet.Fleet { return e.fleet }

// Instances lists the instances with their IPs, in launch order.
func (e *Env) Instances() []fleet.InstanceStatus {
	if e.fleet == nil {
		return nil
	}
	return e.fleet.Instances()
}

// targetPrinter turns a group's health changes into events; the
// watcher, after it, diagnoses the targets that turn unhealthy.
type targetPrinter struct {
	e     *Env
	group string
}

func (p targetPrinter) SetHealth(t healthcheck.Target, h healthcheck.TargetHealth) {
	sev := "INFO"
	if h.State == healthcheck.StateUnhealthy {
		sev = "WARN"
	}
	p.e.events(Event{Time: time.Now(), Source: SourceTarget, Severity: sev, Group: p.group, Target: t, Health: h,
		Message: fmt.Sprintf("Target %s (%s) in %s: %s", t.ID, t.Addr(), p.group, h)})
}

// newWatcher diagnoses with the settings and public host in force at the
// time, and prints each diagnosis as an event.
func (e *Env) newWatcher() *diagnose.Watcher {
	return diagnose.NewWatcher(e.runCtx, diagnose.WatcherOptions{
		Settings: func(group string) (healthcheck.Settings, bool) {
			g := e.Group(group)
			if g == nil {
				return healthcheck.Settings{}, false
			}
			return g.HealthCheck(), true
		},
		Diagnose: func(ctx context.Context, t healthcheck.Target, s healthcheck.Settings, r healthcheck.Result) diagnose.Diagnosis {
			return diagnose.Diagnoser{Logger: e.log, PublicHost: e.Config().LoadBalancer.PublicHost, ListenerHost: e.listenerHost(), Metadata: e.metadataService,
				InstanceLogs: e.instanceLogDir,
				Dial:         e.dial(net.Dialer{KeepAlive: -1})}.Diagnose(ctx, t, s, r)
		},
		Diagnosed: e.printDiagnosis,
	})
}

// metadataService is the metadata service of t's instance as the diagnosis
// reads it: the endpoint the instance's code reaches it at, the network mode,
// and what it answered since launch.
func (e *Env) metadataService(t healthcheck.Target) (diagnose.MetadataService, bool) {
	e.mu.Lock()
	srv := e.imdsServers[t.ID]
	e.mu.Unlock()
	if srv == nil {
		return diagnose.MetadataService{}, false
	}
	if e.vpc != nil {
		return diagnose.MetadataService{Network: diagnose.NetworkVPC, Endpoint: "http://" + vpc.MetadataAddr.String(), Activity: srv.Requests()}, true
	}
	return diagnose.MetadataService{
		Network:  diagnose.NetworkLoopback,
		Endpoint: "http://" + net.JoinHostPort(t.IP, strconv.Itoa(e.Config().Instances.MetadataOptions.Port)),
		Activity: srv.Requests(),
	}, true
}

// printDiagnosis shows the summary and the fixes' titles; `elbow targets`
// and the console show the whole diagnosis, with the why and the snippets.
func (e *Env) printDiagnosis(group string, t healthcheck.Target, d diagnose.Diagnosis) {
	msg := fmt.Sprintf("Diagnosis for %s (%s): %s", t.ID, t.Addr(), d.Summary)
	for i, f := range d.Fixes {
		if i == 2 {
			break
		}
		msg += fmt.Sprintf("\n      fix %d: %s", i+1, f.Title)
	}
	e.events(Event{Time: time.Now(), Source: SourceTarget, Severity: "WARN", Group: group, Target: t, Message: msg})
}

// Diagnosis returns the latest diagnosis of an unhealthy target of group.
func (e *Env) Diagnosis(group string, t healthcheck.Target) (diagnose.Diagnosis, bool) {
	return e.watcher.Diagnosis(group, t)
}

// recorders fans each proxied response out to the monitor and the console's metrics.
type recorders []proxy.Recorder

func (rs recorders) RecordResponses(recs []proxy.ResponseRecord) {
	for _, r := range rs {
		r.RecordResponses(recs)
	}
}

// ConsoleURL is the console's base URL.
func (e *Env) ConsoleURL() string { return "http://" + e.consoleAddr }

// monitorRecorder counts each proxied response for the instance that gave
// it, and the load balancer's own errors for the environment.
type monitorRecorder struct{ m *monitor.Monitor }

func (r monitorRecorder) RecordResponses(recs []proxy.ResponseRecord) {
	for i := range recs {
		rec := &recs[i]
		if rec.Target.ID == "" { // never forwarded: no target to count it for
			r.m.RecordELBResponse(rec.StatusCode)
			continue
		}
		latency := rec.TargetLatency
		if latency == 0 {
			latency = rec.Latency
		}
		// TargetStatusCode 0: the load balancer answered 502/504 for this
		// instance, which the monitor counts as the ELB's error, not the app's.
		r.m.RecordRequest(rec.Target.ID, rec.TargetStatusCode, latency)
	}
}

// What the console reads of the environment (console.Options).

// consoleGroups lists the target groups by name.
func (e *Env) consoleGroups() []console.TargetGroup {
	groups := e.Groups()
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	list := make([]console.TargetGroup, len(names))
	for i, n := range names {
		list[i] = groups[n]
	}
	return list
}

// diagnosis is the watcher's last diagnosis of a target.
func (e *Env) diagnosis(_ context.Context, group string, t healthcheck.Target, _ healthcheck.TargetHealth) (diagnose.Diagnosis, bool) {
	return e.watcher.Diagnosis(group, t)
}

// instanceInfo is what the metadata service says of an instance.
func (e *Env) instanceInfo(id string) (console.InstanceInfo, bool) {
	if e.fleet == nil {
		return console.InstanceInfo{}, false
	}
	st, ok := e.fleet.Status(id)
	if !ok {
		return console.InstanceInfo{}, false
	}
	in := e.metadataInstance(id, st.IP)
	return console.InstanceInfo{InstanceType: in.InstanceType, AvailabilityZone: in.AvailabilityZone}, true
}

// instanceLog is the tail of an instance's output, and its file.
func (e *Env) instanceLog(id string, n int) ([]string, string, bool) {
	if e.fleet == nil {
		return nil, "", false
	}
	st, ok := e.fleet.Status(id)
	if !ok {
		return nil, "", false
	}
	return e.fleet.Tail(id, n), st.LogPath, true
}
