package autoscale

import (
	"math"
	"time"
)

// measure is the trigger's measure over one period, in the trigger's
// unit, as CloudWatch computes it on the Auto Scaling group's dimension
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Statistic):
//
//   - CPUUtilization, NetworkIn, NetworkOut are per-instance metrics: each
//     in-service instance gives one value for the period (its average CPU,
//     the bytes it received or sent), and the statistic is taken across
//     instances (Average, Minimum, Maximum, Sum). An instance that served
//     nothing counts 0 bytes; one never sampled for CPU counts nothing.
//   - RequestCount is the load balancer's: Sum is the requests in the
//     period, and "Minimum, Maximum, and Average all return 1"
//     (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html).
//     elbow counts a period without requests as 0 rather than as missing
//     data, so that a quiet environment can scale in.
//   - Latency and TargetResponseTime are each request's response time in
//     seconds: Average, Minimum, Maximum over the period's requests, Sum
//     their total; no data without requests.
//   - HealthyHostCount and UnhealthyHostCount are the instances whose ELB
//     health is known and healthy (unhealthy) when the period ends.
//   - The disk measures are not measured by elbow: no data, no breach.
//
// It returns NaN for no data, which breaches nothing (an alarm without data
// stays out of ALARM).
func measure(t Trigger, members []Member, samples []sample) float64 {
	var v float64
	switch t.MeasureName {
	case "CPUUtilization":
		vals := make([]float64, 0, len(samples))
		for _, s := range samples {
			if !math.IsNaN(s.cpu) {
				vals = append(vals, s.cpu)
			}
		}
		v = stat(t.Statistic, vals)
	case "NetworkIn", "NetworkOut":
		vals := make([]float64, len(samples))
		for i, s := range samples {
			if t.MeasureName == "NetworkIn" {
				vals[i] = float64(s.bytesIn)
			} else {
				vals[i] = float64(s.bytesOut)
			}
		}
		v = stat(t.Statistic, vals)
		if t.Unit == "Bits" || t.Unit == "Bits/Second" {
			v *= 8
		}
		if t.Unit == "Bytes/Second" || t.Unit == "Bits/Second" {
			v /= t.Period.Seconds()
		}
	case "RequestCount":
		var n int64
		for _, s := range samples {
			n += s.requests
		}
		switch {
		case t.Statistic == "Sum":
			v = float64(n)
		case n > 0:
			v = 1
		default:
			v = math.NaN()
		}
		if t.Unit == "Count/Second" && t.Statistic == "Sum" {
			v /= t.Period.Seconds()
		}
	case "Latency", "TargetResponseTime":
		var n, sum int64
		lo, hi := int64(math.MaxInt64), int64(0)
		for _, s := range samples {
			n += s.requests
			sum += s.latSum
			lo, hi = min(lo, s.latMin), max(hi, s.latMax)
		}
		if n == 0 {
			return math.NaN()
		}
		sec := func(ns int64) float64 { return time.Duration(ns).Seconds() }
		switch t.Statistic {
		case "Sum":
			v = sec(sum)
		case "Minimum":
			v = sec(lo)
		case "Maximum":
			v = sec(hi)
		default:
			v = sec(sum) / float64(n)
		}
	case "HealthyHostCount", "UnhealthyHostCount":
		n := 0
		for _, m := range members {
			if m.ELBKnown && m.ELBHealthy == (t.MeasureName == "HealthyHostCount") {
				n++
			}
		}
		v = float64(n)
	default:
		return math.NaN()
	}
	return v
}

// stat is a CloudWatch statistic over the instances' values; no values is no data.
func stat(statistic string, vals []float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for _, x := range vals {
		sum += x
		lo, hi = min(lo, x), max(hi, x)
	}
	switch statistic {
	case "Sum":
		return sum
	case "Minimum":
		return lo
	case "Maximum":
		return hi
	}
	return sum / float64(len(vals))
}
