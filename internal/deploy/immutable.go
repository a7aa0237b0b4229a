package deploy

import (
	"fmt"
	"hash/fnv"
)

// immutable launches one instance running u.to, gates it, launches the
// rest to match the instance count, gates them all, then terminates the old
// instances; on failure it terminates the new ones and the old are
// untouched (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/environmentmgmt-updates-immutable.html).
// The success events are those of a real immutable deployment
// (JuanSeromo-UniAndes/devops-blacklist, docs/DEPLOYMENT_VALIDATION.md);
// the per-instance "Added instance(s) [...]" and "Removed instance [...]"
// lines are the environment's, written when instances come and go.
func (u *update) immutable(failed string) error {
	old := u.env.Members()
	n := max(1, len(old))
	u.info("Immutable deployment policy enabled. Launching one instance with the new settings to verify health.")
	u.info("Created temporary auto scaling group %s.", tempGroup(u.env.Name(), u.to))
	var fresh []string
	rollback := func() {
		if len(fresh) == 0 {
			return
		}
		// elbow's words: Beanstalk's rollback events are not published.
		u.info("Rolling back: terminating new instance(s) %s and the temporary Auto Scaling group.", parens(fresh))
		u.terminate(fresh)
		u.info("Rollback completed. The environment's original instances were not changed.")
	}
	launched, err := u.launch(1)
	fresh = append(fresh, launched...)
	if err := u.launchFailed(err, failed, rollback); err != nil {
		return err
	}
	u.info("Instance deployment completed successfully.")
	u.info("Adding new instance(s) %s to the load balancer.", parens(fresh))
	u.info("Waiting for instance(s) %s to pass health checks.", parens(fresh))
	if err := u.gateNew(fresh, failed, rollback); err != nil {
		return err
	}
	u.info("Test instance passed health checks. Launching remaining new instances.")
	if n > 1 {
		rest, err := u.launch(n - 1)
		fresh = append(fresh, rest...)
		if err := u.launchFailed(err, failed, rollback); err != nil {
			return err
		}
		u.info("Successfully launched all instances.")
		u.info("Adding new instance(s) %s to the load balancer.", parens(rest))
	} else {
		u.info("Successfully launched all instances.")
	}
	u.info("Waiting for instance(s) %s to pass health checks.", parens(fresh))
	if err := u.gateNew(fresh, failed, rollback); err != nil {
		return err
	}
	u.info("Detached new instance(s) from temporary auto scaling group.")
	u.info("Attached new instance(s) to the permanent auto scaling group.")
	u.info("Deployment succeeded. Terminating old instances and temporary Auto Scaling group.")
	u.terminate(ids(old))
	u.info("Environment update completed successfully.")
	return nil
}

// launchFailed closes the update when a launch failed or the update was
// aborted meanwhile; nil when neither.
func (u *update) launchFailed(err error, failed string, rollback func()) error {
	if aerr := u.aborted(); aerr != nil {
		rollback()
		return u.abortEnd(aerr, failed, false)
	}
	if err == nil {
		return nil
	}
	u.fail("Failed to launch new instance(s): %s.", err) // elbow's words
	rollback()
	u.fail("%s", failed)
	return fmt.Errorf("launching new instances: %w", err)
}

// gateNew gates new instances; on failure (unless IgnoreHealthCheck) or
// abort it rolls back and closes the update.
func (u *update) gateNew(fresh []string, failed string, rollback func()) error {
	bad, err := u.gate(fresh, u.policy.Timeout)
	if err != nil {
		rollback()
		return u.abortEnd(err, failed, false)
	}
	if bad == nil {
		return nil
	}
	if u.policy.IgnoreHealthCheck {
		u.ignoredHealth(bad)
		return nil
	}
	return u.healthFailed(bad, failed, false, rollback)
}

// tempGroup names the temporary Auto Scaling group as Beanstalk does,
// awseb-<environment>-immutable-stack-AWSEBAutoScalingGroup-<suffix>; the
// suffix is derived from the environment and the deployment, so that it
// looks random yet a test can predict it.
func tempGroup(env string, r Release) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", env, r.Deployment)
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	v := h.Sum64()
	suffix := make([]byte, 12)
	for i := range suffix {
		suffix[i] = alphabet[v%uint64(len(alphabet))]
		v /= uint64(len(alphabet))
		if v == 0 {
			v = h.Sum64() ^ uint64(i+1)*0x9e3779b97f4a7c15
		}
	}
	return "awseb-" + env + "-immutable-stack-AWSEBAutoScalingGroup-" + string(suffix)
}
