package environment

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/deploy"
	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// SourceDeploy events are a deployment's or configuration update's.
const SourceDeploy EventSource = "deploy"

// deployTarget is the environment as package deploy sees it.
type deployTarget struct{ e *Env }

var _ deploy.Environment = deployTarget{}

func (d deployTarget) Name() string { return d.e.Config().Name }

func (d deployTarget) Members() []deploy.Member {
	var list []fleet.InstanceStatus
	for _, st := range d.e.fleet.Instances() {
		if st.State == fleet.StateRunning || st.State == fleet.StateRestarting || st.State == fleet.StatePending {
			list = append(list, st)
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].LaunchTime.Before(list[j].LaunchTime) })
	out := make([]deploy.Member, len(list))
	for i, st := range list {
		out[i] = deploy.Member{ID: st.ID, Release: deploy.Release{Label: st.Version, Deployment: st.Deployment}}
	}
	return out
}

func (d deployTarget) target(id string) (healthcheck.Target, error) {
	d.e.mu.Lock()
	t, ok := d.e.targets[id]
	d.e.mu.Unlock()
	if !ok {
		return t, fmt.Errorf("instance %s: %w", id, fleet.ErrUnknownInstance)
	}
	return t, nil
}

func (d deployTarget) Deregister(ctx context.Context, id string) error {
	t, err := d.target(id)
	if err != nil {
		return err
	}
	select {
	case <-d.e.instanceGroup().Deregister(t):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d deployTarget) Register(id string) {
	if t, err := d.target(id); err == nil {
		d.e.instanceGroup().Register(t)
	}
}

// Redeploy runs release r on the instance in place. A Beanstalk project's
// instance has completed its command once its engine says so; any other
// once its process started.
func (d deployTarget) Redeploy(ctx context.Context, id string, r deploy.Release) error {
	t, ok := d.e.template(r.Deployment)
	if !ok {
		return fmt.Errorf("deployment %d: no such release", r.Deployment)
	}
	b := d.e.beanstalk
	before := 0
	if b != nil {
		before = b.deployments.count(id)
	}
	err := d.e.fleet.Redeploy(ctx, id, t)
	// What the instance runs now, even when its start failed: the fleet
	// keeps restarting the new release.
	if st, ok := d.e.fleet.Status(id); ok {
		d.e.monitor.SetInstanceVersion(id, st.Version, st.Deployment)
	}
	if err != nil || b == nil {
		return err
	}
	return b.deployments.wait(ctx, id, before)
}

func (d deployTarget) Launch(ctx context.Context, r deploy.Release) (string, error) {
	t, ok := d.e.template(r.Deployment)
	if !ok {
		return "", fmt.Errorf("deployment %d: no such release", r.Deployment)
	}
	inst, err := d.e.fleet.LaunchWith(ctx, t, true)
	if err != nil {
		return "", err
	}
	if b := d.e.beanstalk; b != nil {
		// The engine says when the instance is deployed; bounded by the
		// command timeout, as Beanstalk bounds a command.
		wctx, cancel := context.WithTimeout(ctx, time.Duration(d.e.Config().Deployment.Timeout)*time.Second)
		defer cancel()
		if err := b.deployments.wait(wctx, inst.ID, 0); err != nil {
			// The deployment does not know the instance: it must not stay.
			stop, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancelStop()
			_ = d.e.fleet.Terminate(stop, inst.ID)
			return "", err
		}
	}
	return inst.ID, nil
}

func (d deployTarget) Terminate(ctx context.Context, id string) error {
	return d.e.fleet.Terminate(ctx, id)
}

func (d deployTarget) Health(id string) deploy.Health {
	var h deploy.Health
	if t, err := d.target(id); err == nil {
		h.ELBHealthy = d.e.instanceGroup().Health(t).State == healthcheck.StateHealthy
	}
	h.Status = "NoData"
	for _, in := range d.e.monitor.InstancesHealth().InstanceHealthList {
		if in.InstanceId == id {
			h.Status = string(in.HealthStatus)
		}
	}
	return h
}

func (d deployTarget) SplitTraffic(newIDs []string, percent int) {
	d.e.instanceGroup().SetSplit(newIDs, percent)
}

func (d deployTarget) Event(severity, message string) {
	if d.e.beanstalk != nil && message == "Instance deployment completed successfully." {
		return // each instance's engine says it already
	}
	d.e.events(Event{Time: time.Now(), Source: SourceDeploy, Severity: severity, Message: message})
}

func (d deployTarget) Progress(p deploy.Progress) {
	d.e.monitor.SetUpdate(monitor.Update{
		Updating: p.Updating, Commands: p.Commands, Total: p.Total,
		ExpectedLabel: p.Expected.Label, ExpectedDeployment: p.Expected.Deployment,
	})
}

// instanceGroup is the target group the instances register in.
func (e *Env) instanceGroup() *targetgroup.Group {
	return e.Group(e.Config().Instances.TargetGroup)
}

// Conversions from the configuration to package deploy's values.

func policyOf(c config.Deployment) deploy.Policy {
	return deploy.Policy{
		Type: c.Policy, BatchSizeType: c.BatchSizeType, BatchSize: c.BatchSize,
		Timeout:                     time.Duration(c.Timeout) * time.Second,
		IgnoreHealthCheck:           c.IgnoreHealthCheck,
		HealthCheckSuccessThreshold: c.HealthCheckSuccessThreshold,
		NewVersionPercent:           c.NewVersionPercent,
		EvaluationTime:              time.Duration(c.EvaluationTime) * time.Second,
	}
}

func gateOf(c config.Deployment) deploy.Gate {
	return deploy.Gate{Checks: c.HealthGate.Checks, Window: time.Duration(c.HealthGate.Window) * time.Second}
}

// rollingOf is the rolling-update policy with Beanstalk's defaults for the
// values left unset: MaxBatchSize one third of MinSize rounded up,
// MinInstancesInService min(MinSize, MaxSize-1)
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html#command-options-general-autoscalingupdatepolicyrollingupdate).
func rollingOf(c config.RollingUpdate, minSize, maxSize int) deploy.RollingUpdate {
	r := deploy.RollingUpdate{
		Enabled: c.Enabled, Type: c.Type, MaxBatchSize: c.MaxBatchSize, MinInstancesInService: c.MinInstancesInService,
		PauseTime: time.Duration(c.PauseTime) * time.Second, Timeout: time.Duration(c.Timeout) * time.Second,
	}
	if r.MaxBatchSize == 0 {
		r.MaxBatchSize = max(1, int(math.Ceil(float64(minSize)/3)))
	}
	if r.MinInstancesInService < 0 {
		r.MinInstancesInService = min(minSize, maxSize-1)
	}
	r.Type = cmp.Or(r.Type, "Time")
	return r
}

// instanceEnv is the instances' variables as the fleet takes them, sorted.
func instanceEnv(m map[string]string) []string {
	env := make([]string, 0, len(m))
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

// Each instance's engine deployments, counted as they end, so that a
// caller can wait for the one it started (the engine's "Instance deployment
// completed successfully." or "Instance deployment failed." lines).
type engineDeployments struct {
	mu      sync.Mutex
	ended   map[string]engineResult
	changed chan struct{} // closed and replaced at each end
}

type engineResult struct {
	count int  // deployments ended on the instance
	ok    bool // how the last ended
}

func (d *engineDeployments) count(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ended[id].count
}

// ended records how an instance's deployment ended.
func (d *engineDeployments) end(id string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ended == nil {
		d.ended = map[string]engineResult{}
	}
	r := d.ended[id]
	d.ended[id] = engineResult{count: r.count + 1, ok: ok}
	if d.changed != nil {
		close(d.changed)
	}
	d.changed = make(chan struct{})
}

// wait returns how the instance's deployment after the after-th ended.
func (d *engineDeployments) wait(ctx context.Context, id string, after int) error {
	for {
		d.mu.Lock()
		r := d.ended[id]
		if d.changed == nil {
			d.changed = make(chan struct{})
		}
		ch := d.changed
		d.mu.Unlock()
		if r.count > after {
			if !r.ok {
				return fmt.Errorf("instance %s: %w", id, errEngineFailed)
			}
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// errEngineFailed is Beanstalk's event for an instance whose deployment failed.
var errEngineFailed = errors.New("Instance deployment failed. For details, see 'eb-engine.log'.") //nolint:staticcheck // Beanstalk's words
