package diagnose

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// startNginx runs Debian's nginx in the foreground with its own prefix, a
// server on redirectPort that sends everything to HTTPS and a server on
// notFoundPort with an empty document root.
func startNginx(t *testing.T, ip string, redirectPort, notFoundPort int) {
	t.Helper()
	nginx := testutil.RequireProgram(t, "nginx")
	prefix := t.TempDir()
	if err := os.Mkdir(filepath.Join(prefix, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen %[2]s:%[3]d;
        return 301 https://$host$request_uri;
    }
    server {
        listen %[2]s:%[4]d;
        root %[1]s/www;
    }
}
`, prefix, ip, redirectPort, notFoundPort)
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", prefix, "-e", filepath.Join(prefix, "error.log"), "-c", confPath)
	testutil.Start(t, cmd, fmt.Sprintf("%s:%d", ip, notFoundPort))
	testutil.WaitListening(t, fmt.Sprintf("%s:%d", ip, redirectPort))
}

func TestDiagnoseNginx(t *testing.T) {
	const ip = "127.0.0.4"
	redirectPort := testutil.FreePort(t, ip)
	notFoundPort := testutil.FreePort(t, ip)
	if redirectPort == notFoundPort {
		t.Skip("the same free port twice; run again")
	}
	startNginx(t, ip, redirectPort, notFoundPort)

	t.Run("unconditional HTTPS redirect", func(t *testing.T) {
		tgt := healthcheck.Target{ID: ip, IP: ip, Port: redirectPort}
		r, d := checkAndDiagnose(t, tgt, settings("/", "200"), "www.example.com")
		if r.StatusCode != 301 {
			t.Fatalf("got %d %s %v, want 301", r.StatusCode, r.Reason, r.Err)
		}
		assertDiagnosis(t, d, CaseHTTPSRedirect, Nginx,
			"return 301 https://$host$request_uri",
			`if ($http_x_forwarded_proto = "http") { return 301 https://$host$request_uri; }`,
			`location = /health { access_log off; default_type text/plain; return 200 "ok\n"; }`,
			"HttpCode=200-301",
			"redirected in a loop",
		)
	})
	t.Run("404 on the health path", func(t *testing.T) {
		tgt := healthcheck.Target{ID: ip, IP: ip, Port: notFoundPort}
		r, d := checkAndDiagnose(t, tgt, settings("/health", "200"), "www.example.com")
		if r.StatusCode != 404 {
			t.Fatalf("got %d %s %v, want 404", r.StatusCode, r.Reason, r.Err)
		}
		assertDiagnosis(t, d, CasePathNotFound, Nginx,
			"nothing at /health",
			`location = /health { access_log off; default_type text/plain; return 200 "ok\n"; }`,
			"Point the health check at a path the app serves",
		)
	})
}
