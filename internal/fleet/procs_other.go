//go:build !linux

package fleet

// allProcStats asks ps(1): there is no /proc to read.
func allProcStats() []procStat { return psProcStats() }
