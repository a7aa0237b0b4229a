package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// instance is one instance and its owner goroutine's state. Its lifecycle
// (states, hooks, events) is driven by one goroutine, Fleet.run, so every
// transition happens once and in order.
type instance struct {
	Instance
	logPath string     // set before the instance is visible
	out     *outputLog // set before the instance is visible
	env     []string   // the app's whole environment; written by the owner goroutine
	hookEnv []string   // from the Prepare hook, kept across redeployments
	cleanup func()     // from the Prepare hook
	// placement is the instance's place in Config.Network; nil on the
	// loopback.
	placement *Placement

	// redeployCh hands Redeploy's requests to the owner goroutine; it is
	// unbuffered, so a request is either taken by it or not at all.
	redeployCh chan redeployRequest

	stopOnce sync.Once
	stopCh   chan struct{} // closed when termination is requested
	stopCtx  context.Context
	done     chan struct{} // closed when the instance is terminated

	readers sync.WaitGroup // output readers of every process started

	// Guarded by Fleet.mu; written only by the owner goroutine once the
	// instance is visible.
	tmpl          Template
	state         State
	pid           int
	supervisorPID int
	launchTime    time.Time
	lastStart     time.Time
	restarts      int
	lastExit      *ExitStatus
}

func (in *instance) requestStop(ctx context.Context) {
	in.stopOnce.Do(func() {
		in.stopCtx = ctx
		close(in.stopCh)
	})
}

func (in *instance) stopRequested() bool {
	select {
	case <-in.stopCh:
		return true
	default:
		return false
	}
}

func (in *instance) statusLocked() InstanceStatus {
	return InstanceStatus{
		Instance:      in.Instance,
		State:         in.state,
		PID:           in.pid,
		SupervisorPID: in.supervisorPID,
		LaunchTime:    in.launchTime,
		LastStart:     in.lastStart,
		Restarts:      in.restarts,
		LastExit:      in.lastExit,
		LogPath:       in.logPath,
		Version:       in.tmpl.Version,
		Deployment:    in.tmpl.Deployment,
	}
}

// run is the owner goroutine of one instance: it starts the process,
// restarts it with backoff when it exits, replaces it on Redeploy, and stops
// it on request. firstStart receives the outcome of the first start.
func (f *Fleet) run(in *instance, firstStart chan<- error) {
	launched := false
	consecutiveCrashes := 0
	// deploying is the Redeploy whose start the next iteration reports.
	var deploying *redeployRequest
	// failedRedeploy is a Redeploy whose start failed, answered with
	// failedErr once the instance's status shows the failure.
	var failedRedeploy *redeployRequest
	var failedErr error
	for {
		if in.stopRequested() {
			if !launched {
				firstStart <- fmt.Errorf("fleet: start instance %s (%s): %w", in.ID, in.IP, ErrStopped)
			}
			if deploying != nil {
				deploying.done <- fmt.Errorf("fleet: redeploy instance %s (%s): %w", in.ID, in.IP, ErrTerminating)
			}
			f.terminate(in, nil, launched)
			return
		}
		p, err := f.startProcess(in)
		var exit ExitStatus
		if err != nil {
			if !launched {
				f.emit(in, EventExited, SeverityError, fmt.Sprintf("Instance %s (%s) failed to start: %v", in.ID, in.IP, err))
				firstStart <- err
				f.terminate(in, nil, false)
				return
			}
			// The Redeploy that started it hears of the failure once the
			// instance's status says so (below).
			failedRedeploy, failedErr, deploying = deploying, err, nil
			exit = ExitStatus{StartError: err.Error()}
		} else {
			now := f.clock.Now()
			f.mu.Lock()
			in.state, in.pid, in.supervisorPID, in.lastStart = StateRunning, p.appPID, p.supervisorPID, now
			restarts := in.restarts
			tmpl := in.tmpl
			f.mu.Unlock()
			switch {
			case !launched:
				launched = true
				firstStart <- nil
				if f.cfg.Hooks.Launched != nil {
					f.cfg.Hooks.Launched(in.Instance)
				}
				f.emit(in, EventLaunched, SeverityInfo, fmt.Sprintf("Added instance [%s] to your environment.", in.ID))
			case deploying != nil:
				f.emit(in, EventRedeployed, SeverityInfo, fmt.Sprintf("Instance %s (%s) runs version %s (deployment %d) with pid %d.",
					in.ID, in.IP, versionWords(tmpl.Version), tmpl.Deployment, p.appPID))
				deploying.done <- nil
				deploying = nil
			default:
				f.emit(in, EventRestarted, SeverityInfo, fmt.Sprintf("Instance %s (%s) restarted with pid %d (restart %d).", in.ID, in.IP, p.appPID, restarts))
			}
			select {
			case exit = <-p.exited:
			case <-in.stopCh:
				f.terminate(in, p, true)
				return
			case req := <-in.redeployCh:
				f.stopForRedeploy(in, p, req)
				consecutiveCrashes = 0
				deploying = &req
				continue
			}
			if f.clock.Now().Sub(now) >= f.cfg.ResetAfter {
				consecutiveCrashes = 0
			}
		}

		consecutiveCrashes++
		delay := f.restartDelay(consecutiveCrashes)
		f.mu.Lock()
		in.state, in.pid, in.supervisorPID = StateRestarting, 0, 0
		in.lastExit = &exit
		in.restarts++
		restart := in.restarts
		f.mu.Unlock()
		if failedRedeploy != nil {
			failedRedeploy.done <- failedErr
			failedRedeploy = nil
		}
		severity := SeverityWarn
		if exit.StartError != "" {
			severity = SeverityError
		}
		f.emit(in, EventExited, severity, fmt.Sprintf("Instance %s (%s) %s; restarting in %s (restart %d).", in.ID, in.IP, exit, delay, restart))
		select {
		case <-f.clock.After(delay):
		case <-in.stopCh:
			f.terminate(in, nil, true)
			return
		case req := <-in.redeployCh:
			// Nothing runs: the new template starts at once.
			f.stopForRedeploy(in, nil, req)
			consecutiveCrashes = 0
			deploying = &req
		}
	}
}

// restartDelay is the backoff before the restart that follows the n-th
// consecutive crash: RestartDelay doubled n-1 times, at most MaxRestartDelay.
func (f *Fleet) restartDelay(n int) time.Duration {
	d := f.cfg.RestartDelay
	for i := 1; i < n && d < f.cfg.MaxRestartDelay; i++ {
		d *= 2
	}
	return min(d, f.cfg.MaxRestartDelay)
}

// terminate runs the Terminating hook (if the target was registered), stops
// p (if it runs), releases what the instance held and retires it.
func (f *Fleet) terminate(in *instance, p *process, launched bool) {
	ctx := context.Background()
	if in.stopRequested() && in.stopCtx != nil {
		ctx = in.stopCtx
	}
	if launched {
		f.mu.Lock()
		in.state = StateStopping
		f.mu.Unlock()
		f.emit(in, EventTerminating, SeverityInfo, fmt.Sprintf("Terminating instance %s (%s).", in.ID, in.IP))
		if f.cfg.Hooks.Terminating != nil {
			f.cfg.Hooks.Terminating(ctx, in.Instance)
		}
	}
	if p != nil {
		exit := f.stopProcess(ctx, in, p)
		f.mu.Lock()
		in.lastExit = &exit
		f.mu.Unlock()
	}

	// Every process is gone, so the output pipes reach EOF at once unless a
	// process escaped the supervisor; the wait is bounded either way.
	drained := make(chan struct{})
	go func() { in.readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainOutputTimeout):
	}
	in.out.close()
	if in.cleanup != nil {
		in.cleanup()
	}
	in.release()

	f.mu.Lock()
	in.state, in.pid, in.supervisorPID = StateTerminated, 0, 0
	delete(f.live, in.ID)
	if launched {
		f.retired = append(f.retired, in)
		if len(f.retired) > retiredKept {
			f.retired = f.retired[len(f.retired)-retiredKept:]
		}
	}
	f.mu.Unlock()
	if launched {
		f.emit(in, EventTerminated, SeverityInfo, fmt.Sprintf("Removed instance [%s] from your environment.", in.ID))
	}
	close(in.done)
}

// stopProcess sends SIGTERM to the instance's process group, waits for the
// grace period (cut short when ctx ends), then has the supervisor SIGKILL
// the whole tree, and as a last resort SIGKILLs the group itself.
func (f *Fleet) stopProcess(ctx context.Context, in *instance, p *process) ExitStatus {
	p.signalGroup(sigTerm)
	select {
	case exit := <-p.exited:
		return exit
	case <-f.clock.After(f.cfg.StopTimeout):
	case <-ctx.Done():
	}
	f.emit(in, EventKilled, SeverityWarn, fmt.Sprintf("Instance %s (%s) did not stop within %s of SIGTERM; sending SIGKILL.", in.ID, in.IP, f.cfg.StopTimeout))
	p.signalSupervisor(sigKillTree)
	select {
	case exit := <-p.exited:
		return exit
	case <-time.After(killTreeTimeout):
	}
	p.signalGroup(sigKill)
	return <-p.exited
}

func (f *Fleet) emit(in *instance, kind EventKind, severity Severity, message string) {
	ev := Event{Time: f.clock.Now(), InstanceID: in.ID, Kind: kind, Severity: severity, Message: message}
	level := slog.LevelInfo
	switch severity {
	case SeverityWarn:
		level = slog.LevelWarn
	case SeverityError:
		level = slog.LevelError
	}
	f.log.Log(context.Background(), level, message, "instance", in.ID, "ip", in.IP.String(), "event", string(kind))
	if f.cfg.Hooks.Event != nil {
		f.cfg.Hooks.Event(ev)
	}
}

// release gives the instance's place in its network back.
func (in *instance) release() {
	if in.placement != nil && in.placement.Release != nil {
		in.placement.Release()
	}
}
