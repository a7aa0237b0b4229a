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
	statusFD    = 3

	// sigParentDied is the shim's parent-death signal. It is not SIGTERM
	// because the fleet sends SIGTERM to the whole group to stop an instance,
	// and the shim must tell the two apart.
	sigParentDied = syscall.SIGUSR1
	// sigKillTree asks the shim to SIGKILL every descendant, including the
	// ones that left the process group, and then report the app's status.
	sigKillTree = syscall.SIGUSR2

	prSetChildSubreaper = 36 // linux/prctl.h
	parentPollInterval  = 200 * time.Millisecond
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
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		report("error set child subreaper: %v", errno)
		return 127
	}

	if len(argv) == 0 {
		report("error no command")
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
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
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

// procStat is what the fleet needs from /proc/<pid>/stat.
type procStat struct {
	pid, ppid, pgrp int
	state           byte
}

func readProcStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	return parseProcStat(pid, string(b))
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

func withoutShimEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if strings.HasPrefix(kv, shimEnv+"=") || strings.HasPrefix(kv, shimPPIDEnv+"=") {
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
