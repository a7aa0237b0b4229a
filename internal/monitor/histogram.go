package monitor

import (
	"math"
	"math/bits"
	"time"
)

// Latencies are kept in a log-linear histogram of microseconds: values below
// 64 µs exactly, and each power of two above split into 32 equal buckets, so
// a bucket spans at most 1/32 of its lower bound. A percentile is reported as
// its bucket's midpoint, within ±1.6 % of the true value (±0.5 µs below
// 64 µs); AWS reports latency to 1 ms (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_Latency.html), so the error is
// below what the API shows for anything slower than 60 ms. Values above
// 2^32 µs (71 minutes) are counted in the last bucket.
const (
	subBucketBits  = 5
	subBuckets     = 1 << subBucketBits // 32
	exactBelow     = 2 * subBuckets     // 64 µs
	maxMicros      = 1<<32 - 1
	histogramSize  = exactBelow + (32-subBucketBits-1)*subBuckets // 896
	maxBucketIndex = histogramSize - 1
)

// bucketOf returns the bucket of a latency.
func bucketOf(d time.Duration) int {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	if us > maxMicros {
		us = maxMicros
	}
	v := uint64(us)
	if v < exactBelow {
		return int(v)
	}
	shift := bits.Len64(v) - (subBucketBits + 1)
	sub := v >> shift // in [32, 64)
	return exactBelow + (shift-1)*subBuckets + int(sub-subBuckets)
}

// bucketValue is the representative value of bucket i in microseconds: its
// value for exact buckets, its midpoint for the others.
func bucketValue(i int) float64 {
	if i < exactBelow {
		return float64(i)
	}
	shift := (i-exactBelow)/subBuckets + 1
	sub := uint64((i-exactBelow)%subBuckets + subBuckets)
	lo := sub << shift
	return float64(lo) + float64(uint64(1)<<shift)/2
}

// histogram is a snapshot of latency counts, merged from the stripes of a
// window and summed over windows.
type histogram [histogramSize]uint64

func (h *histogram) add(o *histogram) {
	for i, c := range o {
		h[i] += c
	}
}

func (h *histogram) count() uint64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	return n
}

// quantile returns the latency in seconds within which a fraction q of the
// requests completed, rounded to the millisecond as AWS reports it; 0 when
// the histogram is empty. Beanstalk's two pages disagree on the definition
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-metrics.html: "average latency for the slowest
// x percent"; https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-cloudwatch.html: "the fastest
// x percent"); elbow uses the plain quantile, the reading of
// the CloudWatch page, which keeps P10 <= P50 <= ... <= P99.9.
func (h *histogram) quantile(q float64) float64 {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h {
		seen += c
		if seen >= rank {
			return math.Round(bucketValue(i)/1000) / 1000
		}
	}
	return math.Round(bucketValue(maxBucketIndex)/1000) / 1000
}
