package fleet

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRestartDelayDoublesUpToTheMaximum(t *testing.T) {
	f := &Fleet{cfg: Config{RestartDelay: 500 * time.Millisecond, MaxRestartDelay: 30 * time.Second}}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		if got := f.restartDelay(i + 1); got != w {
			t.Errorf("delay after crash %d = %s, want %s", i+1, got, w)
		}
	}
	if got := f.restartDelay(10000); got != 30*time.Second {
		t.Errorf("delay after crash 10000 = %s", got)
	}
}

func TestComposeEnvLaterLayersWin(t *testing.T) {
	got := composeEnv(
		[]string{"PATH=/bin", "PORT=9", "A=elbow"},
		[]string{"A=user", "B=user"},
		[]string{"B=hook"},
		[]string{"PORT=8000"},
	)
	want := []string{"PATH=/bin", "PORT=8000", "A=user", "B=hook"}
	if !slices.Equal(got, want) {
		t.Errorf("composeEnv = %q, want %q", got, want)
	}
}

func TestOutputLogSplitsHugeLinesAndKeepsTheLastOnes(t *testing.T) {
	o := newOutputLog(nil, 3)
	r, w := io.Pipe()
	done := make(chan struct{})
	go func() { o.consume(r); close(done) }()
	huge := strings.Repeat("x", readBufferBytes+10)
	io.WriteString(w, "first\r\n"+huge+"\nlast without newline")
	w.Close()
	<-done
	tail := o.tail(10)
	if len(tail) != 3 {
		t.Fatalf("tail has %d lines, want 3 (the ring size)", len(tail))
	}
	// The huge line arrives as a buffer-full piece (cut to the memory bound)
	// and its remainder.
	if len(tail[0]) != maxTailLineBytes || tail[1] != strings.Repeat("x", 10) || tail[2] != "last without newline" {
		t.Errorf("tail = [%d bytes, %q, %q]", len(tail[0]), tail[1], tail[2])
	}
}

func TestReadProcStatHandlesAnyCommandName(t *testing.T) {
	st, ok := parseProcStat(4242, "4242 (evil) S 1 2 (x) Z 7 4242 4242 0 -1 4194560 ...\n")
	if want := (procStat{pid: 4242, ppid: 7, pgrp: 4242, state: 'Z'}); !ok || st != want {
		t.Errorf("parseProcStat = %+v, %v; want %+v", st, ok, want)
	}
	if _, ok := parseProcStat(1, "1 (truncated"); ok {
		t.Error("a truncated stat line parsed")
	}
}
