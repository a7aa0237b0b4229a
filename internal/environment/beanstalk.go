package environment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/elbow-lb/elbow/internal/ebengine"
	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// beanstalk runs an Elastic Beanstalk project: every instance runs elbow's
// deployment engine (package ebengine) on the project, and the engine's
// events become the environment's.
type beanstalk struct {
	plan     *ebengine.Plan
	specPath string
	leader   atomic.Bool  // the first instance prepared leads (leader_only commands)
	deployed atomic.Int32 // instances that completed their first deployment
	launched atomic.Bool
	// deployments counts each instance's ended deployments, for
	// deployTarget to wait on.
	deployments engineDeployments
}

// startBeanstalk writes the engine's spec and says what elbow does and
// does not apply, as Beanstalk's first events do.
func (e *Env) startBeanstalk() error {
	if e.opts.Beanstalk == nil {
		return nil
	}
	b := &beanstalk{plan: e.opts.Beanstalk}
	b.specPath = filepath.Join(b.plan.Spec.RunDir, "spec.json")
	e.beanstalk = b
	e.events(Event{Time: time.Now(), Source: SourceInstance, Severity: "INFO", Message: "createEnvironment is starting."})
	for _, n := range b.plan.Notices {
		e.events(Event{Time: time.Now(), Source: SourceInstance, Severity: n.Severity, Message: n.Message})
	}
	if err := b.plan.Spec.Write(b.specPath); err != nil {
		return fmt.Errorf("writing the deployment spec: %w", err)
	}
	return nil
}

// engineCommand is each instance's command: the engine on the spec.
func (e *Env) engineCommand(specPath string) ([]string, error) {
	exe, err := e.executable("the deployment engine")
	if err != nil {
		return nil, err
	}
	return []string{exe, "eb-engine", specPath}, nil
}

// executable is the elbow binary, which runs the sample app and the
// deployment engine (for names the use, in an error).
func (e *Env) executable(use string) (string, error) {
	if e.opts.Executable != "" {
		return e.opts.Executable, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the elbow binary for %s: %w", use, err)
	}
	return exe, nil
}

// prepareBeanstalk marks the first instance as the leader, then starts the
// metadata service as for any instance.
func (e *Env) prepareBeanstalk(ctx context.Context, inst fleet.Instance) ([]string, func(), error) {
	env, cleanup, err := e.startMetadataService(ctx, inst)
	if err != nil {
		return nil, nil, err
	}
	if e.beanstalk.leader.CompareAndSwap(false, true) {
		env = append(env, "ELBOW_EB_LEADER=1")
	}
	return env, cleanup, nil
}

// engineOutput turns the engine's event lines into events, and says when
// the environment has launched.
func (e *Env) engineOutput(inst fleet.Instance, line string) {
	ev, ok := ebengine.ParseEvent(line)
	if !ok {
		return
	}
	e.events(Event{Time: time.Now(), Source: SourceInstance, Severity: ev.Severity, Message: ev.Message})
	if ev.Message == errEngineFailed.Error() {
		e.beanstalk.deployments.end(inst.ID, false)
	}
	if ev.Message == "Instance deployment completed successfully." {
		e.beanstalk.deployments.end(inst.ID, true)
		b := e.beanstalk
		if int(b.deployed.Add(1)) >= e.Config().Instances.Min && b.launched.CompareAndSwap(false, true) {
			e.events(Event{Time: time.Now(), Source: SourceInstance, Severity: "INFO",
				Message: fmt.Sprintf("Successfully launched environment: %s", e.Config().Name)})
		}
	}
}

// instanceLogDir is the folder of t's instance's logs, for the diagnosis to
// quote: a Beanstalk project's instances keep nginx's and the app's logs
// there (package ebengine).
func (e *Env) instanceLogDir(t healthcheck.Target) (string, bool) {
	if e.beanstalk != nil {
		return filepath.Join(e.beanstalk.plan.Spec.LogDir, t.ID), true
	}
	// Any other instance: its folder holds web.stdout.log, a link to the
	// instance's output (linkInstanceLog).
	e.mu.Lock()
	dir := e.logDir
	e.mu.Unlock()
	if dir == "" {
		return "", false
	}
	return filepath.Join(dir, t.ID), true
}

// linkInstanceLog gives an instance that is not a Beanstalk project's the
// folder layout Beanstalk's instances have (<log_dir>/<id>/web.stdout.log,
// a link to the fleet's <id>.log), so that the diagnosis quotes the app's
// own lines and elbow logs prints them, for any app.
func (e *Env) linkInstanceLog(logDir, id string) {
	dir := filepath.Join(logDir, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.log.Debug("instance log folder", "err", err)
		return
	}
	link := filepath.Join(dir, "web.stdout.log")
	os.Remove(link)
	if err := os.Symlink(filepath.Join("..", id+".log"), link); err != nil {
		e.log.Debug("instance log link", "err", err)
	}
}
