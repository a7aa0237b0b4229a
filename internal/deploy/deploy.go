package deploy

import (
	"context"
	"fmt"
	"strings"
)

// Deploy deploys the release to to the environment's instances with the
// policy p, and returns when the deployment completed, failed or was
// aborted. A deployment while another update runs is refused with
// ErrUpdateInProgress.
func (d *Deployer) Deploy(ctx context.Context, to Release, p Policy) error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("environment %s: %w", d.env.Name(), err)
	}
	return d.run(ctx, to, p, func(u *update) error {
		u.info("Environment update is starting.")
		switch p.Type {
		case AllAtOnce:
			return u.allAtOnce()
		case Rolling:
			u.info("Deploying new version to instance(s).")
			return u.rollBatches(u.env.Members(), nil, nil)
		case RollingWithAdditionalBatch:
			return u.rollingWithAdditionalBatch()
		case Immutable:
			return u.immutable(failedApplication)
		default:
			return u.trafficSplitting()
		}
	})
}

// The closing error events of a failed deployment and of a failed
// configuration update.
const (
	failedApplication   = "Failed to deploy application."
	failedConfiguration = "Failed to deploy configuration." // elbow's: Beanstalk's is not published
	redeployAdvice      = "During an aborted deployment, some instances may have deployed the new application version. To ensure all instances are running the same version, re-deploy the appropriate application version."
)

// abortEnd closes an aborted update. inPlace: the new version may already
// run on some existing instances, which Beanstalk's advice is about.
func (u *update) abortEnd(err error, failed string, inPlace bool) error {
	u.fail("%s", failed)
	if inPlace {
		u.fail("%s", redeployAdvice)
	}
	return err
}

// healthFailed writes Beanstalk's events for instances that did not pass
// the gate (https://github.com/rennokki/laravel-aws-eb/issues/71 shows them
// in order) and returns the error; cleanup runs between the first event
// and the closing ones.
func (u *update) healthFailed(bad []string, failed string, inPlace bool, cleanup func()) error {
	u.fail("Instance id(s) %s did not pass health check after command execution. Aborting the operation.", quoted(bad))
	if cleanup != nil {
		cleanup()
	}
	u.fail("%s", failed)
	if inPlace {
		u.fail("%s", redeployAdvice)
	}
	return fmt.Errorf("%w: %s", ErrHealthCheck, strings.Join(bad, ", "))
}

// ignoredHealth is the event of a gate failure that IgnoreHealthCheck lets
// pass (elbow's words: Beanstalk does not publish one).
func (u *update) ignoredHealth(bad []string) {
	u.warn("Instance id(s) %s did not pass health check after command execution. Continuing because IgnoreHealthCheck is set.", quoted(bad))
}

// allAtOnce redeploys every instance at once, without taking any out of
// the load balancer: Beanstalk's all-at-once deployment has a short outage
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.deploy-existing-version.html).
func (u *update) allAtOnce() error {
	ms := u.env.Members()
	u.info("Deploying new version to instance(s).")
	failed, errs := u.redeploy(ids(ms))
	if err := u.aborted(); err != nil {
		return u.abortEnd(err, failedApplication, true)
	}
	if failed != nil {
		return u.commandFailed(failed, errs, len(ms), failedApplication, nil)
	}
	u.info("New application version was deployed to running EC2 instances.")
	u.info("Environment update completed successfully.")
	return nil
}
