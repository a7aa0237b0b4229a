package environment

import (
	"context"
	"fmt"
	"net/url"
	"syscall"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/proxy"
)

// What the AWS API (package awsapi) reads and changes of the environment.

// Update applies change to a copy of the running configuration, validates
// it as elbow validate does, and applies it live (Reload). A part that
// needs a restart refuses the whole change, naming it. Applied, the change
// is written into the environment's file (config.WriteBack), so that the
// file watcher's reload of it changes nothing; when the file cannot take it
// the change stays live and an event says why (writeBack).
func (e *Env) Update(ctx context.Context, change func(c *config.Config) error) error {
	e.file.mu.Lock()
	defer e.file.mu.Unlock()
	cur := e.Config()
	data, err := config.Marshal(cur)
	if err != nil {
		return fmt.Errorf("copying the configuration: %w", err)
	}
	next, err := config.Parse(cur.File, data)
	if err != nil {
		return fmt.Errorf("copying the configuration: %w", err)
	}
	if err := change(next); err != nil {
		return err
	}
	data, err = config.Marshal(next)
	if err != nil {
		return err
	}
	checked, err := config.Parse(cur.File, data)
	if err != nil {
		return err
	}
	checked.File = cur.File
	if _, err = e.Reload(ctx, checked); err != nil {
		return err
	}
	e.writeBack(cur, checked)
	return nil
}

// InstanceLog is the last lines of an instance's output.
func (e *Env) InstanceLog(id string, lines int) ([]string, bool) {
	l, _, ok := e.instanceLog(id, lines)
	return l, ok
}

// Started is when the environment started.
func (e *Env) Started() time.Time { return e.started }

// ApplicationName is the Beanstalk application: config.yml's
// application_name for a project, else the environment's name.
func (e *Env) ApplicationName() string {
	if e.beanstalk != nil && e.beanstalk.plan.Application != "" {
		return e.beanstalk.plan.Application
	}
	return e.Config().Name
}

// InstanceInfo is what the metadata service says of an instance's type
// and zone.
func (e *Env) InstanceInfo(id string) (instanceType, availabilityZone string, ok bool) {
	info, ok := e.instanceInfo(id)
	return info.InstanceType, info.AvailabilityZone, ok
}

// RestartAppServer restarts an instance's app process in place, as
// Beanstalk's RestartAppServer does: SIGTERM, and the fleet starts it
// again (its restart policy). For a Beanstalk project that is the
// instance's deployment engine and every process under it.
func (e *Env) RestartAppServer(ctx context.Context, instanceID string) error {
	if e.fleet == nil {
		return fmt.Errorf("the environment launches no instances: its targets run elsewhere")
	}
	st, ok := e.fleet.Status(instanceID)
	if !ok {
		return fmt.Errorf("no instance %s", instanceID)
	}
	if st.PID == 0 {
		return fmt.Errorf("instance %s has no running app process (state %s)", instanceID, st.State)
	}
	return syscall.Kill(st.PID, syscall.SIGTERM)
}

// modifyHealthCheckAndFile is the console's PATCH of a target group's
// health check: applied live, then written into the environment's file as
// an API change is, so a reload of the file does not silently undo it.
func (e *Env) modifyHealthCheckAndFile(group string, hc config.HealthCheck, delay *int) error {
	e.file.mu.Lock()
	defer e.file.mu.Unlock()
	cur := e.Config()
	if err := e.ModifyHealthCheck(group, hc, delay); err != nil {
		return err
	}
	e.writeBack(cur, e.Config())
	return nil
}

// listenerHost is the Host users send to the load balancer's first
// listener (127.0.0.1:8080), for the diagnosis's user-like request when no
// public_host is set: a real name of the environment, never a made-up one.
func (e *Env) listenerHost() string {
	if e.proxy == nil {
		return ""
	}
	for _, l := range e.proxy.Listeners() {
		if u, err := url.Parse(l.URL()); err == nil && u.Host != "" {
			return u.Host
		}
	}
	return ""
}

// loadBalancerStats are the load balancer's connection and byte counts for
// the console's CloudWatch-like series; zero until the listeners run (the
// console starts first).
func (e *Env) loadBalancerStats() proxy.Stats {
	e.mu.Lock()
	p := e.proxy
	e.mu.Unlock()
	if p == nil {
		return proxy.Stats{}
	}
	return p.Stats()
}
