package fleet

import (
	"io"
	"net/netip"
	"os"
	"os/exec"
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

func TestMissingLoopbackAddressesNameTheCommandsThatAddThem(t *testing.T) {
	// 192.0.2.1 (TEST-NET-1, RFC 5737) is on no interface: binding it fails
	// as binding 127.0.0.3 does on a Mac without the alias.
	testNet := netip.MustParseAddr("192.0.2.1")
	err := checkLoopbackAddrs([]netip.Addr{instanceIP(1), testNet})
	if err == nil || !strings.Contains(err.Error(), "addresses 192.0.2.1 are not") ||
		strings.Contains(err.Error(), "127.0.0.2") {
		t.Fatalf("checkLoopbackAddrs(127.0.0.2, 192.0.2.1) = %v; want an error naming 192.0.2.1 only", err)
	}
	if err := checkLoopbackAddrs([]netip.Addr{instanceIP(1), instanceIP(253)}); err != nil {
		t.Fatalf("checkLoopbackAddrs on this machine's loopback: %v", err)
	}
	got := missingAddrsError("darwin", []netip.Addr{instanceIP(2), instanceIP(3)}).Error()
	want := "fleet: the instances' addresses 127.0.0.3, 127.0.0.4 are not on this machine's loopback interface; add them with:\n" +
		"  sudo ifconfig lo0 alias 127.0.0.3 up\n  sudo ifconfig lo0 alias 127.0.0.4 up"
	if got != want {
		t.Errorf("on darwin:\n%s\nwant\n%s", got, want)
	}
}

func TestPSListsTheProcessTableAsProcDoes(t *testing.T) {
	if _, err := exec.LookPath("ps"); err != nil {
		t.Skip("no ps")
	}
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc to compare with")
	}
	self, ok := parseProcStat(os.Getpid(), string(b))
	if !ok {
		t.Fatalf("/proc/self/stat unreadable: %q", b)
	}
	for _, st := range psProcStats() {
		if st.pid == self.pid {
			if st.ppid != self.ppid || st.pgrp != self.pgrp || st.state != 'R' && st.state != 'S' {
				t.Fatalf("ps says %+v; /proc says %+v", st, self)
			}
			return
		}
	}
	t.Fatalf("ps does not list this process (%d)", self.pid)
}

func TestParsePSSkipsWhatItCannotRead(t *testing.T) {
	got := parsePS([]byte("    1     0     1 Ss\n  42    1   40 Z+\nbad line\n 7 1\n"))
	want := []procStat{{pid: 1, ppid: 0, pgrp: 1, state: 'S'}, {pid: 42, ppid: 1, pgrp: 40, state: 'Z'}}
	if !slices.Equal(got, want) {
		t.Errorf("parsePS = %+v; want %+v", got, want)
	}
}
