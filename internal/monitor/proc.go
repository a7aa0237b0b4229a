package monitor

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ProcessSample is the cumulative CPU time of a process tree and how many of
// its threads are runnable or in uninterruptible sleep (what Linux counts in
// the load average).
type ProcessSample struct {
	User, System time.Duration
	Runnable     int
}

// ProcessSampler reads the process trees of instances. The default reads
// /proc; tests inject fakes.
type ProcessSampler interface {
	// Sample returns a sample for each root pid whose process exists.
	Sample(roots []int) map[int]ProcessSample
}

// clockTick is USER_HZ, the unit of utime and stime in /proc/<pid>/stat. It
// is 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK) needs
// cgo to ask).
const clockTick = time.Second / 100

// ProcFS samples process trees from a proc file system.
type ProcFS struct {
	// Root is the mount point; "" means /proc.
	Root string
}

type procStat struct {
	ppid         int
	state        byte
	utime, stime uint64
}

// Sample scans the proc file system once for all roots: each tree is the
// root and every process descending from it by parent pid. CPU time of
// children that have exited is not counted: a tree's total can drop, and the
// monitor clamps the difference at zero.
func (p ProcFS) Sample(roots []int) map[int]ProcessSample {
	root := p.Root
	if root == "" {
		root = "/proc"
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	stats := make(map[int]procStat, len(entries))
	children := make(map[int][]int)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, ok := readStat(filepath.Join(root, e.Name(), "stat"))
		if !ok {
			continue
		}
		stats[pid] = st
		children[st.ppid] = append(children[st.ppid], pid)
	}
	out := make(map[int]ProcessSample, len(roots))
	for _, r := range roots {
		if _, ok := stats[r]; !ok || r <= 0 {
			continue
		}
		var s ProcessSample
		queue := []int{r}
		for len(queue) > 0 {
			pid := queue[0]
			queue = queue[1:]
			st := stats[pid]
			s.User += time.Duration(st.utime) * clockTick
			s.System += time.Duration(st.stime) * clockTick
			s.Runnable += runnableThreads(filepath.Join(root, strconv.Itoa(pid), "task"), st)
			queue = append(queue, children[pid]...)
		}
		out[r] = s
	}
	return out
}

// runnableThreads counts the threads of a process in state R or D; when the
// task directory cannot be read it falls back to the process's own state.
func runnableThreads(taskDir string, proc procStat) int {
	tasks, err := os.ReadDir(taskDir)
	if err != nil {
		return loadState(proc.state)
	}
	n := 0
	for _, t := range tasks {
		if st, ok := readStat(filepath.Join(taskDir, t.Name(), "stat")); ok {
			n += loadState(st.state)
		}
	}
	return n
}

func loadState(s byte) int {
	if s == 'R' || s == 'D' {
		return 1
	}
	return 0
}

// readStat parses /proc/<pid>/stat. The command name is in parentheses and
// may itself hold spaces and parentheses, so fields are read after the last
// ')': state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
// cmajflt utime stime (proc(5)).
func readStat(path string) (procStat, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, false
	}
	f := bytes.Fields(b[i+2:])
	if len(f) < 13 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	ut, err2 := strconv.ParseUint(string(f[11]), 10, 64)
	stt, err3 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || len(f[0]) != 1 {
		return procStat{}, false
	}
	return procStat{ppid: ppid, state: f[0][0], utime: ut, stime: stt}, true
}
