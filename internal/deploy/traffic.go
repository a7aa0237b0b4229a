package deploy

import (
	"fmt"
	"time"
)

// trafficSplitting launches as many new instances as there are, gates
// them, sends NewVersionPercent of the requests to them and watches their
// health for EvaluationTime; if they stay healthy all the traffic moves to
// them and the old instances are terminated, otherwise (or on abort) the
// traffic goes back to the old instances and the new ones are terminated
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.rolling-version-deploy.html,
// "How traffic-splitting deployments work"). Beanstalk does not publish
// this policy's events: the texts are elbow's, in Beanstalk's voice, except
// those shared with immutable deployments.
func (u *update) trafficSplitting() error {
	old := u.env.Members()
	n := max(1, len(old))
	pct := u.policy.NewVersionPercent
	u.info("Traffic-splitting deployment policy enabled. Launching %d new instance(s) with the new version.", n)
	u.info("Created temporary auto scaling group %s.", tempGroup(u.env.Name(), u.to))
	var fresh []string
	split := false
	rollback := func() {
		if split {
			u.env.SplitTraffic(nil, 0)
			u.info("Shifted all traffic back to the old instances.")
		}
		if len(fresh) > 0 {
			u.info("Rolling back: terminating new instance(s) %s and the temporary Auto Scaling group.", parens(fresh))
			u.terminate(fresh)
		}
	}
	launched, err := u.launch(n)
	fresh = launched
	if err := u.launchFailed(err, failedApplication, rollback); err != nil {
		return err
	}
	u.info("Successfully launched all instances.")
	u.info("Adding new instance(s) %s to the load balancer.", parens(fresh))
	// The split starts before the gate: the target group sends nothing to
	// a side without a healthy target, so the new instances get their
	// share once they pass the load balancer's checks, never an even one.
	u.env.SplitTraffic(fresh, pct)
	split = true
	u.info("Shifting %d%% of traffic to the new instance(s).", pct)
	u.info("Waiting for instance(s) %s to pass health checks.", parens(fresh))
	if err := u.gateNew(fresh, failedApplication, rollback); err != nil {
		return err
	}
	u.info("Evaluating the health of the new instance(s) for %s.", minutes(u.policy.EvaluationTime))
	bad, err := u.watch(fresh, u.policy.EvaluationTime)
	if err != nil {
		rollback()
		return u.abortEnd(err, failedApplication, false)
	}
	if bad != nil && !u.policy.IgnoreHealthCheck {
		u.fail("Instance id(s) %s failed health checks during the evaluation period. Aborting the operation.", quoted(bad))
		rollback()
		u.fail("%s", failedApplication)
		return fmt.Errorf("%w: %v during the evaluation period", ErrHealthCheck, bad)
	}
	if bad != nil {
		u.ignoredHealth(bad)
	}
	u.env.SplitTraffic(fresh, 100)
	u.info("Evaluation succeeded. Shifted all traffic to the new instance(s).")
	u.info("Attached new instance(s) to the permanent auto scaling group.")
	u.info("Deployment succeeded. Terminating old instances and temporary Auto Scaling group.")
	u.terminate(ids(old))
	u.env.SplitTraffic(nil, 0)
	u.info("Environment update completed successfully.")
	return nil
}

// minutes writes d as Beanstalk writes durations in events: "5 minutes",
// or seconds below a minute or when not whole minutes.
func minutes(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "1 minute"
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	case d == time.Second:
		return "1 second"
	default:
		return fmt.Sprintf("%d seconds", d/time.Second)
	}
}
