package fleet

import (
	"context"
	"fmt"
)

// Desired is the fleet's desired capacity: Min after New, then what
// SetDesired set, clamped into the bounds SetCapacity set last. Launch,
// LaunchWith, Terminate and ScaleIn act on instances and leave it alone, as
// launching or terminating an instance outside Auto Scaling does not change
// the group's desired capacity.
func (f *Fleet) Desired() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.desired
}

// SetDesired sets the desired capacity to n, within Min..Max, then launches
// (the current template) or terminates (newest first, each drained through
// the Terminating hook) until that many instances run. It returns the first
// launch error; instances launched before it keep running and the desired
// capacity stays n. Instances that a deployment launched beyond Max count
// like any other: the caller does not scale while a deployment runs, as
// Elastic Beanstalk suspends the group's scaling processes during one.
func (f *Fleet) SetDesired(ctx context.Context, n int) error {
	f.scaleMu.Lock()
	defer f.scaleMu.Unlock()
	f.mu.Lock()
	minSize, maxSize := f.cfg.Min, f.cfg.Max
	if n < minSize || n > maxSize {
		f.mu.Unlock()
		// The same check as Auto Scaling's SetDesiredCapacity:
		// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_SetDesiredCapacity.html
		return fmt.Errorf("fleet: desired capacity %d is outside the group's min %d and max %d", n, minSize, maxSize)
	}
	f.desired = n
	f.mu.Unlock()
	return f.reconcile(ctx, n)
}

// SetCapacity changes the fleet's minimum and maximum at run time, clamps
// the desired capacity into them (what Auto Scaling does to the desired
// capacity when a group's minimum or maximum changes:
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-capacity-limits.html),
// then launches or terminates (newest first) instances until the desired
// capacity runs. It returns the first launch error.
func (f *Fleet) SetCapacity(ctx context.Context, minSize, maxSize int) error {
	if minSize < 1 || maxSize < minSize || maxSize > MaxInstances {
		return fmt.Errorf("fleet: capacity min %d, max %d: min must be at least 1, max at least min and at most %d",
			minSize, maxSize, MaxInstances)
	}
	f.scaleMu.Lock()
	defer f.scaleMu.Unlock()
	f.mu.Lock()
	f.cfg.Min, f.cfg.Max = minSize, maxSize
	f.desired = min(max(f.desired, minSize), maxSize)
	n := f.desired
	f.mu.Unlock()
	return f.reconcile(ctx, n)
}

// reconcile launches or terminates instances until n run.
func (f *Fleet) reconcile(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		newest, active := f.newestLocked()
		f.mu.Unlock()
		switch {
		case active < n:
			if _, err := f.Launch(ctx); err != nil {
				return err
			}
		case active > n:
			newest.requestStop(ctx)
			<-newest.done
		default:
			return nil
		}
	}
}
