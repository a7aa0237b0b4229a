package diagnose

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/instanceproxy"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// djangoLikeApp is an instance's web process that refuses every Host but
// publicHost with 400 and body, and logs the refusal to logDir/web.stdout.log
// as Django does (HttpRequest.get_host's DisallowedHost message) and as
// rsyslog writes a process's output on Amazon Linux 2, between lines of
// gunicorn's own that name the IP without refusing anything.
func djangoLikeApp(t *testing.T, addr, logDir, publicHost, body string) {
	t.Helper()
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(logDir, "web.stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var mu sync.Mutex
	logLine := func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(f, "%s ip-172-31-5-17 web[4242]: %s\n", time.Now().Format("Jan _2 15:04:05"), msg)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	logLine("[INFO] Listening at: http://" + addr + " (4242)")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		domain, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			domain = r.Host
		}
		if domain != publicHost {
			logLine(fmt.Sprintf("Invalid HTTP_HOST header: '%s'. You may need to add '%s' to ALLOWED_HOSTS.", r.Host, domain))
			logLine("Bad Request: " + r.URL.Path)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, body)
			return
		}
		io.WriteString(w, "<h1>shop</h1>")
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

// bareBadRequest is a 400 whose body names no framework.
const bareBadRequest = "Bad Request\n"

// lastLine returns the last line of path containing every sub.
func lastLine(t *testing.T, path string, subs ...string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	found := ""
	for _, l := range strings.Split(string(data), "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(l, s)
		}
		if all {
			found = l
		}
	}
	return found
}

// TestDiagnosisQuotesTheInstanceLogsBehindNginx runs the real nginx in front
// of an app refusing the checker's Host as Django does: the diagnosis quotes
// nginx's access-log line of the health checker and the app's
// DisallowedHost line, verbatim, and the app's line decides the case even
// when the 400's body names no framework.
func TestDiagnosisQuotesTheInstanceLogsBehindNginx(t *testing.T) {
	if _, ok := instanceproxy.Available(); !ok {
		testutil.Missing(t, "nginx", "apt-get install -y nginx")
	}
	const ip, public = "127.0.0.3", "www.example.com"
	for _, tc := range []struct {
		name, body string
	}{
		{"Django's production page", "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n<body>\n  <h1>Bad Request (400)</h1><p></p>\n</body>\n</html>\n"},
		{"a body that names no framework", bareBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			logDir := filepath.Join(root, "logs", "i-0123456789abcdef0")
			app := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t, "127.0.0.1")))
			djangoLikeApp(t, app, logDir, public, tc.body)
			cfg := instanceproxy.Config{
				ListenAddr: net.JoinHostPort(ip, strconv.Itoa(testutil.FreePort(t, ip))),
				AppAddr:    app, Platform: "python",
				AppDir: filepath.Join(root, "app"), LogDir: logDir, RunDir: filepath.Join(root, "run"),
			}
			conf, err := instanceproxy.Write(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := instanceproxy.Check(conf); err != nil {
				t.Fatal(err)
			}
			argv := instanceproxy.Command(conf)
			testutil.Start(t, exec.Command(argv[0], argv[1:]...), cfg.ListenAddr)

			tgt := targetOf(t, cfg.ListenAddr)
			tgt.ID = "i-0123456789abcdef0"
			s := settings("/", "200")
			ctx := context.Background()
			r := healthcheck.HTTPProber{}.Probe(ctx, tgt, s)
			if r.StatusCode != 400 {
				t.Fatalf("the check got %d (%v), want 400", r.StatusCode, r.Err)
			}
			access := filepath.Join(logDir, "nginx", "access.log")
			// nginx logs a request once it has sent the answer.
			testutil.Eventually(t, 5*time.Second, func() bool {
				return lastLine(t, access, "ELB-HealthChecker/2.0") != ""
			}, "nginx logged no health check request")
			wantAccess := lastLine(t, access, "ELB-HealthChecker/2.0")
			if !regexp.MustCompile(`^\S+ - - \[[^\]]+\] "GET / HTTP/1.1" 400 \d+ "-" "ELB-HealthChecker/2.0" "-"$`).MatchString(wantAccess) {
				t.Fatalf("nginx's line is not Beanstalk's main format: %q", wantAccess)
			}
			wantApp := lastLine(t, filepath.Join(logDir, "web.stdout.log"), "Invalid HTTP_HOST header: '"+ip+"'")
			if wantApp == "" {
				t.Fatal("the app logged no DisallowedHost line: nginx did not pass Host as the IP")
			}

			d := Diagnoser{PublicHost: public, InstanceLogs: func(got healthcheck.Target) (string, bool) {
				return logDir, got.ID == tgt.ID
			}}.Diagnose(ctx, tgt, s, r)
			assertDiagnosis(t, d, CaseDjangoAllowedHosts, Django,
				"nginx logged the health checker's request (/var/log/nginx/access.log): "+wantAccess,
				"The app logged (/var/log/web.stdout.log): "+wantApp)
			l := d.Evidence.InstanceLogs
			if l == nil || l.AccessLog == nil || l.AppLog == nil {
				t.Fatalf("evidence lacks the instance's log lines: %+v", l)
			}
			if l.AccessLog.Line != wantAccess || l.AccessLog.File != access || l.AccessLog.Path != "/var/log/nginx/access.log" {
				t.Errorf("access-log evidence %+v, want line %q of %s", *l.AccessLog, wantAccess, access)
			}
			if l.AppLog.Line != wantApp || l.AppLog.Kind != LogDjangoDisallowedHost {
				t.Errorf("app-log evidence %+v, want %q", *l.AppLog, wantApp)
			}
		})
	}
}

// TestDiagnosisQuotesTheAppLogWithoutNginx: an app reached directly has no
// access log; the diagnosis quotes the app's line alone, which names
// ip:port as Django does when Host carries the port.
func TestDiagnosisQuotesTheAppLogWithoutNginx(t *testing.T) {
	const ip, public = "127.0.0.4", "www.example.com"
	logDir := filepath.Join(t.TempDir(), "i-0123456789abcdef1")
	addr := net.JoinHostPort(ip, strconv.Itoa(testutil.FreePort(t, ip)))
	djangoLikeApp(t, addr, logDir, public, bareBadRequest)
	tgt := targetOf(t, addr)
	s := settings("/", "200")
	ctx := context.Background()
	r := healthcheck.HTTPProber{}.Probe(ctx, tgt, s)
	d := Diagnoser{PublicHost: public, InstanceLogs: func(healthcheck.Target) (string, bool) { return logDir, true }}.Diagnose(ctx, tgt, s, r)
	want := lastLine(t, filepath.Join(logDir, "web.stdout.log"), "Invalid HTTP_HOST header: '"+addr+"'")
	assertDiagnosis(t, d, CaseDjangoAllowedHosts, Django, "The app logged (/var/log/web.stdout.log): "+want)
	if strings.Contains(d.Why, "nginx logged") {
		t.Errorf("no nginx ran, yet the why quotes it: %s", d.Why)
	}
	if l := d.Evidence.InstanceLogs; l == nil || l.AccessLog != nil || l.AppLog == nil || l.AppLog.Line != want {
		t.Errorf("evidence %+v, want the app's line %q only", l, want)
	}
}

// TestAppLineKinds reads the lines that name a refused host, newest first,
// and not a server's own line that merely names the IP.
func TestAppLineKinds(t *testing.T) {
	tgt := healthcheck.Target{ID: "i-0123456789abcdef0", IP: "172.31.5.17", Port: 80}
	s := settings("/", "200")
	for _, tc := range []struct {
		name  string
		lines []string
		kind  string
		want  int // index of the quoted line, -1 for none
	}{
		{"only a listening line", []string{"web[1]: [INFO] Listening at: http://172.31.5.17:8000 (1)"}, "", -1},
		{"rails", []string{"web[1]: [ActionDispatch::HostAuthorization::DefaultResponseApp] Blocked hosts: 172.31.5.17", "web[1]: Completed 403"}, LogRailsBlockedHost, 0},
		{"django beats a later generic line", []string{"web[1]: Invalid HTTP_HOST header: '172.31.5.17'. You may need to add '172.31.5.17' to ALLOWED_HOSTS.", "web[1]: host 172.31.5.17 not allowed"}, LogDjangoDisallowedHost, 0},
		{"django refusing another host", []string{"web[1]: Invalid HTTP_HOST header: '172.31.5.170'. You may need to add '172.31.5.170' to ALLOWED_HOSTS."}, "", -1},
		{"generic", []string{"web[1]: host 172.31.5.17 not allowed", "web[1]: GET / 400"}, LogHostMentioned, 0},
		{"generic, the address ending a sentence", []string{"web[1]: Refused host 172.31.5.17.", "web[1]: GET / 400"}, LogHostMentioned, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := appLine(tc.lines, tgt, s)
			if tc.want < 0 {
				if got != nil {
					t.Fatalf("quoted %+v, want nothing", *got)
				}
				return
			}
			if got == nil || got.Line != tc.lines[tc.want] || got.Kind != tc.kind {
				t.Fatalf("quoted %+v, want %q (%s)", got, tc.lines[tc.want], tc.kind)
			}
		})
	}
}
