package environment

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/elbow-lb/elbow/internal/appversion"
	"github.com/elbow-lb/elbow/internal/autoscale"
	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/deploy"
	"github.com/elbow-lb/elbow/internal/ebengine"
	"github.com/elbow-lb/elbow/internal/ebproject"
	"github.com/elbow-lb/elbow/internal/fleet"
)

// Deployments and configuration updates: the environment keeps the
// releases its instances may run (deployment number -> fleet template),
// turns `elbow deploy` into an application version and a deployment, and a
// change of an instance setting into a configuration update. Package deploy
// decides the batches and the gate; this file only gives it the environment
// (deployTarget, in deploytarget.go).

// ErrNoFleet refuses a deployment to an environment whose targets run elsewhere.
var ErrNoFleet = errors.New("this environment registers targets that run elsewhere (instances.targets): elbow has no instances to deploy to")

// updates is the environment's deployment state.
type updates struct {
	// activity serialises what changes the instances: starting an update,
	// and scaling (a capacity change, the scaler, a replacement). Beanstalk
	// suspends scaling while an update runs; an update does not start
	// while a scaling activity runs.
	activity sync.Mutex
	mu       sync.Mutex
	releases map[int]fleet.Template // by deployment number
	last     int                    // the highest deployment number given out
	// current is the release the environment runs: the last that completed
	// (Beanstalk's environment VersionLabel); failed ones do not change it.
	current deploy.Release
	updated time.Time
}

// startUpdates records the release `elbow up` started (deployment 1) and
// builds the deployer.
func (e *Env) startUpdates() error {
	e.upd.releases = map[int]fleet.Template{}
	if e.fleet == nil {
		// Targets that run elsewhere: one version, what they run.
		e.upd.current = deploy.Release{Label: initialLabel(e.cfg, e.started), Deployment: 1}
		e.upd.updated = e.started
		return nil
	}
	t := e.fleet.Template()
	e.upd.mu.Lock()
	e.upd.releases[t.Deployment] = t
	e.upd.last = t.Deployment
	e.upd.current = deploy.Release{Label: t.Version, Deployment: t.Deployment}
	e.upd.updated = time.Now()
	e.upd.mu.Unlock()
	store, err := appversion.NewStore(filepath.Join(e.baseDir(), ".elbow", "versions"))
	if err != nil {
		return fmt.Errorf("application versions: %w", err)
	}
	e.versions = store
	e.deployer = deploy.New(deployTarget{e}, deploy.Options{Gate: gateOf(e.cfg.Deployment), Logger: e.log})
	return nil
}

// initialLabel is the version label of what `elbow up` starts, as
// Beanstalk names the sample application's version, else as the EB CLI
// labels the versions it uploads.
func initialLabel(c *config.Config, now time.Time) string {
	if c.Instances.SampleApp {
		return "Sample Application"
	}
	return appversion.NewLabel(now)
}

// deploy makes an application version of the source folder as it is now
// and deploys it with the configured policy. It returns once the version
// exists and the deployment started; the deployment's events tell the rest.
func (e *Env) deploy(label, description string) (deploy.Release, error) {
	if e.deployer == nil {
		return deploy.Release{}, ErrNoFleet
	}
	if e.deployer.Running() {
		return deploy.Release{}, e.errInProgress()
	}
	v, err := e.createVersion(label, description)
	if err != nil {
		return deploy.Release{}, err
	}
	return e.deployVersion(v.Label)
}

// deployVersion deploys an application version that exists (UpdateEnvironment
// with a VersionLabel).
func (e *Env) deployVersion(label string) (deploy.Release, error) {
	if e.deployer == nil {
		return deploy.Release{}, ErrNoFleet
	}
	if !e.upd.activity.TryLock() {
		return deploy.Release{}, e.errInProgress() // a scaling activity or a reload runs
	}
	defer e.upd.activity.Unlock()
	if e.deployer.Running() {
		return deploy.Release{}, e.errInProgress()
	}
	var t fleet.Template
	if v, ok := e.versions.Get(label); ok {
		var err error
		if t, err = e.templateOfVersion(e.fleet.Template(), v); err != nil {
			return deploy.Release{}, err
		}
	} else if initial, _ := e.template(1); label == initial.Version {
		// What elbow up started, from the folder itself: the settings
		// stay the current ones.
		t = e.fleet.Template()
		t.Version, t.Dir, t.Command = initial.Version, initial.Dir, slices.Clone(initial.Command)
	} else {
		return deploy.Release{}, &console.InvalidParameterError{Message: fmt.Sprintf("No Application Version named '%s' found.", label)}
	}
	rel := e.newRelease(t)
	policy := policyOf(e.Config().Deployment)
	if err := e.startUpdate(rel, func(ctx context.Context) error { return e.deployer.Deploy(ctx, rel, policy) }); err != nil {
		return deploy.Release{}, err
	}
	return rel, nil
}

// startUpdate runs an update of the deployer until it ends, counted in the
// environment's goroutines so that Stop waits for it. The caller holds
// e.upd.activity.
func (e *Env) startUpdate(rel deploy.Release, run func(ctx context.Context) error) error {
	e.done.Add(1)
	err := e.deployer.Start(e.runCtx, run, func(err error) {
		defer e.done.Done()
		e.finishUpdate(rel, err)
	})
	return e.updateError(err)
}

// newRelease numbers t as the next deployment and keeps it.
func (e *Env) newRelease(t fleet.Template) deploy.Release {
	e.upd.mu.Lock()
	defer e.upd.mu.Unlock()
	e.upd.last++
	t.Deployment = e.upd.last
	e.upd.releases[t.Deployment] = t
	return deploy.Release{Label: t.Version, Deployment: t.Deployment}
}

// finishUpdate makes a release that completed what new instances run
// (Beanstalk replaces instances with the last successful version).
func (e *Env) finishUpdate(rel deploy.Release, err error) {
	if err != nil {
		e.log.Info("update ended", "deployment", rel.Deployment, "err", err)
		return
	}
	t, ok := e.template(rel.Deployment)
	if !ok {
		return
	}
	e.fleet.SetTemplate(t)
	e.upd.mu.Lock()
	e.upd.current = rel
	e.upd.updated = time.Now()
	e.upd.mu.Unlock()
}

func (e *Env) template(deployment int) (fleet.Template, bool) {
	e.upd.mu.Lock()
	defer e.upd.mu.Unlock()
	t, ok := e.upd.releases[deployment]
	return t, ok
}

// CurrentRelease is the version the environment runs (its VersionLabel).
func (e *Env) CurrentRelease() (deploy.Release, time.Time) {
	e.upd.mu.Lock()
	defer e.upd.mu.Unlock()
	return e.upd.current, e.upd.updated
}

// createVersion makes an application version of the source folder as it
// is now (CreateApplicationVersion).
func (e *Env) createVersion(label, description string) (appversion.Version, error) {
	if e.versions == nil {
		return appversion.Version{}, ErrNoFleet
	}
	now := time.Now()
	if label == "" {
		label = appversion.NewLabel(now)
	}
	if err := appversion.ValidateLabel(label); err != nil {
		return appversion.Version{}, &console.InvalidParameterError{Message: err.Error()}
	}
	src := e.sourceDir()
	if e.Config().Instances.SampleApp {
		// The sample app is elbow itself: its version has no files, and
		// copying the folder elbow runs in (a home directory) would be wrong.
		empty, err := os.MkdirTemp("", "elbow-sample-version-")
		if err != nil {
			return appversion.Version{}, err
		}
		defer os.RemoveAll(empty)
		src = empty
	}
	v, err := e.versions.Create(src, label, description, now)
	if errors.Is(err, appversion.ErrExists) {
		return v, &console.InvalidParameterError{Message: err.Error()}
	}
	return v, err
}

// Updating reports whether a deployment or configuration update runs.
func (e *Env) Updating() bool { return e.deployer != nil && e.deployer.Running() }

func (e *Env) errInProgress() error {
	return e.updateError(deploy.ErrUpdateInProgress)
}

// updateError gives package deploy's refusals the console's sentinels,
// which the console and the Elastic Beanstalk API word as AWS does.
func (e *Env) updateError(err error) error {
	switch {
	case errors.Is(err, deploy.ErrUpdateInProgress):
		return fmt.Errorf("environment %s: %w", e.Config().Name, console.ErrUpdateInProgress)
	case errors.Is(err, deploy.ErrNoUpdate):
		return fmt.Errorf("environment %s: %w", e.Config().Name, console.ErrNoUpdate)
	case errors.Is(err, deploy.ErrInvalid):
		return &console.InvalidParameterError{Message: err.Error()}
	}
	return err
}

// sourceDir is the folder an application version copies: a Beanstalk
// project's folder, else the instances' dir (or the config's folder).
func (e *Env) sourceDir() string {
	if e.beanstalk != nil {
		return e.beanstalk.plan.Spec.ProjectDir
	}
	if d := e.Config().Instances.Dir; d != "" {
		if filepath.IsAbs(d) {
			return d
		}
		return filepath.Join(e.baseDir(), d)
	}
	return e.baseDir()
}

// templateOfVersion is what an instance runs for version v: the command in
// the version's copy, or for a Beanstalk project the engine on a spec of
// the version's project.
func (e *Env) templateOfVersion(base fleet.Template, v appversion.Version) (fleet.Template, error) {
	t := base
	t.Version = v.Label
	t.Env = slices.Clone(base.Env)
	t.Command = slices.Clone(base.Command)
	if e.beanstalk == nil {
		t.Dir = v.SourceDir
		return t, nil
	}
	p, err := ebproject.Load(v.SourceDir, ebproject.Options{})
	if err != nil {
		return t, &console.InvalidParameterError{Message: fmt.Sprintf("application version %s: %v", v.Label, err)}
	}
	spec := e.beanstalk.plan.Spec
	plan, err := ebengine.NewPlan(p, e.configCopy(), spec.LogDir, spec.RunDir)
	if err != nil {
		return t, &console.InvalidParameterError{Message: fmt.Sprintf("application version %s: %v", v.Label, err)}
	}
	// The instances stay where the load balancer reaches them: reading
	// the project again while their nginx holds port 80 would choose 10080.
	if plan.Spec.Proxy == spec.Proxy {
		plan.Spec.InstancePort = spec.InstancePort
	}
	path := filepath.Join(spec.RunDir, "spec-"+safeName(v.Label)+".json")
	if err := plan.Spec.Write(path); err != nil {
		return t, fmt.Errorf("writing the deployment spec: %w", err)
	}
	if t.Command, err = e.engineCommand(path); err != nil {
		return t, err
	}
	return t, nil
}

// configCopy is a deep copy of the running configuration.
func (e *Env) configCopy() *config.Config {
	cur := e.Config()
	data, err := config.Marshal(cur)
	if err != nil {
		return cur
	}
	c, err := config.Parse(cur.File, data)
	if err != nil {
		return cur
	}
	return c
}

// safeName keeps a version label usable as a file name.
func safeName(label string) string {
	b := []byte(label)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

// startConfigurationUpdate applies a change of the instances' settings as
// Beanstalk applies a configuration change: a rolling update when
// aws:autoscaling:updatepolicy:rollingupdate enables it, else on every
// instance at once. It returns what it started, for Reload's list.
func (e *Env) startConfigurationUpdate(cur, next *config.Config, diff []config.Change) (string, error) {
	base := e.fleet.Template()
	t := base
	t.Env = instanceEnv(next.Instances.Env)
	t.Port = next.Instances.Port
	if e.beanstalk == nil {
		argv, err := e.instanceCommand(next)
		if err != nil {
			return "", err
		}
		t.Command = argv
		if touched(diff, "instances.dir") {
			t.Dir = next.Instances.Dir
			if t.Dir != "" && !filepath.IsAbs(t.Dir) {
				t.Dir = filepath.Join(e.baseDir(), t.Dir)
			}
		}
	}
	// A new port or metadata service needs new instances; the rest is
	// redeployed in place.
	replace := touched(diff, "instances.port") || touched(diff, "instances.metadata_options")
	rel := e.newRelease(t)
	rolling, policy := rollingOf(next.RollingUpdate, next.Instances.Min, next.Instances.Max), policyOf(next.Deployment)
	if err := e.startUpdate(rel, func(ctx context.Context) error {
		return e.deployer.UpdateConfiguration(ctx, rel, rolling, policy, replace)
	}); err != nil {
		return "", err
	}
	how := "on all instances at once"
	if rolling.Enabled {
		how = "as a rolling update (" + rolling.Type + ")"
	}
	return fmt.Sprintf("configuration update of the instances (deployment %d) started %s", rel.Deployment, how), nil
}

// instanceCommand is the argv of the instances for c: the sample app or
// the command.
func (e *Env) instanceCommand(c *config.Config) ([]string, error) {
	if !c.Instances.SampleApp {
		return c.Instances.Command.Args(), nil
	}
	exe, err := e.executable("the sample app")
	if err != nil {
		return nil, err
	}
	return []string{exe, "sample-app"}, nil
}

// applyUpdatePolicies takes the deployment, rolling-update and scaling
// settings from next; they are read when an update or a scaling activity
// starts, so nothing else needs to change.
func (e *Env) applyUpdatePolicies(diff []config.Change, next *config.Config) []string {
	var out []string
	if touched(diff, "deployment") {
		if e.deployer != nil {
			e.deployer.SetGate(gateOf(next.Deployment))
		}
		out = append(out, fmt.Sprintf("deployment policy: %s", next.Deployment.Policy))
	}
	if touched(diff, "rolling_update") {
		out = append(out, fmt.Sprintf("rolling update: enabled %t, type %s", next.RollingUpdate.Enabled, next.RollingUpdate.Type))
	}
	if touched(diff, "auto_scaling") || touched(diff, "instances.min") || touched(diff, "instances.max") {
		if e.scaler != nil {
			e.scaler.Update(autoscale.GroupOf(next), autoscale.TriggerOf(next))
		}
		if touched(diff, "auto_scaling") {
			out = append(out, "auto scaling: trigger "+next.AutoScaling.Trigger.MeasureName)
		}
	}
	return out
}
