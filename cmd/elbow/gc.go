package main

import "runtime/debug"

// upGCPercent is the garbage collector's target (GOGC) for `elbow up` when
// the user sets none: the heap may grow to three times what is live before
// a collection, not the runtime's two.
//
// Why: a load balancer's live heap is small (a few MiB here), and TLS
// handshakes allocate tens of kB each. At the runtime's GOGC=100, under a
// stream of new HTTPS connections, the collector's mark workers, assists,
// sweeper and scavenger (which hands back pages that the next handshakes
// fault in again) took 11.7 % of elbow's CPU (perf record); at 200, 6.3 %.
// bench/ab.sh ROW=close (a TLS session resumed per request, both builds
// loaded at once, 8 rounds), this setting against none: CPU per request
// 0.87, requests 1.01, p99 0.97, for about 3 MB more resident memory at its
// peak (30.4 MB against 27.6 MB). GOGC=800 against 200 saved only 5 % more,
// for 24 MB. Keep-alive traffic allocates nothing per request, so this
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
