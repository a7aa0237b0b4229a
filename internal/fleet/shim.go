package fleet

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The supervisor shim is this same binary, re-executed by the fleet with
// shimEnv set. It lives between the fleet and the app:
//
//	elbow ──(Setpgid, Pdeathsig=SIGUSR1)──▶ shim (group leader, subreaper)
//	                                          └──(Pdeathsig=SIGKILL)──▶ app ──▶ app's children ...
//
// Protocol on fd 3 (the status pipe), one line each:
//
//	started <app pid>      the app was exec'd
//	error <message>        the app could not be exec'd; the shim exits 127
//	exit <code>            the app exited with code
//	signal <number>        the app was killed by signal
const (
	shimEnv     = "ELBOW_FLEET_SHIM"      // value shimEnvMode selects the shim
	shimEnvMode = "supervise-v1"          // bumped if the protocol changes
	shimPPIDEnv = "ELBOW_FLEET_SHIM_PPID" // pid of the elbow that launched the shim
	// shimNSEnv lists the descriptors of namespaces to join before the app
	// starts ("4,5"); shimHostsEnv a file to bind-mount over /etc/hosts.
	shimNSEnv    = "ELBOW_FLEET_SHIM_NS"
	shimHostsEnv = "ELBOW_FLEET_SHIM_HOSTS"
	statusFD     = 3

	// sigParentDied is the shim's parent-death signal. It is not SIGTERM
	// because the fleet sends SIGTERM to the whole group to stop an instance,
	// and the shim must tell the two apart.
	sigParentDied = syscall.SIGUSR1
	// sigKillTree asks the shim to SIGKILL every descendant, including the
	// ones that left the process group, and then report the app's status.
	sigKillTree = syscall.SIGUSR2

	parentPollInterval = 200 * time.Millisecond
)

// MaybeRunShim turns this process into an instance supervisor when the fleet
// started it as one, and then never returns (it exits with the shim's status).
// In any other process it returns at once and does nothing.
//
// A program that uses the fleet must call it first thing in main, before it
// parses flags or opens anything, and so must the TestMain of any test
// package that launches instances:
//
//	func main() {
//		fleet.MaybeRunShim()
//		...
//	}
func MaybeRunShim() {
	if os.Getenv(shimEnv) != shimEnvMode {
		return
	}
	os.Exit(runShim(os.Args[1:]))
}

func runShim(argv []string) int {
	// The app gets Pdeathsig=SIGKILL against this thread; the thread must not
	// exit before the app does. The shim never returns from here but by
	// os.Exit, so the locked thread lives as long as the process.
	runtime.LockOSThread()

	status := os.NewFile(statusFD, "elbow-shim-status")
	syscall.CloseOnExec(statusFD) // the app must not hold the status pipe
	report := func(format string, a ...any) {
		fmt.Fprintf(status, format+"\n", a...)
	}

	self := os.Getpid()
	wantParent, _ := strconv.Atoi(os.Getenv(shimPPIDEnv))

	signals := make(chan os.Signal, 8)
	// SIGTERM, SIGINT, SIGHUP and SIGQUIT reach the shim only together with
	// the app (they are sent to the group), so the shim ignores them and
	// waits for the app to act on them.
	signal.Notify(signals, sigParentDied, sigKillTree,
		syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)

	// From here on a lost parent is noticed by the signal or the poll, so
	// checking once now closes the window before signal.Notify.
	if os.Getppid() != wantParent {
		return 1
	}
	// Orphans of the app's descendants (double forks, daemons) are
	// reparented here rather than to init, so they can still be found.
	if err := becomeSubreaper(); err != nil {
		report("error set child subreaper: %v", err)
		return 127
	}

	if len(argv) == 0 {
		report("error no command")
		return 127
	}
	// On this locked thread, so the app forked from it is born inside.
	if err := enterPlacement(os.Getenv(shimNSEnv), os.Getenv(shimHostsEnv)); err != nil {
		report("error %v", err)
		return 127
	}
	env := withoutShimEnv(os.Environ())
	path, err := exec.LookPath(argv[0])
	if err != nil {
		report("error %v", err)
		return 127
	}
	appPID, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   appSysProcAttr(),
	})
	if err != nil {
		report("error exec %s: %v", argv[0], err)
		return 127
	}
	report("started %d", appPID)

	appExited := make(chan syscall.WaitStatus, 1)
	go reapChildren(appPID, appExited)

	poll := time.NewTicker(parentPollInterval)
	defer poll.Stop()
	for {
		select {
		case ws := <-appExited:
			// Whatever the app left behind dies with it.
			killDescendants(self)
			switch {
			case ws.Signaled():
				report("signal %d", int(ws.Signal()))
			default:
				report("exit %d", ws.ExitStatus())
			}
			return 0
		case sig := <-signals:
			switch sig {
			case sigParentDied:
				killEverythingAndDie(self)
			case sigKillTree:
				killDescendants(self)
			}
		case <-poll.C:
			if os.Getppid() != wantParent {
				killEverythingAndDie(self)
			}
		}
	}
}

// reapChildren waits for every child of the shim (the app, and orphans
// reparented to the subreaper) and hands the app's status on.
func reapChildren(appPID int, appExited chan<- syscall.WaitStatus) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			// ECHILD: nothing left to reap. The app's status was sent before.
			return
		}
		if pid == appPID {
			appExited <- ws
		}
	}
}

// killEverythingAndDie kills every descendant and then the shim's own
// process group, the shim included. It is the answer to elbow's death.
func killEverythingAndDie(self int) {
	killDescendants(self)
	syscall.Kill(0, syscall.SIGKILL)
	os.Exit(1) // not reached
}

// killDescendants SIGKILLs every live process below root in the process tree
// and every other member of root's process group, until a scan of /proc
// finds none. A process forked between a scan and its parent's death is
// found by the next scan: it is in the group, or a subreaper orphan of root.
func killDescendants(root int) {
	for range 50 {
		victims := descendantsAndGroup(root)
		if len(victims) == 0 {
			return
		}
		for _, pid := range victims {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func withoutShimEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if strings.HasPrefix(kv, shimEnv+"=") || strings.HasPrefix(kv, shimPPIDEnv+"=") ||
			strings.HasPrefix(kv, shimNSEnv+"=") || strings.HasPrefix(kv, shimHostsEnv+"=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// shimResult is what the fleet learns from the status pipe.
type shimLine struct {
	kind string // started, error, exit, signal
	arg  string
}

func readShimLine(r *bufio.Reader) (shimLine, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return shimLine{}, err
	}
	kind, arg, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
	return shimLine{kind: kind, arg: arg}, nil
}
