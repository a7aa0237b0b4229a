package fleet

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// platformLimits is empty: on Linux the fleet keeps every promise of the
// package doc.
const platformLimits = ""

// selfExecutable is /proc/self/exe: this very binary even if its file was
// replaced or removed since it started (proc(5)).
func selfExecutable() (string, error) { return "/proc/self/exe", nil }

// supervisorSysProcAttr puts the supervisor in its own process group and
// gives it the parent-death signal (PR_SET_PDEATHSIG, prctl(2)).
func supervisorSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: sigParentDied}
}

// appSysProcAttr kills the app when its supervisor dies.
func appSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// becomeSubreaper makes orphans of the app's descendants (double forks,
// daemons) this process's children rather than init's, so they can still
// be found (PR_SET_CHILD_SUBREAPER, prctl(2)).
func becomeSubreaper() error {
	const prSetChildSubreaper = 36 // linux/prctl.h
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return errno
	}
	return nil
}

// waitSupervisorExited blocks until the supervisor has exited, leaving it a
// zombie (waitid(2) with WNOWAIT), so that its pid, which is its group's id,
// is not reused while the fleet kills what is left in the group.
func waitSupervisorExited(cmd *exec.Cmd) {
	const (
		pPID    = 1
		wExited = 0x4
		wNowait = 0x1000000
	)
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(cmd.Process.Pid),
			uintptr(unsafe.Pointer(&info[0])), wExited|wNowait, 0, 0)
		if errno != syscall.EINTR {
			return
		}
	}
}

// enterPlacement moves the calling (locked) thread into the namespaces
// whose descriptors nsFDs lists, and, with hosts set, into a mount
// namespace of its own where hosts is bind-mounted over /etc/hosts. The
// app forked from this thread inherits all of it (setns(2), unshare(2)).
func enterPlacement(nsFDs, hosts string) error {
	if nsFDs == "" {
		return nil
	}
	for _, s := range strings.Split(nsFDs, ",") {
		fd, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("bad namespace descriptor %q", s)
		}
		if err := unix.Setns(fd, 0); err != nil {
			return fmt.Errorf("join namespace (fd %d): %w", fd, err)
		}
		unix.Close(fd)
	}
	if hosts == "" {
		return nil
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("mount namespace for /etc/hosts: %w", err)
	}
	// Private first, so the bind mount does not propagate to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	if err := unix.Mount(hosts, "/etc/hosts", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s over /etc/hosts: %w", hosts, err)
	}
	return nil
}
