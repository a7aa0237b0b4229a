package monitor

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func writeStat(t *testing.T, root string, pid, ppid int, state string, utime, stime int, tasks ...string) {
	t.Helper()
	dir := filepath.Join(root, itoa(pid))
	line := itoa(pid) + " (py thon) (x)) " + state + " " + itoa(ppid) + " 0 0 0 0 0 0 0 0 0 " + itoa(utime) + " " + itoa(stime) + " 0 0 20 0 1\n"
	if err := os.MkdirAll(filepath.Join(dir, "task"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, st := range tasks {
		td := filepath.Join(dir, "task", itoa(pid*100+i))
		if err := os.MkdirAll(td, 0o755); err != nil {
			t.Fatal(err)
		}
		tl := itoa(pid) + " (t) " + st + " " + itoa(ppid) + " 0 0 0 0 0 0 0 0 0 0 0\n"
		if err := os.WriteFile(filepath.Join(td, "stat"), []byte(tl), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestProcFSSumsTheTree(t *testing.T) {
	root := t.TempDir()
	writeStat(t, root, 10, 1, "S", 100, 50, "S", "R")  // the shell
	writeStat(t, root, 11, 10, "R", 300, 20, "R", "D") // the app
	writeStat(t, root, 12, 11, "S", 5, 5)              // its worker, no task dir entries
	writeStat(t, root, 20, 1, "R", 999, 999, "R")      // someone else
	got := ProcFS{Root: root}.Sample([]int{10, 99})
	want := ProcessSample{User: 405 * clockTick, System: 75 * clockTick, Runnable: 3}
	if len(got) != 1 || got[10] != want {
		t.Fatalf("got %+v, want only pid 10: %+v", got, want)
	}
	if want.User != 4050*time.Millisecond {
		t.Fatalf("clock tick %v, want 10 ms", clockTick)
	}
}

func TestProcFSReadsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	pid := os.Getpid()
	s, ok := ProcFS{}.Sample([]int{pid})[pid]
	if !ok {
		t.Fatalf("no sample of this process (%d)", pid)
	}
	if s.Runnable < 1 {
		t.Errorf("this process runs, yet %d threads are runnable", s.Runnable)
	}
}
