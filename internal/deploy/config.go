package deploy

import (
	"context"
	"fmt"
)

// UpdateConfiguration applies a configuration change that instances must
// pick up (to carries its deployment number) as Beanstalk applies
// configuration changes
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.rollingupdates.html):
//   - rolling updates disabled: every instance at once, in place (replace
//     false: "Command is executing on all instances.") or replaced (replace
//     true: all new instances are launched, then the old terminated);
//   - RollingUpdateType Health or Time: batches of MaxBatchSize
//     (default ceil(instances/3)); each batch's replacements are launched,
//     then gated (Health) or given PauseTime (Time), then the old batch is
//     terminated (drained first), so every instance stays in service;
//   - RollingUpdateType Immutable: as an immutable deployment.
//
// p gives the gate's HealthCheckSuccessThreshold and IgnoreHealthCheck,
// and the command timeout of in-place updates.
func (d *Deployer) UpdateConfiguration(ctx context.Context, to Release, r RollingUpdate, p Policy, replace bool) error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("environment %s: %w", d.env.Name(), err)
	}
	if p.HealthCheckSuccessThreshold != "" {
		if err := oneOf("HealthCheckSuccessThreshold", p.HealthCheckSuccessThreshold, thresholds); err != nil {
			return fmt.Errorf("environment %s: %w", d.env.Name(), err)
		}
	}
	if r.Enabled && r.Timeout > 0 {
		// The rolling update's timeout bounds each batch's gate.
		p.Timeout = r.Timeout
	}
	return d.run(ctx, to, p, func(u *update) error {
		// The first three and the last two events are those of an `eb
		// setenv` (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/environment-configuration-methods-after.html).
		u.info("Environment update is starting.")
		u.info("Updating environment %s's configuration settings.", u.env.Name())
		switch {
		case r.Enabled && r.Type == "Immutable":
			return u.immutable(failedConfiguration)
		case r.Enabled:
			return u.rollingReplace(r)
		case replace:
			return u.replaceAll()
		default:
			return u.inPlace()
		}
	})
}

func (u *update) configured() error {
	u.info("Successfully deployed new configuration to environment.")
	u.info("Environment update completed successfully.")
	return nil
}

// inPlace runs the new settings on every instance at once; the
// environment's health shows "Command is executing on all instances."
// from the Commands of Progress.
func (u *update) inPlace() error {
	ms := u.env.Members()
	failed, errs := u.redeploy(ids(ms))
	if err := u.aborted(); err != nil {
		return u.abortEnd(err, failedConfiguration, false)
	}
	if failed != nil {
		return u.commandFailed(failed, errs, len(ms), failedConfiguration, nil)
	}
	return u.configured()
}

// replaceAll launches a full set of instances with the new settings, then
// terminates the old ones. Beanstalk terminates first (an outage); elbow
// launches first, which loses no request and ends the same.
func (u *update) replaceAll() error {
	old := u.env.Members()
	// elbow's words: Beanstalk's are not published.
	u.info("Replacing instance(s) %s with %d new instance(s).", brackets(ids(old)), len(old))
	fresh, err := u.launch(len(old))
	rollback := func() { u.terminate(fresh) }
	if err := u.launchFailed(err, failedConfiguration, rollback); err != nil {
		return err
	}
	u.terminate(ids(old))
	return u.configured()
}

// rollingReplace replaces the instances batch by batch. The batch events
// follow CloudFormation's AutoScalingRollingUpdate events, which Beanstalk
// passes on for its rolling updates; their exact Beanstalk wording is not
// published, so these texts are elbow's.
func (u *update) rollingReplace(r RollingUpdate) error {
	old := u.env.Members()
	all := ids(old)
	size := r.MaxBatchSize
	if size == 0 {
		size = (len(all) + 2) / 3
	}
	size = max(1, min(size, len(all)))
	minIn := r.MinInstancesInService
	if minIn < 0 {
		minIn = max(0, len(all)-1)
	}
	u.info("Rolling update initiated. Replacing %d instance(s) in batches of %d, while keeping at least %d instance(s) in service.", len(all), size, minIn)
	batches := (len(all) + size - 1) / size
	for k, start := 1, 0; start < len(all); k, start = k+1, start+size {
		batch := all[start:min(start+size, len(all))]
		u.info("Rolling update batch %d of %d: launching %d new instance(s) to replace %s.", k, batches, len(batch), brackets(batch))
		fresh, err := u.launch(len(batch))
		drop := func() {
			if len(fresh) > 0 {
				u.info("Terminating new instance(s) %s.", parens(fresh))
				u.terminate(fresh)
			}
		}
		if err := u.launchFailed(err, failedConfiguration, drop); err != nil {
			return err
		}
		if r.Type == "Health" {
			u.info("Waiting for instance(s) %s to pass health checks.", parens(fresh))
			if err := u.gateNew(fresh, failedConfiguration, drop); err != nil {
				return err
			}
		} else if r.PauseTime > 0 {
			u.info("Waiting %s before terminating the replaced instance(s) (PauseTime).", minutes(r.PauseTime))
			if err := u.wait(r.PauseTime); err != nil {
				drop()
				return u.abortEnd(err, failedConfiguration, false)
			}
		}
		u.terminate(batch)
		u.info("Successfully terminated instance(s) %s (Progress %d%%).", brackets(batch), 100*(start+len(batch))/len(all))
	}
	u.info("Rolling update completed.")
	return u.configured()
}
