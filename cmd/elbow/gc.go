package main

import "runtime/debug"

// upGCPercent is the garbage collector's target (GOGC) for `elbow up` when
// the user sets none: the heap may grow to three times what is live before
// a collection, not the runtime's two.
//
// Why: a load balancer's live heap is small (a few MiB here), and TLS
// handshakes allocate tens of kB each. At the runtime's GOGC=100 a stream
// of new HTTPS connections ran the collector, its stack scans and its
// scavenger (which hands pages back that the next handshakes fault in
// again) about twice as often, for a fifth of elbow's CPU per request.
// bench/ab.sh ROW=close (a TLS session resumed per request, both builds
// loaded at once, 6 rounds), GOGC=200 against 100: CPU per request 0.79,
// requests 1.20, p99 0.87, for 2.6 MB more resident memory (29.6 MB
// against 27.0 MB at its peak). GOGC=800 against 200 saved only 5 % more,
// for 25 MB. Keep-alive traffic allocates nothing per request, so this
// moves nothing there.
const upGCPercent = 200

// tuneGC sets upGCPercent unless GOGC is set in the environment, which
// wins as it does for any Go program (GOGC=off included). It returns the
// target in force.
func tuneGC(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		current := debug.SetGCPercent(-1)
		debug.SetGCPercent(current)
		return current
	}
	debug.SetGCPercent(upGCPercent)
	return upGCPercent
}
