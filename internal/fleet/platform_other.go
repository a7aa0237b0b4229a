//go:build !linux

package fleet

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// platformLimits is what the fleet cannot promise without Linux's
// parent-death signal and child subreaper (prctl(2) PR_SET_PDEATHSIG and
// PR_SET_CHILD_SUBREAPER); Start logs it once.
const platformLimits = "no parent-death signal or child subreaper on this system: " +
	"if elbow is killed with SIGKILL, its instances are killed only when their supervisors next check their parent (every 200 ms), " +
	"an app whose supervisor is killed with SIGKILL outlives it unless elbow is still running, " +
	"and processes that left the app's process group (setsid, daemons) outlive elbow"

// selfExecutable is the path this binary was started from; unlike Linux's
// /proc/self/exe it breaks if the file is replaced while elbow runs.
func selfExecutable() (string, error) { return os.Executable() }

// supervisorSysProcAttr puts the supervisor in its own process group; there
// is no parent-death signal: the supervisor polls its parent instead.
func supervisorSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func appSysProcAttr() *syscall.SysProcAttr { return nil }

func becomeSubreaper() error { return nil }

// waitSupervisorExited reaps the supervisor: there is no waitid(2) WNOWAIT
// to leave it a zombie. Killing its group after that is still safe while any
// member lives, as POSIX reuses no process group id before the group is
// gone (https://pubs.opengroup.org/onlinepubs/9799919799/basedefs/V1_chap04.html,
// "Process ID Reuse").
func waitSupervisorExited(cmd *exec.Cmd) { _ = cmd.Wait() }

// enterPlacement: placements in a network of their own need Linux
// namespaces; the vpc package refuses to build one elsewhere, so a
// placement never reaches here.
func enterPlacement(nsFDs, hosts string) error {
	if nsFDs != "" || hosts != "" {
		return errors.New("network namespaces need Linux")
	}
	return nil
}
