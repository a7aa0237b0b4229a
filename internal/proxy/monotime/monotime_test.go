package monotime

import (
	"testing"
	"time"
)

func TestNowFromRef(t *testing.T) {
	// A reference 20 ms in the past, monotonic reading included (Add keeps it).
	ref := time.Now().Add(-20 * time.Millisecond)
	before := time.Now()
	got := Now(ref)
	after := time.Now()
	if got.Before(before) || got.After(after) {
		t.Fatalf("Now(ref) = %v; want between %v and %v", got, before, after)
	}
	if d := got.Sub(ref); d < 20*time.Millisecond {
		t.Fatalf("Now(ref) is %v after ref; want at least the 20ms since ref", d)
	}
	// The wall reading is there too: Round(0) strips the monotonic one.
	if w := got.Round(0); w.Before(before.Round(0).Add(-time.Millisecond)) || w.After(after.Round(0).Add(time.Millisecond)) {
		t.Fatalf("wall time %v; want within %v..%v", w, before, after)
	}
}

func TestNowFromZero(t *testing.T) {
	before := time.Now()
	if got := Now(time.Time{}); got.Before(before) || got.Sub(before) > time.Second {
		t.Fatalf("Now(zero) = %v; want now (%v)", got, before)
	}
}

func BenchmarkTimeNow(b *testing.B) {
	for b.Loop() {
		_ = time.Now()
	}
}

func BenchmarkNow(b *testing.B) {
	ref := time.Now()
	for b.Loop() {
		_ = Now(ref)
	}
}

func TestAnchorRenewsAfterASecond(t *testing.T) {
	var a Anchor
	first := a.Now()
	if a.ref != first {
		t.Fatalf("a zero anchor takes time.Now as its reference")
	}
	a.ref = first.Add(-2 * time.Second)
	if got := a.Now(); a.ref != got || got.Before(first) {
		t.Fatalf("an anchor over a second old is renewed: ref %v, got %v", a.ref, got)
	}
}

func TestIdleDeadlineRenewsAfterATenth(t *testing.T) {
	now := time.Now()
	var d IdleDeadline
	if !d.Renew(now, 10*time.Second) || !d.At.Equal(now.Add(10*time.Second)) {
		t.Fatalf("a zero deadline is renewed to now+timeout: %v", d.At)
	}
	if d.Renew(now.Add(900*time.Millisecond), 10*time.Second) {
		t.Fatalf("renewed after 0.9 s of a 10 s timeout (the slack is 1 s)")
	}
	if !d.Renew(now.Add(1100*time.Millisecond), 10*time.Second) {
		t.Fatalf("not renewed after 1.1 s of a 10 s timeout")
	}
	var e IdleDeadline
	e.Renew(now, time.Minute)
	if e.Renew(now.Add(999*time.Millisecond), time.Minute) || !e.Renew(now.Add(1001*time.Millisecond), time.Minute) {
		t.Fatalf("the slack is at most a second")
	}
}

// The idle timeout changes live (idle_timeout.timeout_seconds): a deadline
// set with a longer timeout is brought in at the next renewal, not kept
// until it has run down to the new one.
func TestIdleDeadlineShortenedTimeoutRenewsAtOnce(t *testing.T) {
	now := time.Now()
	var d IdleDeadline
	d.Renew(now, time.Minute)
	later := now.Add(time.Second)
	if !d.Renew(later, 2*time.Second) || !d.At.Equal(later.Add(2*time.Second)) {
		t.Fatalf("a 60 s deadline was not brought in to a new 2 s timeout: %v after %v", d.At.Sub(later), later)
	}
}
