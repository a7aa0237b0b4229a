package vpc

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Linux capability numbers (linux/capability.h).
const (
	capNetAdmin = 12
	capSysAdmin = 21
)

// CheckPrivilege tells whether this process may build a VPC, and if not
// says exactly what is missing and what to do instead.
func CheckPrivilege() error {
	eff, err := effectiveCaps()
	if err != nil {
		return fmt.Errorf("network vpc: cannot read this process's capabilities: %w", err)
	}
	return privilegeError(eff)
}

func privilegeError(eff uint64) error {
	var missing []string
	if eff&(1<<capNetAdmin) == 0 {
		missing = append(missing, "CAP_NET_ADMIN")
	}
	if eff&(1<<capSysAdmin) == 0 {
		missing = append(missing, "CAP_SYS_ADMIN")
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("network vpc needs the capabilities CAP_NET_ADMIN and CAP_SYS_ADMIN (run elbow as root) "+
		"to create the instances' network namespaces; this process lacks %s. "+
		"Run as root, or use network: loopback (the default), which needs no privilege",
		strings.Join(missing, " and "))
}

// effectiveCaps reads CapEff from /proc/self/status (proc(5)).
func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no CapEff line in /proc/self/status")
}
