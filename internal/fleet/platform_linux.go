package fleet

import (
	"os/exec"
	"syscall"
	"unsafe"
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
