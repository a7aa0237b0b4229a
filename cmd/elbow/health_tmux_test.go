package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// TestHealthRefreshInTmux runs `elbow health --refresh` in a real terminal
// (a tmux pane 160x40) against a console started here, and checks the
// layout, the colors, the redraw when the environment changes, and that
// Ctrl-C ends it.
func TestHealthRefreshInTmux(t *testing.T) {
	tmux := testutil.RequireProgram(t, "tmux")
	// The test binary stands in for elbow (TestMain, ELBOW_TEST_AS_MAIN).
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	h := sampleHealth()
	url := startConsole(t, console.New(console.Options{Health: h}))

	// A private tmux server (its own socket), so that nothing else is touched.
	socket := filepath.Join(dir, "tmux.sock")
	tm := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-S", socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
		return string(out), err
	}
	command := fmt.Sprintf("%s health --refresh --refresh-interval 200ms --console %s", bin, url)
	if out, err := tm("new-session", "-d", "-x", "160", "-y", "40", "-s", "elbow", "env", "-u", "NO_COLOR", "TERM=xterm-256color", "ELBOW_TEST_AS_MAIN=1", "sh", "-c", command); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = tm("kill-server") })

	capture := func(colors bool) string {
		args := []string{"capture-pane", "-p", "-t", "elbow"}
		if colors {
			args = append(args, "-e")
		}
		out, err := tm(args...)
		if err != nil {
			return ""
		}
		return out
	}
	waitPane := func(what string, ok func(string) bool) string {
		t.Helper()
		var pane string
		if !testutil.Poll(15*time.Second, func() bool { pane = capture(false); return ok(pane) }) {
			t.Fatalf("pane never showed %s:\n%s", what, pane)
		}
		return pane
	}

	pane := waitPane("the health layout", func(p string) bool { return strings.Contains(p, "iowait%") })
	for _, want := range []string{
		"  total      ok    warning  degraded  severe    info   pending  unknown",
		"    Overall     Severe     100.0 % of the requests are erroring with HTTP 4xx.",
		"  i-d581497d      0.1       0      0      8      0   0.003*   0.002*    0.001   0.001   0.000",
		"(refreshing every 200ms; Ctrl-C to quit)",
	} {
		if !strings.Contains(pane, want) {
			t.Errorf("pane lacks %q:\n%s", want, pane)
		}
	}
	if first := strings.SplitN(pane, "\n", 2)[0]; !strings.HasPrefix(first, " elbow-env") {
		t.Errorf("the screen is not redrawn from the top: first line %q", first)
	}
	if colored := capture(true); !strings.Contains(colored, "\x1b[31mSevere") {
		t.Errorf("no red Severe on a terminal:\n%q", colored)
	}

	h.set(monitor.StatusOk)
	pane = waitPane("the redraw with Ok", func(p string) bool { return strings.Contains(p, "    Overall     Ok") })
	if n := strings.Count(pane, "instance-id   status"); n != 1 {
		t.Errorf("%d status tables on screen, want 1: redraws must replace the screen\n%s", n, pane)
	}
	if colored := capture(true); !strings.Contains(colored, "\x1b[32mOk") {
		t.Errorf("no green Ok on a terminal:\n%q", colored)
	}

	if out, err := tm("send-keys", "-t", "elbow", "C-c"); err != nil {
		t.Fatalf("send-keys: %v\n%s", err, out)
	}
	ended := func() bool { _, err := tm("has-session", "-t", "elbow"); return err != nil } // the command ended, and with it the session
	if !testutil.Poll(10*time.Second, ended) {
		t.Fatalf("elbow health --refresh still running after Ctrl-C:\n%s", capture(false))
	}
}
