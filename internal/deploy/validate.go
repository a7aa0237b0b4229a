package deploy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

var (
	policyTypes    = []string{AllAtOnce, Rolling, RollingWithAdditionalBatch, Immutable, TrafficSplitting}
	batchSizeTypes = []string{"Percentage", "Fixed"}
	thresholds     = []string{"Ok", "Warning", "Degraded", "Severe"}
	rollingTypes   = []string{"Time", "Health", "Immutable"}
)

func oneOf(field, v string, allowed []string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%w: %s %q is not allowed: must be one of %s", ErrInvalid, field, v, strings.Join(allowed, ", "))
}

// validate checks p as aws:elasticbeanstalk:command does
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html).
// config validates the same at load time; this guards other callers.
func (p Policy) validate() error {
	if err := oneOf("DeploymentPolicy", p.Type, policyTypes); err != nil {
		return err
	}
	if p.Type == Rolling || p.Type == RollingWithAdditionalBatch {
		if err := oneOf("BatchSizeType", p.BatchSizeType, batchSizeTypes); err != nil {
			return err
		}
		if p.BatchSizeType == "Percentage" && (p.BatchSize < 1 || p.BatchSize > 100) {
			return fmt.Errorf("%w: BatchSize %d is not allowed: must be 1-100 with BatchSizeType Percentage", ErrInvalid, p.BatchSize)
		}
		if p.BatchSizeType == "Fixed" && p.BatchSize < 1 {
			return fmt.Errorf("%w: BatchSize %d is not allowed: must be at least 1 with BatchSizeType Fixed", ErrInvalid, p.BatchSize)
		}
	}
	if p.Timeout < time.Second || p.Timeout > time.Hour {
		return fmt.Errorf("%w: Timeout %v is not allowed: must be 1-3600 seconds", ErrInvalid, p.Timeout)
	}
	if p.HealthCheckSuccessThreshold != "" {
		if err := oneOf("HealthCheckSuccessThreshold", p.HealthCheckSuccessThreshold, thresholds); err != nil {
			return err
		}
	}
	if p.Type == TrafficSplitting {
		if p.NewVersionPercent < 1 || p.NewVersionPercent > 100 {
			return fmt.Errorf("%w: NewVersionPercent %d is not allowed: must be 1-100", ErrInvalid, p.NewVersionPercent)
		}
		if p.EvaluationTime <= 0 {
			return fmt.Errorf("%w: EvaluationTime %v is not allowed: must be positive", ErrInvalid, p.EvaluationTime)
		}
	}
	return nil
}

// validate checks r as aws:autoscaling:updatepolicy:rollingupdate does.
func (r RollingUpdate) validate() error {
	if !r.Enabled {
		return nil
	}
	if err := oneOf("RollingUpdateType", r.Type, rollingTypes); err != nil {
		return err
	}
	if r.MaxBatchSize < 0 {
		return fmt.Errorf("%w: MaxBatchSize %d is not allowed: must be at least 1 (0: the default)", ErrInvalid, r.MaxBatchSize)
	}
	if r.MinInstancesInService < -1 {
		return fmt.Errorf("%w: MinInstancesInService %d is not allowed: must be at least 0 (-1: the default)", ErrInvalid, r.MinInstancesInService)
	}
	if r.PauseTime < 0 {
		return fmt.Errorf("%w: PauseTime %v is not allowed: must not be negative", ErrInvalid, r.PauseTime)
	}
	if r.Type != "Time" && r.Timeout <= 0 {
		return fmt.Errorf("%w: Timeout %v is not allowed with RollingUpdateType %s: must be positive", ErrInvalid, r.Timeout, r.Type)
	}
	return nil
}

// batchSize is the number of instances per batch out of n: BatchSize
// percent rounded up, or BatchSize instances, at least 1 and at most n.
// Beanstalk does not document its rounding; rounding up never makes a
// batch of 0 and makes 34 % of 3 instances two batches, not three.
func batchSize(p Policy, n int) int {
	s := p.BatchSize
	if p.BatchSizeType != "Fixed" {
		s = (n*p.BatchSize + 99) / 100
	}
	return max(1, min(s, n))
}
