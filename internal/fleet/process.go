package fleet

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// launcher forks every supervisor from one goroutine locked to its OS
// thread. The supervisor's parent-death signal fires when the thread that
// forked it exits, not when elbow exits (golang/go#27505); a Go thread exits
// only when a goroutine locked to it returns, so the launcher's thread lives
// until the fleet has stopped every instance.
type launcher struct {
	requests  chan launchRequest
	closeOnce sync.Once
}

type launchRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func startLauncher() *launcher {
	l := &launcher{requests: make(chan launchRequest)}
	go func() {
		runtime.LockOSThread()
		// Never unlocked: returning with the lock held ends the thread,
		// which is what we want once no child of it is left.
		for r := range l.requests {
			r.done <- r.cmd.Start()
		}
	}()
	return l
}

func (l *launcher) start(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	l.requests <- launchRequest{cmd: cmd, done: done}
	return <-done
}

func (l *launcher) close() { l.closeOnce.Do(func() { close(l.requests) }) }

// process is one run of an instance: its supervisor and the app below it.
type process struct {
	cmd           *exec.Cmd
	supervisorPID int // also the process group id
	appPID        int
	exited        chan ExitStatus // receives once, after everything is reaped

	mu     sync.Mutex
	reaped bool // the supervisor is reaped: its pid, and so the group id, may be reused
}

// startProcess starts the instance's supervisor, which starts the app, and
// returns once the supervisor reported the app's pid.
func (f *Fleet) startProcess(in *instance) (*process, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("fleet: output pipe for instance %s: %w", in.ID, err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("fleet: status pipe for instance %s: %w", in.ID, err)
	}
	env := append(in.env[:len(in.env):len(in.env)],
		shimEnv+"="+shimEnvMode,
		shimPPIDEnv+"="+strconv.Itoa(os.Getpid()))
	self, err := selfExecutable()
	if err != nil {
		outR.Close()
		outW.Close()
		statusR.Close()
		statusW.Close()
		return nil, fmt.Errorf("fleet: supervisor of instance %s: %w", in.ID, err)
	}
	extra := []*os.File{statusW} // fd 3
	if pl := in.placement; pl != nil {
		// fd 4 on: the namespaces the supervisor joins.
		fds := make([]string, len(pl.Namespaces))
		for i, ns := range pl.Namespaces {
			fds[i] = strconv.Itoa(statusFD + 1 + i)
			extra = append(extra, ns)
		}
		env = append(env, shimNSEnv+"="+strings.Join(fds, ","))
		if pl.Hosts != "" {
			env = append(env, shimHostsEnv+"="+pl.Hosts)
		}
	}
	cmd := &exec.Cmd{
		Path:        self,
		Args:        append([]string{"elbow-supervisor"}, in.tmpl.Command...),
		Dir:         in.tmpl.Dir,
		Env:         env,
		Stdout:      outW,
		Stderr:      outW,
		ExtraFiles:  extra,
		SysProcAttr: supervisorSysProcAttr(),
	}
	err = f.launcher.start(cmd)
	outW.Close()
	statusW.Close()
	if err != nil {
		outR.Close()
		statusR.Close()
		return nil, fmt.Errorf("fleet: start supervisor of instance %s: %w", in.ID, err)
	}
	in.readers.Add(1)
	go func() {
		defer in.readers.Done()
		in.out.consume(outR)
	}()

	p := &process{cmd: cmd, supervisorPID: cmd.Process.Pid, exited: make(chan ExitStatus, 1)}
	status := bufio.NewReader(statusR)
	type handshake struct {
		line shimLine
		err  error
	}
	first := make(chan handshake, 1)
	go func() {
		line, err := readShimLine(status)
		first <- handshake{line, err}
	}()
	var hs handshake
	select {
	case hs = <-first:
	case <-time.After(handshakeTimeout):
		hs.err = errors.New("no answer")
	}
	if hs.err == nil && hs.line.kind == "started" {
		p.appPID, err = strconv.Atoi(hs.line.arg)
		if err == nil {
			go p.wait(status, statusR)
			return p, nil
		}
		hs.err = fmt.Errorf("bad app pid %q", hs.line.arg)
	}
	// The supervisor did not start the app; make sure it is gone.
	p.signalGroup(sigKill)
	p.waitAndKillGroup()
	statusR.Close()
	if hs.err == nil && hs.line.kind == "error" {
		return nil, fmt.Errorf("fleet: start instance %s: %s", in.ID, hs.line.arg)
	}
	return nil, fmt.Errorf("fleet: supervisor of instance %s did not start the app (%v); "+
		"does the program's main call fleet.MaybeRunShim first?", in.ID, hs.err)
}

// wait waits for the supervisor to exit, kills whatever is left in its
// group, and reports how the app ended.
func (p *process) wait(status *bufio.Reader, statusR *os.File) {
	state := p.waitAndKillGroup()
	exit := ExitStatus{Code: -1}
	if line, err := readShimLine(status); err == nil && (line.kind == "exit" || line.kind == "signal") {
		n, _ := strconv.Atoi(line.arg)
		if line.kind == "exit" {
			exit = ExitStatus{Code: n}
		} else {
			exit = ExitStatus{Signal: syscall.Signal(n)}
		}
	} else if state != nil {
		// The supervisor itself was killed before it could report.
		if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			exit = ExitStatus{Signal: ws.Signal()}
		} else {
			exit = ExitStatus{Code: state.ExitCode()}
		}
	}
	statusR.Close()
	p.exited <- exit
}

// waitAndKillGroup waits until the supervisor exits, SIGKILLs its group
// (on Linux while its unreaped zombie still pins the group id, see
// waitSupervisorExited), then reaps it.
func (p *process) waitAndKillGroup() *os.ProcessState {
	waitSupervisorExited(p.cmd)
	p.mu.Lock()
	syscall.Kill(-p.supervisorPID, sigKill)
	p.reaped = true
	p.mu.Unlock()
	p.cmd.Wait()
	return p.cmd.ProcessState
}

// signalGroup signals every process in the instance's group, unless the
// supervisor is already reaped (then its group id may belong to others).
func (p *process) signalGroup(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.reaped {
		syscall.Kill(-p.supervisorPID, sig)
	}
}

func (p *process) signalSupervisor(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.reaped {
		syscall.Kill(p.supervisorPID, sig)
	}
}
