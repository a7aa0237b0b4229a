package diagnose

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// pythonApp is a testdata app run by its production server.
type pythonApp struct {
	// module is what to import, the Debian package that provides it.
	module, pkg string
	// args run the server, after python3 -m; {ADDR} {HOST} {PORT} {DIR} are
	// replaced.
	args []string
}

// gunicornApp runs testdata/flask/<file>.py's app with gunicorn, as Elastic
// Beanstalk's Python platform does (Procfile "web: gunicorn app:app").
func gunicornApp(file string) pythonApp {
	return pythonApp{module: "gunicorn", pkg: "gunicorn", args: []string{"gunicorn", "--bind", "{ADDR}", "--chdir", "{DIR}/flask", file + ":app"}}
}

// uvicornApp runs testdata/fastapi/<file>.py's app with uvicorn, as FastAPI's
// deployment guide does (https://fastapi.tiangolo.com/deployment/manually/).
func uvicornApp(file string) pythonApp {
	return pythonApp{module: "uvicorn", pkg: "python3-uvicorn", args: []string{"uvicorn", "--app-dir", "{DIR}/fastapi", file + ":app", "--host", "{HOST}", "--port", "{PORT}"}}
}

// requirePython skips (or fails under ELBOW_REQUIRE_E2E=1) unless Debian's
// python3 imports every module, each named with its Debian package.
func requirePython(t *testing.T, modulePkgs ...string) string {
	t.Helper()
	python := testutil.RequireProgram(t, testutil.SystemPython)
	for i := 0; i+1 < len(modulePkgs); i += 2 {
		if out, err := exec.Command(python, "-c", "import "+modulePkgs[i]).CombinedOutput(); err != nil {
			testutil.Missing(t, modulePkgs[i+1], "apt-get install -y "+modulePkgs[i+1]+": "+string(out))
		}
	}
	return python
}

// startPython runs app on ip and a free port until the test ends, its
// output in <logs>/web.stdout.log as on an Elastic Beanstalk instance, and
// returns the target and the log folder.
func startPython(t *testing.T, python, ip string, app pythonApp, env ...string) (healthcheck.Target, string) {
	t.Helper()
	port := testutil.FreePort(t, ip)
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-m"}
	for _, a := range app.args {
		switch a {
		case "{ADDR}":
			a = addr
		case "{HOST}":
			a = ip
		case "{PORT}":
			a = strconv.Itoa(port)
		}
		if rest, ok := strings.CutPrefix(a, "{DIR}"); ok {
			a = testdata + rest
		}
		args = append(args, a)
	}
	logs := t.TempDir()
	out, err := os.Create(filepath.Join(logs, webLogFile))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, args...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group: gunicorn's workers end with their master.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("output of %v:\n%s", cmd.Args, b)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(out.Name())
			t.Fatalf("%v exited before listening on %s:\n%s", cmd.Args, addr, b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after 30 s", addr)
		}
	}
	waitAnswering(t, addr, env)
	return healthcheck.Target{ID: "i-0000000000000045", IP: ip, Port: port}, logs
}

// waitAnswering waits until the app answers HTTP at addr: gunicorn's master
// accepts connections before its worker has imported the app, which on a
// busy machine takes longer than a health check's timeout. The request
// carries the app's public name (PUBLIC_HOST in env) so that it logs no
// refusal of its own: Python prints a warning once, and the line quoted
// must be the health check's.
func waitAnswering(t *testing.T, addr string, env []string) {
	t.Helper()
	host := "localhost"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PUBLIC_HOST="); ok {
			host = v
		}
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	client := &http.Client{
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s does not answer HTTP: %v", addr, err)
	}
	resp.Body.Close()
}

// probeAndDiagnose checks tgt once as the ELB health checker does and
// diagnoses the result with the app's log folder, as elbow does for an
// instance it runs.
func probeAndDiagnose(t *testing.T, tgt healthcheck.Target, s healthcheck.Settings, publicHost, logs string) (healthcheck.Result, Diagnosis) {
	t.Helper()
	ctx := context.Background()
	r := healthcheck.HTTPProber{}.Probe(ctx, tgt, s)
	d := Diagnoser{
		PublicHost:   publicHost,
		InstanceLogs: func(healthcheck.Target) (string, bool) { return logs, true },
	}.Diagnose(ctx, tgt, s, r)
	return r, d
}
