package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGCSetsTheTargetUnlessGOGCIsSet(t *testing.T) {
	was := debug.SetGCPercent(100)
	defer debug.SetGCPercent(was)

	if got := tuneGC(func(string) string { return "" }); got != upGCPercent {
		t.Errorf("tuneGC without GOGC = %d, want %d", got, upGCPercent)
	}
	if got := debug.SetGCPercent(100); got != upGCPercent {
		t.Errorf("GC percent in force without GOGC = %d, want %d", got, upGCPercent)
	}

	// The user's GOGC (here as the runtime read it at start: 100) stays.
	env := map[string]string{"GOGC": "100"}
	if got := tuneGC(func(k string) string { return env[k] }); got != 100 {
		t.Errorf("tuneGC with GOGC=100 = %d, want 100", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent in force with GOGC=100 = %d, want 100 (left alone)", got)
	}
}
