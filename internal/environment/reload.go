package environment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// ErrNeedsRestart marks a change that cannot apply to a running environment.
var ErrNeedsRestart = errors.New("needs a restart of elbow up")

// Reload applies a new, validated config to the running environment: health
// check settings, deregistration delays, listeners (added, removed, their
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

	var applied []string
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
			s, _ := tg.HealthCheck.Settings() // validated at load
			g.ModifyHealthCheck(s)
			applied = append(applied, fmt.Sprintf("target group %s health check: %s", tg.Name, describeHealthCheck(tg.HealthCheck)))
		}
		if touched(diff, at+".deregistration_delay") {
			g.SetDeregistrationDelay(time.Duration(tg.DeregistrationDelay) * time.Second)
			applied = append(applied, fmt.Sprintf("target group %s deregistration delay: %d s", tg.Name, tg.DeregistrationDelay))
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
	return applied, nil
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
	s, err := hc.Settings()
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
