package ebengine

import (
	"context"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Restart backoff of a process that exits: Beanstalk "monitors these
// processes and restarts any process that terminates"
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/platforms-linux-extend.html).
const (
	firstRestartDelay = 500 * time.Millisecond
	maxRestartDelay   = 10 * time.Second
	stableAfter       = 10 * time.Second
)

// supervise runs argv in dir with env until ctx ends, restarting it when it
// exits, its output going to out.
func (e *engine) supervise(ctx context.Context, name string, argv []string, dir string, env []string, out *processLog) {
	delay := firstRestartDelay
	for {
		started := time.Now()
		code, err := e.runOnce(ctx, argv, dir, env, out)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			e.log.errorf("process %s could not start: %v", name, err)
		} else {
			e.log.errorf("process %s exited with status %d; restarting it in %v", name, code, delay)
		}
		if time.Since(started) > stableAfter {
			delay = firstRestartDelay
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, maxRestartDelay)
	}
}

func (e *engine) runOnce(ctx context.Context, argv []string, dir string, env []string, out *processLog) (int, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	// No parent-death signal here: it would fire when the forking thread
	// ends (golang/go#27505). The fleet's supervisor, a subreaper, kills
	// every process below the engine when the instance stops.
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return 0, err
	}
	pw.Close()
	done := make(chan struct{})
	go func() { out.copyFrom(pr, cmd.Process.Pid); pr.Close(); close(done) }()
	stop := context.AfterFunc(ctx, func() { cmd.Process.Signal(syscall.SIGTERM) })
	defer stop()
	err = cmd.Wait()
	select {
	case <-done:
	case <-time.After(2 * time.Second): // a child kept the pipe open
	}
	if cmd.ProcessState != nil {
		return cmd.ProcessState.ExitCode(), nil
	}
	return -1, err
}

// runStep runs one build step (hook, Buildfile line, container command)
// to its end, its output in eb-engine.log, and returns its exit code.
func (e *engine) runStep(argv []string, dir string, env []string) (int, string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	var tail tailWriter
	cmd.Stdout = io.MultiWriter(&tail, e.log.file)
	cmd.Stderr = cmd.Stdout
	err := cmd.Run()
	if cmd.ProcessState != nil {
		return cmd.ProcessState.ExitCode(), tail.last(), nil
	}
	return -1, tail.last(), err
}

// tailWriter keeps the last line written, for the failure event.
type tailWriter struct{ buf []byte }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

func (t *tailWriter) last() string {
	s := string(t.buf)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}
