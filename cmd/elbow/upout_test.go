package main

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

// upLine is the one format of what `elbow up` prints: its own lines
// ("elbow: ..."), the environment's description (indented), and events and
// warnings as "15:04:05 LEVEL message".
var upLine = regexp.MustCompile(`^(elbow: \S.*|  (listener|console|instance|target) .*|\d\d:\d\d:\d\d (INFO|WARN|ERROR|DEBUG) +\S.*)$`)

// TestUpRestartWarningOnce: an instance whose command exits at once is
// restarted; each restart warning is printed once, as an event, and every
// line elbow up prints (standard output and error) has the one format.
func TestUpRestartWarningOnce(t *testing.T) {
	t.Parallel()
	port, imds := freePort(t), freePort(t)
	p := startUp(t, fmt.Sprintf(`name: crashing
instances:
  command: exit 3
  port: %d
  min: 1
  max: 1
  metadata_options:
    port: %d
target_groups:
  - name: web
    deregistration_delay: 0
listeners:
  - port: %d
    default_action:
      target_group: web
console:
  address: 127.0.0.1:0
`, port, imds, freePort(t)))
	p.waitFor(t, `\(restart 2\)\.$`, 30*time.Second)
	out := p.output()
	if n := strings.Count(out, "exited with status 3; restarting in 500ms (restart 1)."); n != 1 {
		t.Errorf("the first restart warning is printed %d times, want once", n)
	}
	for _, l := range strings.Split(out, "\n") {
		if !upLine.MatchString(l) {
			t.Errorf("line not in the one format: %q", l)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// TestUpLogFormat: a log record that is not an event is printed in the one
// format with its attributes; a fleet event record is not printed (up prints
// the event itself).
func TestUpLogFormat(t *testing.T) {
	var stdout, stderr strings.Builder
	out := &upOutput{stdout: &stdout, stderr: &stderr}
	log := slog.New(&logHandler{out: out, level: slog.LevelWarn})
	log.Info("not shown")
	log.With("component", "console").Warn("console request refused", "host", "evil.example", "remote", "127.0.0.1:5000")
	log.Warn("Instance i-1 (127.0.0.2) exited with status 3; restarting in 500ms (restart 1).", "instance", "i-1", "event", "exited")
	got := regexp.MustCompile(`^\d\d:\d\d:\d\d `).ReplaceAllString(stderr.String(), "HH:MM:SS ")
	want := "HH:MM:SS WARN  console request refused component=console host=evil.example remote=127.0.0.1:5000\n"
	if got != want || stdout.Len() != 0 {
		t.Errorf("stderr %q, stdout %q; want stderr %q", got, stdout.String(), want)
	}
}
