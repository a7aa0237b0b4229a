package environment

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/appversion"
	"github.com/elbow-lb/elbow/internal/awsapi/arn"
	"github.com/elbow-lb/elbow/internal/awsapi/ebapi"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/deploy"
	"github.com/elbow-lb/elbow/internal/fleet"
)

// What `elbow deploy`, `abort`, `scale` and `status` reach through the
// console, and the Elastic Beanstalk API through ebapi: the environment
// is the console's Updates and ebapi's Updater.

var (
	_ console.Updates = (*Env)(nil)
	_ ebapi.Updater   = (*Env)(nil)
)

// Deploy snapshots the source folder as version label and starts deploying it.
func (e *Env) Deploy(_ context.Context, label, description string) (apiv1.DeployResult, error) {
	rel, err := e.deploy(label, description)
	if err != nil {
		return apiv1.DeployResult{}, err
	}
	return apiv1.DeployResult{VersionLabel: rel.Label, Deployment: rel.Deployment}, nil
}

// DeployVersion starts deploying an application version that exists.
func (e *Env) DeployVersion(_ context.Context, label string) (apiv1.DeployResult, error) {
	rel, err := e.deployVersion(label)
	if err != nil {
		return apiv1.DeployResult{}, err
	}
	return apiv1.DeployResult{VersionLabel: rel.Label, Deployment: rel.Deployment}, nil
}

// CreateVersion makes an application version of the source folder as it is now.
func (e *Env) CreateVersion(_ context.Context, label, description string) (apiv1.ApplicationVersion, error) {
	v, err := e.createVersion(label, description)
	if err != nil {
		return apiv1.ApplicationVersion{}, err
	}
	return apiv1.ApplicationVersion{ApplicationName: e.ApplicationName(), VersionLabel: v.Label,
		Description: v.Description, DateCreated: v.Created, Status: "Processed"}, nil
}

// Abort stops the update in progress (AbortEnvironmentUpdate).
func (e *Env) Abort() error {
	if e.deployer == nil {
		return e.updateError(deploy.ErrNoUpdate)
	}
	return e.updateError(e.deployer.Abort())
}

// Scale sets the desired capacity within the instance count's min and max.
// It answers once the value is accepted; the instances are launched, or
// drained and terminated, afterwards, as Auto Scaling's SetDesiredCapacity
// does, so that a client giving up does not cut the drains short.
func (e *Env) Scale(_ context.Context, desired int) error {
	if e.fleet == nil {
		return &console.InvalidParameterError{Message: ErrNoFleet.Error()}
	}
	cfg := e.Config()
	if desired < cfg.Instances.Min || desired > cfg.Instances.Max {
		return &console.InvalidParameterError{Message: fmt.Sprintf("desired capacity %d is outside the group's min %d and max %d",
			desired, cfg.Instances.Min, cfg.Instances.Max)}
	}
	if !e.upd.activity.TryLock() {
		return e.errInProgress() // an update starts, or a scaling activity runs
	}
	if e.Updating() {
		e.upd.activity.Unlock()
		return e.errInProgress()
	}
	e.done.Add(1)
	go func() {
		defer e.done.Done()
		defer e.upd.activity.Unlock()
		if err := e.fleet.SetDesired(e.runCtx, desired); err != nil && e.runCtx.Err() == nil {
			e.events(Event{Time: time.Now(), Source: SourceInstance, Severity: "WARN",
				Message: fmt.Sprintf("Setting the desired capacity to %d failed: %v", desired, err)})
		}
	}()
	return nil
}

// Status is the environment as `eb status` shows it; the console fills
// the health from enhanced health.
func (e *Env) Status() apiv1.EnvironmentStatus {
	cfg := e.Config()
	rel, updated := e.CurrentRelease()
	if e.deployer != nil {
		// The deployer's expected release changes with the update's end,
		// before the environment's own record of it (finishUpdate).
		if exp := e.deployer.Expected(); exp.Label != "" {
			rel = exp
		}
	}
	st := apiv1.EnvironmentStatus{
		ApplicationName: e.ApplicationName(), EnvironmentName: cfg.Name,
		EnvironmentId: arn.EnvironmentID(cfg.Name), Region: cfg.Region,
		VersionLabel: rel.Label, SolutionStackName: "elbow", Tier: "WebServer-Standard-1.0",
		DateUpdated: updated, Status: "Ready",
	}
	if st.DateUpdated.IsZero() {
		st.DateUpdated = e.started
	}
	if l := e.Listeners(); len(l) > 0 {
		st.CNAME = strings.TrimPrefix(strings.TrimPrefix(l[0].URL(), "http://"), "https://")
		st.CNAME = strings.TrimSuffix(st.CNAME, "/")
	}
	if e.Updating() {
		st.Status, st.AbortableOperationInProgress = "Updating", true
	}
	if e.fleet != nil {
		for _, in := range e.fleet.Instances() {
			if in.State == fleet.StateRunning || in.State == fleet.StateRestarting || in.State == fleet.StateDeploying {
				st.Instances++
			}
		}
		st.DesiredCapacity = e.fleet.Desired()
	} else {
		st.Instances = len(cfg.Instances.Targets)
	}
	return st
}

// Versions are the application versions, newest first.
func (e *Env) Versions() []apiv1.ApplicationVersion {
	var out []apiv1.ApplicationVersion
	initial, ok := e.template(1)
	if !ok {
		rel, _ := e.CurrentRelease()
		initial.Version = rel.Label
	}
	listed := false
	var stored []appversion.Version
	if e.versions != nil {
		stored = e.versions.List()
	}
	for _, v := range stored {
		listed = listed || v.Label == initial.Version
		out = append(out, apiv1.ApplicationVersion{ApplicationName: e.ApplicationName(), VersionLabel: v.Label,
			Description: v.Description, DateCreated: v.Created, Status: "Processed"})
	}
	if !listed && initial.Version != "" {
		// What elbow up started runs from the folder itself, not from a
		// copy in the store; it is a version all the same.
		out = append(out, apiv1.ApplicationVersion{ApplicationName: e.ApplicationName(), VersionLabel: initial.Version,
			Description: "started by elbow up from its folder", DateCreated: e.started, Status: "Processed"})
	}
	return out
}
