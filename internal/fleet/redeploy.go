package fleet

import (
	"context"
	"fmt"
)

// Template returns the template new instances run.
func (f *Fleet) Template() Template {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tmpl.clone()
}

// SetTemplate sets what Launch, SetDesired and SetCapacity launch from now
// on. Running instances keep their own template (Redeploy changes it); a
// template that cannot run (no command, a port out of range) makes those
// launches fail, naming it.
func (f *Fleet) SetTemplate(t Template) {
	t = t.clone()
	f.mu.Lock()
	f.tmpl = t
	f.mu.Unlock()
}

// redeployRequest asks an instance's owner goroutine to run another
// template; done receives once, when the new process started or failed to.
type redeployRequest struct {
	ctx  context.Context
	tmpl Template
	done chan error
}

// Redeploy runs t on the instance id in place, as Elastic Beanstalk deploys
// a version to an existing instance: it stops the instance's process
// (SIGTERM, the grace, which ctx cuts short, then SIGKILL), without the
// Terminating hook and keeping the instance's ID, index, IP, placement and
// Prepare hook's environment, then starts t's command. It returns once the
// new process started, or with the start error; the instance then restarts t
// with backoff, as after any crash. The restart backoff starts over.
//
// The port cannot change in place (the load balancer's target is ip:port):
// a new port needs a new instance. Redeploy of an instance being terminated
// returns ErrTerminating (or ErrUnknownInstance once it is gone).
func (f *Fleet) Redeploy(ctx context.Context, id string, t Template) error {
	if err := t.validate(); err != nil {
		return fmt.Errorf("fleet: redeploy instance %s: %w", id, err)
	}
	f.mu.Lock()
	in, ok := f.live[id]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("fleet: redeploy instance %s: %w", id, ErrUnknownInstance)
	}
	if t.Port != in.Port {
		return fmt.Errorf("fleet: redeploy instance %s: version %s (deployment %d) listens on port %d, the instance on %d; "+
			"a port cannot change in place, it needs a new instance", id, versionWords(t.Version), t.Deployment, t.Port, in.Port)
	}
	req := redeployRequest{ctx: ctx, tmpl: t.clone(), done: make(chan error, 1)}
	select {
	case in.redeployCh <- req:
	case <-in.stopCh:
		return fmt.Errorf("fleet: redeploy instance %s: %w", id, ErrTerminating)
	case <-in.done:
		return fmt.Errorf("fleet: redeploy instance %s: %w", id, ErrUnknownInstance)
	case <-ctx.Done():
		return fmt.Errorf("fleet: redeploy instance %s: %w", id, ctx.Err())
	}
	// The owner goroutine answers every request it took.
	return <-req.done
}

// stopForRedeploy stops p (nil when nothing runs) and switches the instance
// to req's template. It runs on the instance's owner goroutine.
func (f *Fleet) stopForRedeploy(in *instance, p *process, req redeployRequest) {
	f.mu.Lock()
	in.state = StateDeploying
	f.mu.Unlock()
	f.emit(in, EventRedeploying, SeverityInfo, fmt.Sprintf("Instance %s (%s) stops its application to run version %s (deployment %d).",
		in.ID, in.IP, versionWords(req.tmpl.Version), req.tmpl.Deployment))
	if p != nil {
		exit := f.stopProcess(req.ctx, in, p)
		f.mu.Lock()
		in.lastExit = &exit
		f.mu.Unlock()
	}
	env := in.composeEnv(req.tmpl)
	f.mu.Lock()
	in.tmpl, in.env, in.pid, in.supervisorPID = req.tmpl, env, 0, 0
	f.mu.Unlock()
}

// versionWords names a version label in a message.
func versionWords(label string) string {
	if label == "" {
		return `""`
	}
	return label
}
