package fleet

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
)

// procStat is what the fleet needs of a process: from /proc/<pid>/stat on
// Linux, from ps elsewhere.
type procStat struct {
	pid, ppid, pgrp int
	state           byte
}

func parseProcStat(pid int, s string) (procStat, bool) {
	// The command name is in parentheses and may contain spaces and ')'.
	end := strings.LastIndexByte(s, ')')
	if end < 0 || end+2 >= len(s) {
		return procStat{}, false
	}
	fields := strings.Fields(s[end+2:])
	if len(fields) < 3 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(fields[1])
	pgrp, err2 := strconv.Atoi(fields[2])
	if err1 != nil || err2 != nil || len(fields[0]) != 1 {
		return procStat{}, false
	}
	return procStat{pid: pid, ppid: ppid, pgrp: pgrp, state: fields[0][0]}, true
}

// descendantsAndGroup lists the live (non-zombie) processes below root and
// the other live members of root's process group.
func descendantsAndGroup(root int) []int {
	stats := allProcStats()
	children := make(map[int][]int, len(stats))
	alive := make(map[int]bool, len(stats))
	rootGroup := 0
	for _, st := range stats {
		children[st.ppid] = append(children[st.ppid], st.pid)
		alive[st.pid] = st.state != 'Z' && st.state != 'X'
		if st.pid == root {
			rootGroup = st.pgrp
		}
	}
	seen := map[int]bool{root: true}
	var out []int
	stack := []int{root}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range children[p] {
			if seen[c] {
				continue
			}
			seen[c] = true
			stack = append(stack, c)
			if alive[c] {
				out = append(out, c)
			}
		}
	}
	if rootGroup != 0 {
		for _, st := range stats {
			if st.pgrp == rootGroup && !seen[st.pid] && alive[st.pid] {
				seen[st.pid] = true
				out = append(out, st.pid)
			}
		}
	}
	return out
}

// psProcStats lists every process from ps(1), whose -o fields are POSIX
// (https://pubs.opengroup.org/onlinepubs/9799919799/utilities/ps.html):
// the process table where there is no /proc to read, as on macOS.
func psProcStats() []procStat {
	out, err := exec.Command("ps", "-A", "-o", "pid=", "-o", "ppid=", "-o", "pgid=", "-o", "stat=").Output()
	if err != nil {
		return nil
	}
	return parsePS(out)
}

// parsePS reads lines of "pid ppid pgid state"; a line it cannot read is
// skipped, as a /proc entry that vanished is.
func parsePS(out []byte) []procStat {
	var stats []procStat
	for line := range bytes.Lines(out) {
		f := strings.Fields(string(line))
		if len(f) < 4 || f[3] == "" {
			continue
		}
		pid, err1 := strconv.Atoi(f[0])
		ppid, err2 := strconv.Atoi(f[1])
		pgrp, err3 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		stats = append(stats, procStat{pid: pid, ppid: ppid, pgrp: pgrp, state: f[3][0]})
	}
	return stats
}
