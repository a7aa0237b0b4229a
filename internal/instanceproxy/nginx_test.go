package instanceproxy

import (
	"bufio"
	"encoding/json"
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
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// requireNginx skips (or fails under ELBOW_REQUIRE_E2E=1) without nginx.
func requireNginx(t *testing.T) {
	t.Helper()
	if _, ok := Available(); !ok {
		testutil.Missing(t, "nginx", "apt-get install -y nginx")
	}
}

// djangoBadRequest is the body Django answers a disallowed Host with, 26
// bytes, as in the access-log line of the health checker on Beanstalk.
const djangoBadRequest = "<h1>Bad Request (400)</h1>"

// seen is what the backend saw of a request.
type seen struct {
	Host    string
	Headers http.Header
}

// backend is the instance's web process: it answers the health checker
// (ELB-HealthChecker user agent) 400 as Django does for an IP host, echoes
// what it saw as JSON otherwise, and speaks a one-line echo after a
// websocket-style upgrade.
func backend(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.UserAgent(), "ELB-HealthChecker") {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, djangoBadRequest)
			return
		}
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			defer conn.Close()
			rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			rw.Flush()
			line, _ := rw.ReadString('\n')
			rw.WriteString("echo " + line)
			rw.Flush()
			return
		}
		json.NewEncoder(w).Encode(seen{Host: r.Host, Headers: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// instance is a written and running nginx.
type instance struct {
	cfg  Config
	addr string
}

// baseConfig is a Python instance on a free loopback port in front of app.
func baseConfig(t *testing.T, app string) Config {
	t.Helper()
	dir := t.TempDir()
	return Config{
		ListenAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t, "127.0.0.1"))),
		AppAddr:    app,
		Platform:   "python",
		AppDir:     filepath.Join(dir, "app"),
		LogDir:     filepath.Join(dir, "log"),
		RunDir:     filepath.Join(dir, "run"),
	}
}

// start writes cfg, checks it, and runs nginx until the test ends.
func start(t *testing.T, cfg Config) instance {
	t.Helper()
	conf, err := Write(cfg)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := Check(conf); err != nil {
		t.Fatalf("Check: %v", err)
	}
	argv := Command(conf)
	testutil.Start(t, exec.Command(argv[0], argv[1:]...), cfg.ListenAddr)
	return instance{cfg: cfg, addr: cfg.ListenAddr}
}

func (in instance) get(t *testing.T, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+in.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp, string(body)
}

// accessLines waits until the access log has n lines and returns them.
func (in instance) accessLines(t *testing.T, n int) []string {
	t.Helper()
	path := filepath.Join(in.cfg.LogDir, "nginx", "access.log")
	var lines []string
	ok := testutil.Poll(5*time.Second, func() bool {
		b, _ := os.ReadFile(path)
		lines = strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) == 1 && lines[0] == "" {
			lines = nil
		}
		return len(lines) >= n
	})
	if !ok {
		t.Fatalf("%s has %d lines, want %d: %q", path, len(lines), n, lines)
	}
	return lines
}

func TestBackendSeesBeanstalkHeaders(t *testing.T) {
	requireNginx(t)
	in := start(t, baseConfig(t, backend(t)))

	resp, body := in.get(t, "/headers", map[string]string{
		"Host":            "Example.COM:8080",
		"X-Forwarded-For": "203.0.113.7",
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	var got seen
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("backend answer %q: %v", body, err)
	}
	// $host is the Host header without its port, lower-cased.
	if got.Host != "example.com" {
		t.Errorf("Host = %q, want example.com", got.Host)
	}
	if v := got.Headers.Get("X-Real-Ip"); v != "127.0.0.1" {
		t.Errorf("X-Real-IP = %q, want 127.0.0.1", v)
	}
	if v := got.Headers.Get("X-Forwarded-For"); v != "203.0.113.7, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q, want the client's with nginx's peer appended", v)
	}
}

func TestWebsocketUpgradePassesThrough(t *testing.T) {
	requireNginx(t)
	in := start(t, baseConfig(t, backend(t)))

	conn, err := net.DialTimeout("tcp", in.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("read upgrade response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "websocket" {
		t.Fatalf("upgrade answered %s, Upgrade %q", resp.Status, resp.Header.Get("Upgrade"))
	}
	fmt.Fprintf(conn, "ping\n")
	line, err := r.ReadString('\n')
	if err != nil || line != "echo ping\n" {
		t.Fatalf("through the upgraded connection got %q, %v; want the backend's echo", line, err)
	}
}

// healthCheckerLine is the shape of the health checker's line in Beanstalk's
// access.log; only the time varies.
var healthCheckerLine = regexp.MustCompile(`^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\] "GET / HTTP/1\.1" 400 26 "-" "ELB-HealthChecker/2\.0" "-"$`)

func TestHealthCheckerLineInAccessLog(t *testing.T) {
	requireNginx(t)
	cfg := baseConfig(t, backend(t))
	cfg.HealthdLog = true
	in := start(t, cfg)

	resp, body := in.get(t, "/", map[string]string{"Host": in.addr, "User-Agent": "ELB-HealthChecker/2.0"})
	if resp.StatusCode != http.StatusBadRequest || body != djangoBadRequest {
		t.Fatalf("got %d %q, want the backend's 400", resp.StatusCode, body)
	}
	before := time.Now()
	lines := in.accessLines(t, 1)
	if !healthCheckerLine.MatchString(lines[0]) {
		t.Fatalf("access.log line\n%s\nis not Beanstalk's\n%s", lines[0], healthCheckerLine)
	}
	e, ok := ParseAccessLine(lines[0])
	if !ok {
		t.Fatalf("ParseAccessLine(%q) failed", lines[0])
	}
	want := AccessEntry{RemoteAddr: "127.0.0.1", RemoteUser: "-", Time: e.Time, Request: "GET / HTTP/1.1",
		Method: "GET", URI: "/", Proto: "HTTP/1.1", Status: 400, Bytes: 26, Referer: "-",
		UserAgent: "ELB-HealthChecker/2.0", XForwardedFor: "-", Line: lines[0]}
	if e != want {
		t.Errorf("ParseAccessLine = %+v, want %+v", e, want)
	}
	if d := before.Sub(e.Time); d < -time.Minute || d > time.Minute {
		t.Errorf("logged time %v is not now (%v)", e.Time, before)
	}

	// The healthd log: $msec"$uri"$status"$request_time"$upstream_response_time"$http_x_forwarded_for
	healthd := regexp.MustCompile(`^[0-9]+\.[0-9]{3}"/"400"[0-9.]+"[0-9.]+"-$`)
	var got string
	testutil.Eventually(t, 5*time.Second, func() bool {
		files, _ := filepath.Glob(filepath.Join(cfg.LogDir, "nginx", "healthd", "application.log.*"))
		if len(files) != 1 {
			return false
		}
		b, _ := os.ReadFile(files[0])
		got = strings.TrimSpace(string(b))
		return healthd.MatchString(got)
	}, "no healthd line like "+healthd.String()+" in "+cfg.LogDir+"/nginx/healthd: "+got)
}

func TestPythonStaticFilesServedFromFolder(t *testing.T) {
	requireNginx(t)
	cfg := baseConfig(t, backend(t))
	for dir, file := range map[string]string{"static": "app.css", "assets": "logo.txt"} {
		if err := os.MkdirAll(filepath.Join(cfg.AppDir, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cfg.AppDir, dir, file), []byte("from "+dir+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := start(t, cfg)
	if resp, body := in.get(t, "/static/app.css", nil); resp.StatusCode != 200 || body != "from static\n" {
		t.Errorf("/static/app.css: %d %q, want the file from %s/static", resp.StatusCode, body, cfg.AppDir)
	}

	// The staticfiles namespace replaces the default.
	cfg2 := baseConfig(t, cfg.AppAddr)
	cfg2.AppDir = cfg.AppDir
	cfg2.StaticFiles = map[string]string{"/images": "assets"}
	in2 := start(t, cfg2)
	if resp, body := in2.get(t, "/images/logo.txt", nil); resp.StatusCode != 200 || body != "from assets\n" {
		t.Errorf("/images/logo.txt: %d %q, want the file from assets", resp.StatusCode, body)
	}
	if resp, body := in2.get(t, "/static/app.css", nil); !strings.Contains(body, `"Host"`) {
		t.Errorf("/static/app.css with staticfiles set: %d %q, want the backend's answer", resp.StatusCode, body)
	}
}

// project writes files below a project's .platform/nginx.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), ".platform", "nginx")
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestProjectConfDIsIncluded(t *testing.T) {
	requireNginx(t)
	root := project(t, map[string]string{
		"conf.d/proxy.conf": "client_max_body_size 1k;\nadd_header X-Project conf.d;\n",
	})
	cfg := baseConfig(t, backend(t))
	cfg.ProjectConfD = []string{filepath.Join(root, "conf.d", "proxy.conf")}
	in := start(t, cfg)

	if resp, _ := in.get(t, "/", nil); resp.Header.Get("X-Project") != "conf.d" {
		t.Errorf("X-Project = %q, want the header the project's conf.d adds", resp.Header.Get("X-Project"))
	}
	resp, err := http.Post("http://"+in.addr+"/upload", "text/plain", strings.NewReader(strings.Repeat("x", 2048)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("2 KiB body with client_max_body_size 1k: %d, want 413", resp.StatusCode)
	}
}

func TestProjectNginxConfReplacesMainFile(t *testing.T) {
	requireNginx(t)
	// A copy of the platform's file as users keep it, with the paths and
	// listeners of an instance.
	root := project(t, map[string]string{"nginx.conf": `user                    nginx;
error_log               /var/log/nginx/error.log warn;
pid                     /var/run/nginx.pid;
worker_processes        auto;
worker_rlimit_nofile    200000;

events {
    worker_connections  1024;
}

http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;
    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';
    include       conf.d/*.conf;
    map $http_upgrade $connection_upgrade {
        default     "upgrade";
    }
    server {
        listen        80 default_server;
        listen        [::]:80 default_server;
        access_log    /var/log/nginx/access.log main;
        location = /custom {
            return 200 "from the project's nginx.conf\n";
        }
        include conf.d/elasticbeanstalk/*.conf;
    }
}
`})
	cfg := baseConfig(t, backend(t))
	cfg.ProjectNginxConf = filepath.Join(root, "nginx.conf")
	in := start(t, cfg)

	if _, body := in.get(t, "/custom", nil); body != "from the project's nginx.conf\n" {
		t.Errorf("/custom: %q, want the project's location", body)
	}
	if _, body := in.get(t, "/app", nil); !strings.Contains(body, `"Host":"`+strings.Split(in.addr, ":")[0]) {
		t.Errorf("/app: %q, want the backend through conf.d/elasticbeanstalk", body)
	}
	lines := in.accessLines(t, 2)
	if e, ok := ParseAccessLine(lines[1]); !ok || e.URI != "/app" || e.Status != 200 {
		t.Errorf("access.log line %q, want GET /app 200 in the main format", lines[1])
	}
}

func TestBrokenConfDNamesFileAndLine(t *testing.T) {
	requireNginx(t)
	root := project(t, map[string]string{
		"conf.d/broken.conf": "# a project's mistake\nclient_max_body_size 10m;\nclient_max_body_sise 20m;\n",
	})
	cfg := baseConfig(t, "127.0.0.1:8000")
	cfg.ProjectConfD = []string{filepath.Join(root, "conf.d", "broken.conf")}
	conf, err := Write(cfg)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	err = Check(conf)
	want := `instance proxy: nginx -t rejects the configuration: [emerg] unknown directive "client_max_body_sise" in ` + filepath.Join(root, "conf.d", "broken.conf") + ":3"
	if err == nil || err.Error() != want {
		t.Fatalf("Check = %v, want nginx's message naming %s", err, want)
	}
}
