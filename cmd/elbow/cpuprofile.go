//go:build cpuprofile

package main

// A diagnostic build (go build -tags cpuprofile ./cmd/elbow): with
// ELBOW_CPUPROFILE=FILE set, the process writes a CPU profile of its first
// ELBOW_CPUPROFILE_SECONDS seconds (default 30) to FILE, so that `elbow up`
// can be profiled as bench/up.sh runs it, monitor and console included.
// Not in the default build: nothing here runs for users.

import (
	"os"
	"runtime/pprof"
	"strconv"
	"time"
)

func init() {
	path := os.Getenv("ELBOW_CPUPROFILE")
	if path == "" {
		return
	}
	seconds, err := strconv.Atoi(os.Getenv("ELBOW_CPUPROFILE_SECONDS"))
	if err != nil || seconds <= 0 {
		seconds = 30
	}
	f, err := os.Create(path)
	if err != nil {
		os.Stderr.WriteString("ELBOW_CPUPROFILE: " + err.Error() + "\n")
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		os.Stderr.WriteString("ELBOW_CPUPROFILE: " + err.Error() + "\n")
		f.Close()
		return
	}
	time.AfterFunc(time.Duration(seconds)*time.Second, func() {
		pprof.StopCPUProfile()
		f.Close()
	})
}
