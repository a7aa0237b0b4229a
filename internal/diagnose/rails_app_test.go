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

// railsIP is this file's loopback address; other framework tests use others.
const railsIP = "127.0.0.41"

// railsPublicHost is the name the app of testdata/rails serves (config.hosts).
const railsPublicHost = "mydomain.com"

// railsApp is a running testdata/rails app: its target and the log folder
// that holds its output as web.stdout.log, as on a Beanstalk instance.
type railsApp struct {
	target healthcheck.Target
	logDir string
}

// startRailsApp runs testdata/rails/config.ru with Debian's Rails 6.1 in
// production, served by rackup on railsIP and a free port, with env added.
// It skips (or fails under ELBOW_REQUIRE_E2E=1) without ruby-rails.
func startRailsApp(t *testing.T, env ...string) railsApp {
	t.Helper()
	ruby := testutil.RequireProgram(t, "ruby")
	rackup := testutil.RequireProgram(t, "rackup")
	if out, err := exec.Command(ruby, "-e", `require "rails"; require "action_controller/railtie"; require "webrick"`).CombinedOutput(); err != nil {
		testutil.Missing(t, "ruby-rails", "apt-get install -y ruby-rails ruby-webrick: "+string(out))
	}
	root := t.TempDir()
	logDir := filepath.Join(root, "log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(logDir, webLogFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	port := testutil.FreePort(t, railsIP)
	addr := net.JoinHostPort(railsIP, strconv.Itoa(port))
	configRU, err := filepath.Abs(filepath.Join("testdata", "rails", "config.ru"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rackup, "-E", "production", "-s", "webrick", "-o", railsIP, "-p", strconv.Itoa(port), configRU)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "RAILS_ENV=production", "ELBOW_RAILS_ROOT="+root)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rackup: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("output of the Rails app:\n%s", b)
		}
	})
	if !testutil.Poll(30*time.Second, func() bool {
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
		t.Fatalf("the Rails app does not listen on %s after 30 s", addr)
	}
	select {
	case <-exited:
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("the Rails app exited before listening on %s:\n%s", addr, b)
	default:
	}
	return railsApp{target: healthcheck.Target{ID: "i-0000000000000041", IP: railsIP, Port: port}, logDir: logDir}
}

// diagnose probes the app once as the ELB health checker does and diagnoses
// the result with the app's output as the instance's web.stdout.log.
func (a railsApp) diagnose(t *testing.T, s healthcheck.Settings, publicHost string) (healthcheck.Result, Diagnosis) {
	t.Helper()
	ctx := context.Background()
	r := healthcheck.HTTPProber{}.Probe(ctx, a.target, s)
	d := Diagnoser{
		PublicHost:   publicHost,
		InstanceLogs: func(healthcheck.Target) (string, bool) { return a.logDir, true },
	}.Diagnose(ctx, a.target, s, r)
	return r, d
}

// diagnoseAnswers is diagnose without the app's output: from the answers alone.
func (a railsApp) diagnoseAnswers(t *testing.T, s healthcheck.Settings, publicHost string) Diagnosis {
	t.Helper()
	ctx := context.Background()
	r := healthcheck.HTTPProber{}.Probe(ctx, a.target, s)
	return Diagnoser{PublicHost: publicHost}.Diagnose(ctx, a.target, s, r)
}

// railsFixFiles applies a fix's snippet to testdata/rails/config.ru: the
// lines under "# config/environments/production.rb" are evaluated in the
// Application class, those under "# config/routes.rb" in routes.draw, up to
// the line that says where to point the health check.
func railsFixFiles(t *testing.T, fix Fix) (env []string) {
	t.Helper()
	var config, routes []string
	var section *[]string
	for _, line := range strings.Split(fix.Detail, "\n") {
		switch {
		case strings.HasPrefix(line, "# config/environments/production.rb"):
			section = &config
		case strings.HasPrefix(line, "# config/routes.rb"):
			section = &routes
		case strings.HasPrefix(line, "Then point the health check"):
			section = nil
		case section != nil:
			*section = append(*section, line)
		}
	}
	if len(config) == 0 {
		t.Fatalf("fix %q has no config/environments/production.rb lines to apply:\n%s", fix.Title, fix.Detail)
	}
	dir := t.TempDir()
	write := func(name string, lines []string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env = []string{"ELBOW_RAILS_CONFIG=" + write("production.rb", config)}
	if len(routes) > 0 {
		env = append(env, "ELBOW_RAILS_ROUTES="+write("routes.rb", routes))
	}
	return env
}

// fixIndex is the position of the first fix whose title contains sub, -1
// when none does.
func fixIndex(d Diagnosis, sub string) int {
	for i, f := range d.Fixes {
		if strings.Contains(f.Title, sub) {
			return i
		}
	}
	return -1
}

// TestRailsHostAuthorization runs Rails 6.1 in production with
// config.hosts << "mydomain.com": the health check's Host, the instance's
// IP, is answered 403 with an empty body and Rails logs "Blocked host: IP".
func TestRailsHostAuthorization(t *testing.T) {
	app := startRailsApp(t, "ELBOW_RAILS_HOSTS="+railsPublicHost)
	s := settings("/", "200")

	for _, tc := range []struct {
		name, publicHost string
		userCode         int
	}{
		{"with the public host", railsPublicHost, 200},
		// Without --host the user-like request is refused too and the empty
		// 403 alone names nothing: Rails' log line decides.
		{"without a public host", "", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, d := app.diagnose(t, s, tc.publicHost)
			if r.StatusCode != 403 || len(r.Body) != 0 {
				t.Fatalf("health check got %d %q, want Rails' empty 403 in production", r.StatusCode, r.Body)
			}
			wantLine := "[ActionDispatch::HostAuthorization::DefaultResponseApp] Blocked host: " + railsIP
			assertDiagnosis(t, d, CaseRailsHostAuthorization, Rails,
				"Host: "+app.target.Addr(),
				"ActionDispatch::HostAuthorization",
				"The app logged (/var/log/web.stdout.log): ",
				wantLine,
			)
			logs := d.Evidence.InstanceLogs
			if logs == nil || logs.AppLog == nil || logs.AppLog.Kind != LogRailsBlockedHost || !strings.HasSuffix(logs.AppLog.Line, wantLine) {
				t.Fatalf("Evidence.InstanceLogs = %+v, want the app's line ending %q", logs, wantLine)
			}
			// Rails 6.1 logs the host without the port; "Blocked hosts: IP:port"
			// is Rails 7's wording and must not be put in 6.1's mouth.
			if strings.Contains(d.Why, "Blocked hosts: "+app.target.Addr()) {
				t.Errorf("why quotes Rails 7's wording for a Rails 6.1 app:\n%s", d.Why)
			}
			if got := d.Evidence.AsUser; got == nil || got.StatusCode != tc.userCode {
				t.Errorf("user-like request: %+v, want %d", got, tc.userCode)
			}
			if len(d.Fixes) == 0 || !strings.Contains(d.Fixes[0].Detail, `config.host_authorization = { exclude: ->(request) { request.path == "/up" } }`) {
				t.Fatalf("first fix must be config.host_authorization's exclude: %+v", d.Fixes)
			}
			if m := fixIndex(d, "set the matcher"); m >= 0 && m != len(d.Fixes)-1 {
				t.Errorf("the matcher is fix %d of %d, want it last", m+1, len(d.Fixes))
			}
		})
	}

	// Without the app's output, the user-like request with the public name
	// gets Rails' headers (X-Runtime, X-Request-Id) and through: that names
	// the refusal too, with both versions' log wording.
	t.Run("from the answers alone, with the public host", func(t *testing.T) {
		d := app.diagnoseAnswers(t, s, railsPublicHost)
		assertDiagnosis(t, d, CaseRailsHostAuthorization, Rails,
			"Blocked host: "+railsIP+"\" (Rails 6.1)",
			"Users' requests carry your public name and pass",
		)
		if d.Evidence.InstanceLogs != nil {
			t.Errorf("no log folder was given, yet: %+v", d.Evidence.InstanceLogs)
		}
	})

	t.Run("the first fix, applied, passes the check on /up", func(t *testing.T) {
		_, d := app.diagnose(t, s, railsPublicHost)
		fixed := startRailsApp(t, append(railsFixFiles(t, d.Fixes[0]), "ELBOW_RAILS_HOSTS="+railsPublicHost)...)
		if r := (healthcheck.HTTPProber{}).Probe(context.Background(), fixed.target, settings("/up", "200")); !r.Passed() {
			t.Errorf("/up with the fix: %d %s %q, want 200", r.StatusCode, r.Reason, r.Body)
		}
		// Host authorization still guards every other path.
		if r := (healthcheck.HTTPProber{}).Probe(context.Background(), fixed.target, s); r.StatusCode != 403 {
			t.Errorf("/ with the fix: %d, want 403 still", r.StatusCode)
		}
	})

	// The metadata fix, applied with a metadata service answering the
	// instance's IP, passes the check on / itself; with one answering an
	// error page the app boots without it and says so.
	_, d := app.diagnose(t, s, railsPublicHost)
	imdsFix := fixIndex(d, "metadata service")
	if imdsFix < 0 {
		t.Fatalf("no fix reads the IP from the metadata service: %q", fixText(d))
	}
	for _, tc := range []struct {
		name, answer string
		wantCode     int
		wantLog      string
	}{
		{"the metadata fix, applied, passes the check on /", railsIP, 200, ""},
		{"the metadata fix refuses an error page for an IP", "<html>not an ip</html>", 403, "config.hosts: no instance IP from the metadata service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imds := testutil.FakeIMDS(t, railsIP, tc.answer)
			fixed := startRailsApp(t, append(railsFixFiles(t, d.Fixes[imdsFix]), "ELBOW_RAILS_HOSTS="+railsPublicHost, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+imds)...)
			if r := (healthcheck.HTTPProber{}).Probe(context.Background(), fixed.target, s); r.StatusCode != tc.wantCode {
				t.Errorf("/ with the metadata service answering %q: %d %s, want %d", tc.answer, r.StatusCode, r.Reason, tc.wantCode)
			}
			if tc.wantLog != "" {
				b, _ := os.ReadFile(filepath.Join(fixed.logDir, webLogFile))
				if !strings.Contains(string(b), tc.wantLog) {
					t.Errorf("the app's output lacks %q:\n%s", tc.wantLog, b)
				}
			}
		})
	}
}

// TestRailsForceSSL runs Rails 6.1 in production with config.force_ssl: the
// plain-HTTP health check, without X-Forwarded-Proto, is answered 301.
func TestRailsForceSSL(t *testing.T) {
	app := startRailsApp(t, "ELBOW_RAILS_FORCE_SSL=1")
	s := settings("/", "200")
	r, d := app.diagnose(t, s, railsPublicHost)
	if r.StatusCode != 301 {
		t.Fatalf("health check got %d, want config.force_ssl's 301", r.StatusCode)
	}
	assertDiagnosis(t, d, CaseHTTPSRedirect, Rails,
		"config.force_ssl (ActionDispatch::SSL)",
		"301 to https://"+app.target.Addr()+"/",
		"With X-Forwarded-Proto: https the redirect does not happen",
		"HttpCode=200-301",
	)
	if got := d.Evidence.HealthCheck.Location; got != "https://"+app.target.Addr()+"/" {
		t.Errorf("evidence Location %q", got)
	}
	if len(d.Fixes) < 3 {
		t.Fatalf("fixes: %+v", d.Fixes)
	}
	if !strings.Contains(d.Fixes[0].Detail, `config.ssl_options = { redirect: { exclude: ->(request) { request.path == "/up" } } }`) {
		t.Errorf("first fix must be config.ssl_options' redirect exclude:\n%s", d.Fixes[0].Detail)
	}
	if m := fixIndex(d, "set the matcher"); m != len(d.Fixes)-1 {
		t.Errorf("the matcher is fix %d of %d, want it last: %q", m+1, len(d.Fixes), fixText(d))
	}

	t.Run("the load balancer's redirect, with the app's switched off, passes the check on /", func(t *testing.T) {
		lb := fixIndex(d, "at the load balancer")
		if lb < 0 {
			t.Fatalf("no fix redirects at the load balancer: %q", fixText(d))
		}
		fixed := startRailsApp(t, append(railsFixFiles(t, d.Fixes[lb]), "ELBOW_RAILS_FORCE_SSL=1")...)
		if r := (healthcheck.HTTPProber{}).Probe(context.Background(), fixed.target, s); !r.Passed() {
			t.Errorf("/ with redirect: false: %d %s, want 200", r.StatusCode, r.Reason)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		user, err := send(ctx, nil, time.Now, fixed.target.Addr(), false, userRequest("/", railsPublicHost))
		if err != nil || user.StatusCode != 200 || user.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("a user's request through the HTTPS listener: %d %v %v, want 200 with HSTS", user.StatusCode, user.Header, err)
		}
	})

	t.Run("the first fix, applied, passes the check on /up", func(t *testing.T) {
		fixed := startRailsApp(t, append(railsFixFiles(t, d.Fixes[0]), "ELBOW_RAILS_FORCE_SSL=1")...)
		if r := (healthcheck.HTTPProber{}).Probe(context.Background(), fixed.target, settings("/up", "200")); !r.Passed() {
			t.Errorf("/up with the fix: %d %s %q, want 200", r.StatusCode, r.Reason, r.Body)
		}
		if r := (healthcheck.HTTPProber{}).Probe(context.Background(), fixed.target, s); r.StatusCode != 301 {
			t.Errorf("/ with the fix: %d, want the redirect still", r.StatusCode)
		}
	})
}
