package environment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/proxy"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// ErrNeedsRestart marks a change that cannot apply to a running environment.
var ErrNeedsRestart = errors.New("needs a restart of elbow up")

// Reload applies a new, validated config to the running environment: the
// load balancer's attributes (idle timeout, access logs, invalid header
// fields, desync mitigation mode), health check settings, deregistration
// delays, slow start and algorithms, listeners (added, removed, their
// rules and actions), target groups, and the instance count. It checks the whole change first:
// if any part cannot apply live, nothing is applied and the error lists
// every such part (errors.Is ErrNeedsRestart), so the running environment is
// left exactly as it was.
func (e *Env) Reload(ctx context.Context, next *config.Config) ([]string, error) {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	cur := e.cfg
	diff := config.Diff(cur, next)
	if err := needsRestart(diff); err != nil {
		return nil, err
	}
	if e.fleet == nil {
		// The targets run elsewhere: elbow does not change what they run.
		var errs []error
		for _, c := range config.Updates(diff) {
			errs = append(errs, fmt.Errorf("%s changed: the targets run elsewhere (instances.targets): elbow does not change what they run", c.Path))
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
	}
	updateInstances := e.fleet != nil && len(config.Updates(diff)) > 0
	capacity := touched(diff, "instances.min") || touched(diff, "instances.max")
	if e.fleet != nil && (updateInstances || capacity) {
		// Neither an update nor a scaling activity may start meanwhile;
		// a capacity change in an update would terminate its new instances.
		e.upd.activity.Lock()
		defer e.upd.activity.Unlock()
		if e.Updating() {
			return nil, e.errInProgress()
		}
	}

	var applied []string
	// The load balancer's attributes first: an access log that cannot be
	// opened is an error before anything changes.
	if touched(diff, "load_balancer") {
		a, err := proxy.AttributesOf(next)
		if err != nil {
			return nil, err
		}
		if err := e.proxy.SetAttributes(a); err != nil {
			return nil, fmt.Errorf("load_balancer: %w", err)
		}
		applied = append(applied, describeAttributes(diff, next.LoadBalancer)...)
	}
	// New target groups first, so that routes can point at them. The map
	// holds next's groups only: a removed group leaves Groups (and the
	// console's list) with its checker.
	groups := make(map[string]*targetgroup.Group, len(next.TargetGroups))
	var started []*targetgroup.Group
	for _, tg := range next.TargetGroups {
		if g := e.groups[tg.Name]; g != nil {
			groups[tg.Name] = g
			continue
		}
		g, err := e.newGroup(tg)
		if err != nil {
			return nil, err
		}
		groups[tg.Name] = g
		started = append(started, g)
		applied = append(applied, fmt.Sprintf("target group %s added", tg.Name))
	}
	changes, err := e.proxy.Reconfigure(ctx, next, groups)
	if err != nil && changes == nil {
		return nil, fmt.Errorf("listeners: %w", err) // nothing changed yet: new groups have no targets
	}
	for _, c := range changes {
		verb := "removed"
		if c.Added {
			verb = "added"
		}
		applied = append(applied, fmt.Sprintf("listener %s %s %s", c.Listener.Protocol(), c.Listener.URL(), verb))
	}
	if err != nil {
		applied = append(applied, fmt.Sprintf("but: %v", err))
	}
	if touched(diff, "listeners") && len(changes) == 0 {
		applied = append(applied, "listener rules and actions")
	}
	for _, g := range started {
		e.runGroup(g)
	}
	for _, tg := range next.TargetGroups {
		old := cur.TargetGroup(tg.Name)
		if old == nil {
			continue
		}
		g := groups[tg.Name]
		at := "target_groups[" + tg.Name + "]"
		if touched(diff, at+".health_check") {
			s, _ := tg.HealthCheck.Settings(tg.ProtocolVersion) // validated at load
			g.ModifyHealthCheck(s)
			applied = append(applied, fmt.Sprintf("target group %s health check: %s", tg.Name, describeHealthCheck(tg.HealthCheck)))
		}
		if touched(diff, at+".deregistration_delay") {
			g.SetDeregistrationDelay(time.Duration(tg.DeregistrationDelay) * time.Second)
			applied = append(applied, fmt.Sprintf("target group %s deregistration delay: %d s", tg.Name, tg.DeregistrationDelay))
		}
		if touched(diff, at+".slow_start") {
			g.SetSlowStart(time.Duration(tg.SlowStart) * time.Second)
			applied = append(applied, fmt.Sprintf("target group %s slow start: %d s", tg.Name, tg.SlowStart))
		}
		if touched(diff, at+".load_balancing_algorithm_type") {
			g.SetAlgorithm(targetgroup.Algorithm(tg.LoadBalancingAlgorithmType))
			applied = append(applied, fmt.Sprintf("target group %s load balancing algorithm: %s", tg.Name, g.Algorithm()))
		}
	}
	for _, tg := range cur.TargetGroups {
		if next.TargetGroup(tg.Name) == nil {
			e.stopGroup(tg.Name)
			applied = append(applied, fmt.Sprintf("target group %s removed", tg.Name))
		}
	}
	e.mu.Lock()
	e.groups = groups
	e.cfg = next
	e.mu.Unlock()

	if e.fleet != nil && (touched(diff, "instances.min") || touched(diff, "instances.max")) {
		if err := e.fleet.SetCapacity(ctx, next.Instances.Min, next.Instances.Max); err != nil {
			return applied, fmt.Errorf("instance count: %w", err)
		}
		e.monitor.SetCapacity(next.Instances.Min, e.online())
		applied = append(applied, fmt.Sprintf("instances: min %d, max %d", next.Instances.Min, next.Instances.Max))
	}
	applied = append(applied, e.applyUpdatePolicies(diff, next)...)
	if updateInstances {
		msg, err := e.startConfigurationUpdate(cur, next, diff)
		if err != nil {
			return applied, fmt.Errorf("instances: %w", err)
		}
		applied = append(applied, msg)
	}
	return applied, nil
}

// describeAttributes says which load balancer attributes a reload applied,
// with their new values.
func describeAttributes(diff []config.Change, lb config.LoadBalancer) []string {
	var out []string
	if touched(diff, "load_balancer.idle_timeout") {
		out = append(out, fmt.Sprintf("load balancer idle timeout: %d s", lb.IdleTimeout))
	}
	if touched(diff, "load_balancer.drop_invalid_header_fields") {
		out = append(out, fmt.Sprintf("load balancer drop invalid header fields: %t", lb.DropInvalidHeaderFields))
	}
	if touched(diff, "load_balancer.http2_enabled") {
		out = append(out, fmt.Sprintf("load balancer HTTP/2: %t", lb.HTTP2()))
	}
	if touched(diff, "load_balancer.desync_mitigation_mode") {
		out = append(out, "load balancer desync mitigation mode: "+lb.DesyncMitigationMode)
	}
	if touched(diff, "load_balancer.access_logs") {
		if lb.AccessLogs.Enabled {
			out = append(out, "load balancer access logs: enabled, to "+cmp.Or(lb.AccessLogs.Path, "-"))
		} else {
			out = append(out, "load balancer access logs: disabled")
		}
	}
	return out
}

// needsRestart lists every change that cannot apply live, one error each
// naming the key (errors.Is ErrNeedsRestart).
func needsRestart(diff []config.Change) error {
	var errs []error
	for _, c := range config.Restarts(diff) {
		errs = append(errs, fmt.Errorf("%s changed: %w", c.Path, ErrNeedsRestart))
	}
	return errors.Join(errs...)
}

// touched reports whether the diff changes the key at path or anything under it.
func touched(diff []config.Change, path string) bool {
	for _, c := range diff {
		if c.Path == path || strings.HasPrefix(c.Path, path+".") || strings.HasPrefix(c.Path, path+"[") {
			return true
		}
	}
	return false
}

// ModifyHealthCheck changes one target group's health check (and,
// when delay is not nil, its deregistration delay) at run time. The block
// must be valid (config.ValidateHealthCheck); the change applies from each
// target's next probe.
func (e *Env) ModifyHealthCheck(group string, hc config.HealthCheck, delay *int) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	e.mu.Lock()
	g := e.groups[group]
	e.mu.Unlock()
	if g == nil {
		return fmt.Errorf("target group %q: %w", group, console.ErrTargetGroupNotFound)
	}
	s, err := hc.Settings(g.ProtocolVersion())
	if err != nil {
		return fmt.Errorf("target group %q: %w", group, err)
	}
	next := *e.cfg
	next.TargetGroups = append([]config.TargetGroup(nil), e.cfg.TargetGroups...)
	for i := range next.TargetGroups {
		if next.TargetGroups[i].Name == group {
			next.TargetGroups[i].HealthCheck = hc
			if delay != nil {
				next.TargetGroups[i].DeregistrationDelay = *delay
			}
		}
	}
	g.ModifyHealthCheck(s)
	if delay != nil {
		g.SetDeregistrationDelay(time.Duration(*delay) * time.Second)
	}
	e.mu.Lock()
	e.cfg = &next
	e.mu.Unlock()
	e.events(Event{Time: time.Now(), Source: SourceTarget, Severity: "INFO", Group: group,
		Message: fmt.Sprintf("Target group %s modified: health check %s.", group, describeHealthCheck(hc))})
	return nil
}

func describeHealthCheck(h config.HealthCheck) string {
	return fmt.Sprintf("%s %s port %s, interval %d s, timeout %d s, healthy %d, unhealthy %d, matcher %s",
		h.Protocol, h.Path, h.Port, h.Interval, h.Timeout, h.HealthyThreshold, h.UnhealthyThreshold, h.Matcher)
}
