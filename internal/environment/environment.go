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
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/diagnose"
	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/imds"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/elbow-lb/elbow/internal/proxy"
	"github.com/elbow-lb/elbow/internal/targetgroup"
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
	cfg     *config.Config
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
	// groupStop cancels each target group's checker.
	groupStop map[string]context.CancelFunc

	// watcher diagnoses each target that turns unhealthy and keeps the
	// diagnosis for the console.
	watcher *diagnose.Watcher

	mu      sync.Mutex
	imds    map[string]*http.Server // by instance id
	targets map[string]healthcheck.Target
	runCtx  context.Context
}

// Start stands the environment up: target groups and their checkers, the
// listeners, then the instances. On an error everything started is stopped.
func Start(ctx context.Context, cfg *config.Config, o Options) (_ *Env, err error) {
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
	e := &Env{
		cfg: cfg, log: o.Logger, events: o.Events, cancel: cancel,
		groups: proxy.Groups{}, imds: map[string]*http.Server{}, targets: map[string]healthcheck.Target{},
		runCtx: runCtx, opts: o, groupStop: map[string]context.CancelFunc{},
	}
	e.watcher = e.newWatcher()
	defer func() {
		if err != nil {
			stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
			defer stop()
			e.Stop(stopCtx)
		}
	}()

	// The monitor's transitions reach the user as events (below); its own
	// log of them would print each one twice.
	e.monitor = monitor.New(monitor.Options{EnvironmentName: cfg.Name, Rules: cfg.EnhancedHealth, Logger: slog.New(slog.DiscardHandler)})
	for _, tg := range cfg.TargetGroups {
		g, err := e.newGroup(tg)
		if err != nil {
			return nil, err
		}
		e.groups[tg.Name] = g
		e.runGroup(g)
	}

	e.console = console.New(console.Options{
		Health: e.monitor,
		TargetGroups: func() []console.TargetGroup {
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
		},
		Diagnose: func(_ context.Context, group string, t healthcheck.Target, _ healthcheck.TargetHealth) (diagnose.Diagnosis, bool) {
			return e.watcher.Diagnosis(group, t)
		},
		Instance: func(id string) (console.InstanceInfo, bool) {
			if e.fleet == nil {
				return console.InstanceInfo{}, false
			}
			st, ok := e.fleet.Status(id)
			if !ok {
				return console.InstanceInfo{}, false
			}
			in := imds.NewInstance(id, st.IP.String(), cfg.Region)
			return console.InstanceInfo{InstanceType: in.InstanceType, AvailabilityZone: in.AvailabilityZone}, true
		},
		ModifyHealthCheck: func(group string, hc config.HealthCheck, delay *int) error {
			err := e.ModifyHealthCheck(group, hc, delay)
			if errors.Is(err, ErrTargetGroupNotFound) {
				return fmt.Errorf("%w: %w", console.ErrTargetGroupNotFound, err)
			}
			return err
		},
		Logs: func(id string, n int) ([]string, string, bool) {
			if e.fleet == nil {
				return nil, "", false
			}
			st, ok := e.fleet.Status(id)
			if !ok {
				return nil, "", false
			}
			return e.fleet.Tail(id, n), st.LogPath, true
		},
		Logger:      o.Logger,
		Credentials: console.CredentialsFrom(cfg.Console.Credentials),
	})
	consoleLn, err := net.Listen("tcp", cfg.Console.Address)
	if err != nil {
		return nil, fmt.Errorf("console on %s: %w", cfg.Console.Address, err)
	}
	e.consoleAddr = consoleLn.Addr().String()
	e.goRun(func() { e.console.Serve(runCtx, consoleLn) })

	accessLog, err := openAccessLog(cfg)
	if err != nil {
		return nil, err
	}
	e.proxy, err = proxy.New(cfg, e.groups, proxy.Options{
		IdleTimeout:      time.Duration(cfg.LoadBalancer.IdleTimeout) * time.Second,
		AccessLog:        accessLog,
		Recorder:         recorders{monitorRecorder{e.monitor}, e.console},
		Logger:           o.Logger,
		LoadBalancerName: cfg.LoadBalancer.Name,
		Region:           cfg.Region,
	})
	if err != nil {
		return nil, err
	}
	if err := e.proxy.Start(); err != nil {
		return nil, err
	}

	sub := e.monitor.Subscribe(256)
	e.goRun(func() { e.monitor.Run(runCtx) })
	e.goRun(func() {
		for {
			select {
			case <-runCtx.Done():
				sub.Close()
				return
			case ev, ok := <-sub.C:
				if !ok {
					return
				}
				e.events(Event{Time: ev.EventDate, Source: SourceHealth, Severity: ev.Severity, Message: ev.Message})
			}
		}
	})

	in := cfg.Instances
	group := e.groups[in.TargetGroup]
	if len(in.Targets) > 0 {
		for _, addr := range in.Targets {
			ap := netip.MustParseAddrPort(addr) // validated at load
			t := healthcheck.Target{ID: ap.Addr().String(), IP: ap.Addr().String(), Port: int(ap.Port())}
			e.monitor.AddInstance(t.ID, time.Now(), func() int { return 0 })
			group.Register(t)
		}
		e.monitor.SetCapacity(len(in.Targets), len(in.Targets))
		return e, nil
	}
	if e.fleet, err = e.newFleet(o, group); err != nil {
		return nil, err
	}
	if err := e.fleet.Start(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Env) newGroup(tg config.TargetGroup) (*targetgroup.Group, error) {
	return targetgroup.New(tg, targetgroup.Options{
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

func (e *Env) newFleet(o Options, group *targetgroup.Group) (*fleet.Fleet, error) {
	in := e.cfg.Instances
	base := e.baseDir()
	argv := in.Command.Args()
	if in.SampleApp {
		exe := o.Executable
		if exe == "" {
			var err error
			if exe, err = os.Executable(); err != nil {
				return nil, fmt.Errorf("finding the elbow binary for the sample app: %w", err)
			}
		}
		argv = []string{exe, "sample-app"}
	}
	dir := in.Dir
	if dir != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join(base, dir)
	}
	logDir := in.LogDir
	if logDir == "" {
		logDir = filepath.Join(base, ".elbow", "logs")
	} else if !filepath.IsAbs(logDir) {
		logDir = filepath.Join(base, logDir)
	}
	env := make([]string, 0, len(in.Env))
	for k, v := range in.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return fleet.New(fleet.Config{
		Command: argv, Dir: dir, Env: env, Port: in.Port, Min: in.Min, Max: in.Max, LogDir: logDir,
		Logger: e.log,
		Hooks: fleet.Hooks{
			Prepare: e.startMetadataService,
			Launched: func(inst fleet.Instance) {
				t := targetOf(inst)
				e.mu.Lock()
				e.targets[inst.ID] = t
				online := len(e.targets)
				e.mu.Unlock()
				e.monitor.AddInstance(inst.ID, time.Now(), func() int {
					if st, ok := e.fleet.Status(inst.ID); ok {
						return st.SupervisorPID
					}
					return 0
				})
				e.monitor.SetCapacity(e.Config().Instances.Min, online)
				group.Register(t)
			},
			Terminating: func(ctx context.Context, inst fleet.Instance) {
				select {
				case <-group.Deregister(targetOf(inst)):
				case <-ctx.Done():
				}
				e.mu.Lock()
				delete(e.targets, inst.ID)
				online := len(e.targets)
				e.mu.Unlock()
				e.monitor.RemoveInstance(inst.ID)
				e.monitor.SetCapacity(e.Config().Instances.Min, online)
			},
			Event: func(ev fleet.Event) {
				e.events(Event{Time: ev.Time, Source: SourceInstance, Severity: string(ev.Severity), Message: ev.Message})
			},
		},
	})
}

func targetOf(inst fleet.Instance) healthcheck.Target {
	return healthcheck.Target{ID: inst.ID, IP: inst.IP.String(), Port: inst.Port}
}

// startMetadataService runs the instance's own metadata service on its IP.
func (e *Env) startMetadataService(_ context.Context, inst fleet.Instance) ([]string, func(), error) {
	mo := e.cfg.Instances.MetadataOptions
	srv, err := imds.New(imds.NewInstance(inst.ID, inst.IP.String(), e.cfg.Region),
		imds.Options{TokensRequired: mo.HTTPTokens == "required", Logger: e.log})
	if err != nil {
		return nil, nil, err
	}
	addr := net.JoinHostPort(inst.IP.String(), strconv.Itoa(mo.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metadata service of instance %s on %s: %w", inst.ID, addr, err)
	}
	hs := srv.HTTPServer()
	go hs.Serve(ln)
	e.mu.Lock()
	e.imds[inst.ID] = hs
	e.mu.Unlock()
	cleanup := func() {
		hs.Close()
		e.mu.Lock()
		delete(e.imds, inst.ID)
		e.mu.Unlock()
	}
	return []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + addr}, cleanup, nil
}

func (e *Env) baseDir() string {
	if e.cfg.File == "" {
		wd, _ := os.Getwd()
		return wd
	}
	return filepath.Dir(e.cfg.File)
}

func openAccessLog(cfg *config.Config) (io.Writer, error) {
	al := cfg.LoadBalancer.AccessLogs
	if !al.Enabled {
		return nil, nil
	}
	if al.Path == "-" {
		return os.Stdout, nil
	}
	path := al.Path
	if !filepath.IsAbs(path) && cfg.File != "" {
		path = filepath.Join(filepath.Dir(cfg.File), path)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	return f, nil
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
			return diagnose.Diagnoser{Logger: e.log, PublicHost: e.Config().LoadBalancer.PublicHost}.Diagnose(ctx, t, s, r)
		},
		Diagnosed: e.printDiagnosis,
	})
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

func (rs recorders) RecordResponse(rec proxy.ResponseRecord) {
	for _, r := range rs {
		r.RecordResponse(rec)
	}
}

// ConsoleURL is the console's base URL.
func (e *Env) ConsoleURL() string { return "http://" + e.consoleAddr }

// monitorRecorder counts each proxied response for the instance that gave
// it, and the load balancer's own errors for the environment.
type monitorRecorder struct{ m *monitor.Monitor }

func (r monitorRecorder) RecordResponse(rec proxy.ResponseRecord) {
	if rec.Target.ID == "" { // never forwarded: no target to count it for
		r.m.RecordELBResponse(rec.StatusCode)
		return
	}
	latency := rec.TargetLatency
	if latency == 0 {
		latency = rec.Latency
	}
	// TargetStatusCode 0: the load balancer answered 502/504 for this
	// instance, which the monitor counts as the ELB's error, not the app's.
	r.m.RecordRequest(rec.Target.ID, rec.TargetStatusCode, latency)
}
