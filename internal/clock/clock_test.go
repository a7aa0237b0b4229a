package clock

import (
	"testing"
	"time"
)

func TestSinceIsNow(t *testing.T) {
	ref := time.Now()
	time.Sleep(20 * time.Millisecond)
	before := time.Now()
	got := Since(ref)
	after := time.Now()
	if got.Before(before) || got.After(after) {
		t.Fatalf("Since(ref) = %v; want between %v and %v", got, before, after)
	}
	if d := got.Sub(ref); d < 20*time.Millisecond {
		t.Fatalf("Since(ref) is %v after ref; want at least the 20ms slept", d)
	}
	// The wall reading is there too: Round(0) strips the monotonic one.
	if w := got.Round(0); w.Before(before.Round(0).Add(-time.Millisecond)) || w.After(after.Round(0).Add(time.Millisecond)) {
		t.Fatalf("wall time %v; want within %v..%v", w, before, after)
	}
}

func TestSinceZeroIsNow(t *testing.T) {
	before := time.Now()
	if got := Since(time.Time{}); got.Before(before) || got.Sub(before) > time.Second {
		t.Fatalf("Since(zero) = %v; want now (%v)", got, before)
	}
}

func BenchmarkNow(b *testing.B) {
	for b.Loop() {
		_ = time.Now()
	}
}

func BenchmarkSince(b *testing.B) {
	ref := time.Now()
	for b.Loop() {
		_ = Since(ref)
	}
}
