package deploy

import (
	"fmt"
	"sync"
)

// rollBatches deploys u.to to ms in place, batch by batch, with the events
// of a real rolling deployment (grandamp/rest-service TESTING.md; the same
// lines in https://github.com/aws/aws-elastic-beanstalk-cli/issues/50):
// deregister and drain the batch, run the command, register, gate. A
// failure stops the deployment: later batches keep the old version
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.rolling-version-deploy.html).
// cleanup, if not nil, runs before the closing events of a failure,
// beforeClose before those of a success.
func (u *update) rollBatches(ms []Member, cleanup, beforeClose func()) error {
	all := ids(ms)
	size := batchSize(u.policy, len(all))
	done := 0
	for k, start := 1, 0; start < len(all); k, start = k+1, start+size {
		batch := all[start:min(start+size, len(all))]
		u.info("Batch %d: Starting application deployment on instance(s) %s.", k, brackets(batch))
		u.info("Batch %d: De-registering instance(s) from the load balancer and waiting for them to go out of service.", k)
		if err := u.deregister(batch); err != nil {
			u.register(batch)
			return u.stopRolling(err, cleanup)
		}
		u.info("Batch %d: Starting application deployment command execution.", k)
		failed, errs := u.redeploy(batch)
		if err := u.aborted(); err != nil {
			u.register(batch)
			return u.stopRolling(err, cleanup)
		}
		if failed != nil {
			// Back in the load balancer: the target group's health checks
			// keep traffic away from an instance whose command failed.
			u.register(batch)
			return u.commandFailed(failed, errs, len(batch), failedApplication, cleanup)
		}
		done += len(batch)
		u.info("Batch %d: Completed application deployment command execution.", k)
		u.info("Command execution completed on %d of %d instances in environment.", done, len(all))
		u.info("Batch %d: Registering instance(s) with the load balancer and waiting for them to be healthy.", k)
		u.register(batch)
		bad, err := u.gate(batch, u.policy.Timeout)
		if err != nil {
			return u.stopRolling(err, cleanup)
		}
		if bad != nil {
			if !u.policy.IgnoreHealthCheck {
				return u.healthFailed(bad, failedApplication, true, cleanup)
			}
			u.ignoredHealth(bad)
		}
		u.info("Batch %d: Completed application deployment.", k)
	}
	if beforeClose != nil {
		beforeClose()
	}
	u.info("New application version was deployed to running EC2 instances.")
	u.info("Environment update completed successfully.")
	return nil
}

func (u *update) stopRolling(err error, cleanup func()) error {
	if cleanup != nil {
		cleanup()
	}
	return u.abortEnd(err, failedApplication, true)
}

// deregister takes ids out of the load balancer at once and waits for them
// to drain.
func (u *update) deregister(ids []string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Go(func() { errs[i] = u.env.Deregister(u.ctx, id) })
	}
	wg.Wait()
	if err := u.aborted(); err != nil {
		return err
	}
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("deregistering %s: %w", ids[i], err)
		}
	}
	return nil
}

func (u *update) register(ids []string) {
	for _, id := range ids {
		u.env.Register(id)
	}
}

// rollingWithAdditionalBatch launches one batch of new instances before
// taking any instance out of service, so that capacity never drops, then
// rolls the existing instances, then terminates as many instances as it
// added (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.rolling-version-deploy.html).
// If the additional batch fails, terminating it is the whole rollback
// ("Minimal if first batch fails").
func (u *update) rollingWithAdditionalBatch() error {
	old := u.env.Members()
	size := batchSize(u.policy, len(old))
	u.info("Deploying new version to instance(s).")
	// elbow's words from here to the gate: Beanstalk's are not published.
	u.info("Launching an additional batch of %d instance(s) with the new version before taking instances out of service.", size)
	extra, err := u.launch(size)
	dropExtra := func() {
		if len(extra) > 0 {
			u.info("Terminating the additional batch of instance(s) %s.", parens(extra))
			u.terminate(extra)
		}
	}
	if aerr := u.aborted(); aerr != nil {
		dropExtra()
		return u.abortEnd(aerr, failedApplication, false)
	}
	if err != nil {
		u.fail("Failed to launch the additional batch: %s.", err)
		dropExtra()
		u.fail("%s", failedApplication)
		return fmt.Errorf("launching the additional batch: %w", err)
	}
	u.info("Waiting for instance(s) %s to pass health checks.", parens(extra))
	bad, err := u.gate(extra, u.policy.Timeout)
	if err != nil {
		dropExtra()
		return u.abortEnd(err, failedApplication, false)
	}
	if bad != nil {
		if !u.policy.IgnoreHealthCheck {
			return u.healthFailed(bad, failedApplication, false, dropExtra)
		}
		u.ignoredHealth(bad)
	}
	return u.rollBatches(old, dropExtra, func() {
		victims := ids(old[:min(len(extra), len(old))])
		// elbow's words: Beanstalk's are not published.
		u.info("Terminating instance(s) %s to return to the environment's original capacity.", parens(victims))
		u.terminate(victims)
	})
}
