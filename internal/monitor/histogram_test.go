package monitor

import (
	"math"
	"testing"
	"time"
)

func TestBucketErrorBound(t *testing.T) {
	prev := -1
	for us := int64(0); us < 1<<24; us = us + 1 + us/97 {
		b := bucketOf(time.Duration(us) * time.Microsecond)
		if b < prev {
			t.Fatalf("bucket of %d µs is %d, below the previous %d: buckets must not decrease", us, b, prev)
		}
		prev = b
		got := bucketValue(b)
		if us < exactBelow {
			if got != float64(us) {
				t.Fatalf("%d µs reads back as %g: values below %d µs are exact", us, got, exactBelow)
			}
			continue
		}
		if rel := math.Abs(got-float64(us)) / float64(us); rel > 1.0/64 {
			t.Fatalf("%d µs reads back as %g: relative error %.4f above the stated 1/64", us, got, rel)
		}
	}
	if b := bucketOf(100 * time.Hour); b != maxBucketIndex {
		t.Fatalf("a latency beyond the range lands in bucket %d, want the last, %d", b, maxBucketIndex)
	}
	if b := bucketOf(-time.Second); b != 0 {
		t.Fatalf("a negative latency lands in bucket %d, want 0", b)
	}
}

func TestQuantiles(t *testing.T) {
	var h histogram
	// 1..1000 ms, one request each.
	for ms := 1; ms <= 1000; ms++ {
		h[bucketOf(time.Duration(ms)*time.Millisecond)]++
	}
	for _, tc := range []struct {
		q    float64
		want float64
	}{{0.10, 0.100}, {0.50, 0.500}, {0.90, 0.900}, {0.99, 0.990}, {0.999, 0.999}} {
		got := h.quantile(tc.q)
		if math.Abs(got-tc.want) > tc.want/64+0.001 {
			t.Errorf("P%g = %g s, want %g s within the histogram's error", tc.q*100, got, tc.want)
		}
	}
	var empty histogram
	if got := empty.quantile(0.5); got != 0 {
		t.Errorf("empty histogram P50 = %g, want 0", got)
	}
}
