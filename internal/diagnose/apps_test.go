package diagnose

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// loggedApp is a real app started for a test, its output going where
// Beanstalk puts a web process's output: web.stdout.log in a log folder,
// which the diagnosis reads through Diagnoser.InstanceLogs.
type loggedApp struct {
	target healthcheck.Target
	logDir string
}

// startLoggedApp runs cmd until the test ends, its stdout and stderr in
// logDir/web.stdout.log, and waits until ip:port accepts connections.
func startLoggedApp(t *testing.T, cmd *exec.Cmd, ip string, port int) loggedApp {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, webLogFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("output of %s:\n%s", cmd.Path, b)
		}
	})
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	if !testutil.Poll(20*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("nothing listens on %s", addr)
	}
	select {
	case <-exited:
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("%s exited before listening on %s:\n%s", cmd.Path, addr, b)
	default:
	}
	return loggedApp{target: healthcheck.Target{ID: "i-" + strings.ReplaceAll(ip, ".", ""), IP: ip, Port: port}, logDir: dir}
}

// checkAndDiagnoseApp probes the app as the ELB checker does and diagnoses
// the result with the app's log folder known, as elbow up does for its
// instances.
func checkAndDiagnoseApp(t *testing.T, app loggedApp, s healthcheck.Settings, publicHost string) (healthcheck.Result, Diagnosis) {
	t.Helper()
	ctx := context.Background()
	r := healthcheck.HTTPProber{}.Probe(ctx, app.target, s)
	d := Diagnoser{
		PublicHost:   publicHost,
		InstanceLogs: func(healthcheck.Target) (string, bool) { return app.logDir, true },
	}.Diagnose(ctx, app.target, s, r)
	return r, d
}

// assertAppLog checks that the diagnosis quotes the app's own line, of kind,
// containing want.
func assertAppLog(t *testing.T, d Diagnosis, kind, want string) {
	t.Helper()
	l := d.Evidence.InstanceLogs
	if l == nil || l.AppLog == nil {
		t.Errorf("no app log line quoted; want %q", want)
		return
	}
	if l.AppLog.Kind != kind || !strings.Contains(l.AppLog.Line, want) {
		t.Errorf("app log line %q (%s), want kind %s containing %q", l.AppLog.Line, l.AppLog.Kind, kind, want)
	}
	if !strings.Contains(d.Why, l.AppLog.Line) {
		t.Errorf("the why does not quote the app's line %q:\n%s", l.AppLog.Line, d.Why)
	}
}

// assertFirstFix checks that the first fix's title or detail names each of
// the framework's own terms.
func assertFirstFix(t *testing.T, d Diagnosis, terms ...string) {
	t.Helper()
	if len(d.Fixes) == 0 {
		t.Errorf("no fix offered")
		return
	}
	first := d.Fixes[0].Title + "\n" + d.Fixes[0].Detail
	for _, term := range terms {
		if !strings.Contains(first, term) {
			t.Errorf("the first fix lacks %q:\n%s", term, first)
		}
	}
}

// healthcheckProbe probes the app once as the ELB checker does.
func healthcheckProbe(t *testing.T, app loggedApp, s healthcheck.Settings) healthcheck.Result {
	t.Helper()
	return healthcheck.HTTPProber{}.Probe(t.Context(), app.target, s)
}
