package fleet

import (
	"os"
	"strconv"
)

func readProcStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	return parseProcStat(pid, string(b))
}

// allProcStats reads the process table from /proc, without starting a
// process as ps would.
func allProcStats() []procStat {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	stats := make([]procStat, 0, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if st, ok := readProcStat(pid); ok {
			stats = append(stats, st)
		}
	}
	return stats
}
