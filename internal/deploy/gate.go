package deploy

import (
	"slices"
	"time"
)

// statusRank orders enhanced health statuses from best to worst
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-status.html).
// Info, Pending, NoData and Unknown are not ranked: they mean the instance
// is still deploying or initializing, or sends nothing, so the gate keeps
// waiting for them (a sample with such a status fails and restarts the
// count) whatever HealthCheckSuccessThreshold says.
var statusRank = map[string]int{"Ok": 0, "Warning": 1, "Degraded": 2, "Severe": 3}

// passes reports whether one sample counts toward the gate: the load
// balancer's check passes and enhanced health is at threshold or better.
func passes(h Health, threshold string) bool {
	if threshold == "" {
		threshold = "Ok"
	}
	r, ok := statusRank[h.Status]
	return h.ELBHealthy && ok && r <= statusRank[threshold]
}

// wait sleeps d on the deployer's clock; it ends early, with the abort
// error, when the update is aborted.
func (u *update) wait(d time.Duration) error {
	if err := u.aborted(); err != nil {
		return err
	}
	select {
	case <-u.ctx.Done():
		return u.aborted()
	case <-u.d.clock.After(d):
		return u.aborted()
	}
}

// gate waits until every one of ids passes Gate.Checks consecutive
// samples, one every Gate.Window/Gate.Checks, a failing sample restarting
// that instance's count, as Beanstalk gates batches with enhanced health
// ("all instances must pass 12 health checks over the course of two
// minutes ... If any instance fails one health check, the count resets",
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.rollingupdates.html).
// It returns the ids that had not passed when timeout ran out (nil: all
// passed), or the abort error.
func (u *update) gate(ids []string, timeout time.Duration) ([]string, error) {
	g := u.healthGate
	interval := g.Window / time.Duration(g.Checks)
	deadline := u.d.clock.Now().Add(timeout)
	count := map[string]int{}
	pending := slices.Clone(ids)
	for len(pending) > 0 {
		if !u.d.clock.Now().Before(deadline) {
			return pending, nil
		}
		if err := u.wait(interval); err != nil {
			return pending, err
		}
		pending = slices.DeleteFunc(pending, func(id string) bool {
			if passes(u.env.Health(id), u.policy.HealthCheckSuccessThreshold) {
				count[id]++
			} else {
				count[id] = 0
			}
			return count[id] >= g.Checks
		})
	}
	return nil, nil
}

// watch samples ids every Gate.Window/Gate.Checks for d and returns the
// ones with a failing sample as soon as there is one (nil: all passed
// every sample), or the abort error.
func (u *update) watch(ids []string, d time.Duration) ([]string, error) {
	gate := u.healthGate
	interval := gate.Window / time.Duration(gate.Checks)
	end := u.d.clock.Now().Add(d)
	for u.d.clock.Now().Before(end) {
		if err := u.wait(min(interval, end.Sub(u.d.clock.Now()))); err != nil {
			return nil, err
		}
		var bad []string
		for _, id := range ids {
			if !passes(u.env.Health(id), u.policy.HealthCheckSuccessThreshold) {
				bad = append(bad, id)
			}
		}
		if bad != nil {
			return bad, nil
		}
	}
	return nil, nil
}
