// Package monotime owns time on the data path: cheap readings of the
// current time, and the idle-timeout deadlines renewed from them. It is not
// a clock to fake: tests of timing use real time or testing/synctest.
//
// time.Now reads two clocks (wall and monotonic); on the VMs elbow runs on
// each read is a vDSO call of about 20 ns, several per proxied request. Now
// reads only the monotonic clock and derives the wall time from an earlier
// reading.
package monotime

import "time"

// Now returns the current time as ref plus the monotonic time elapsed
// since ref: the same instant time.Now would give (its wall part derived
// from ref's), for one clock read instead of two. A ref without a
// monotonic reading (the zero Time) falls back to time.Now, and so does a
// ref more than a second old: the wall clock may have been set or slewed
// since, and a long-lived reference (a connection's last request) would
// carry that error on.
func Now(ref time.Time) time.Time {
	if ref.IsZero() {
		return time.Now()
	}
	if d := time.Since(ref); d < time.Second {
		return ref.Add(d)
	}
	return time.Now()
}

// Anchor is a reference reading for Now that renews itself: a connection
// keeps one, so that its requests' start times cost one clock read each.
type Anchor struct{ ref time.Time }

// Now is Now(the anchor), and takes a fresh time.Now as the anchor when the
// old one is over a second old.
func (a *Anchor) Now() time.Time {
	if d := time.Since(a.ref); !a.ref.IsZero() && d < time.Second {
		return a.ref.Add(d)
	}
	a.ref = time.Now()
	return a.ref
}

// IdleDeadline is a deadline kept an idle timeout ahead of the last
// activity: the ALB cuts a connection with no data sent or received for
// that long. Setting a deadline on a connection costs a runtime timer
// update, so it is renewed only once it has run down by more than a tenth
// of the timeout (at most a second): the effective timeout lies within that
// slack below the timeout. The one rule for every reader and writer of the
// data path (client and target connections, both servers).
type IdleDeadline struct{ At time.Time }

// Renew reports whether the deadline, at now, is due for renewal to
// now+timeout, and if so renews it: the caller then sets At on its
// connection. A deadline further ahead than timeout (the idle timeout was
// shortened since it was set) is renewed at once.
func (d *IdleDeadline) Renew(now time.Time, timeout time.Duration) bool {
	if left := d.At.Sub(now); left >= timeout-min(time.Second, timeout/10) && left <= timeout {
		return false
	}
	d.At = now.Add(timeout)
	return true
}
