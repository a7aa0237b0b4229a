package instanceproxy

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testCfg = Config{
	ListenAddr: "127.0.0.5:8080", AppAddr: "127.0.0.1:8000", Platform: "python",
	AppDir: "/e/app", LogDir: "/e/log", RunDir: "/e/run",
}

func TestRewrite(t *testing.T) {
	listen := &net.TCPAddr{IP: net.ParseIP("127.0.0.5"), Port: 8080}
	tests := []struct {
		name string
		main bool
		in   string
		want string
	}{
		{"port 80 becomes the instance's address", false,
			"server { listen 80 default_server; }", "server { listen 127.0.0.5:8080 default_server; }"},
		{"wildcard on another port keeps the port on the instance's IP", false,
			"server { listen *:8443; listen 0.0.0.0:81; listen 9000; }",
			"server { listen 127.0.0.5:8443; listen 127.0.0.5:81; listen 127.0.0.5:9000; }"},
		{"a host without a port is port 80", false,
			"server { listen localhost; }", "server { listen 127.0.0.5:8080; }"},
		{"an IPv6 listener is dropped", false,
			"server {\n listen [::]:80 ipv6only=on;\n}", "server {\n \n}"},
		{"instance paths map into the instance's folders", false,
			`location /media { alias /var/app/current/media; } access_log "/var/log/nginx/app.log"; include /etc/nginx/conf.d/x/*.conf;`,
			`location /media { alias /e/app/media; } access_log "/e/log/nginx/app.log"; include /e/run/conf.d/x/*.conf;`},
		{"variables in braces are one word", false,
			`set $x "${host}a"; return 200 ${x}b;`, `set $x "${host}a"; return 200 ${x}b;`},
		{"comments are left alone", false,
			"# listen 80; /var/log\nlisten 80; # /var/log\n", "# listen 80; /var/log\nlisten 127.0.0.5:8080; # /var/log\n"},
		{"main: user, pid, daemon, master_process dropped, paths added on line 1", true,
			"user nginx;\npid /var/run/nginx.pid;\ndaemon on; master_process on;\nevents {}\nhttp {\n}\n",
			"pid /e/run/nginx.pid; error_log /e/log/nginx/error.log; \n\n \nevents {}\nhttp { client_body_temp_path /e/run/tmp/client_body; proxy_temp_path /e/run/tmp/proxy; fastcgi_temp_path /e/run/tmp/fastcgi; uwsgi_temp_path /e/run/tmp/uwsgi; scgi_temp_path /e/run/tmp/scgi; access_log /e/log/nginx/access.log combined;\n}\n"},
		{"main: the project's own error_log, temp paths and http access_log are kept", true,
			"error_log /var/log/nginx/error.log warn;\nhttp { proxy_temp_path /var/lib/nginx/proxy; access_log off; }",
			"pid /e/run/nginx.pid; error_log /e/log/nginx/error.log warn;\nhttp { client_body_temp_path /e/run/tmp/client_body; fastcgi_temp_path /e/run/tmp/fastcgi; uwsgi_temp_path /e/run/tmp/uwsgi; scgi_temp_path /e/run/tmp/scgi; proxy_temp_path /e/run/tmp/proxy; access_log off; }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rewrite(tt.in, testCfg, listen, rewriteOpts{main: tt.main})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("rewrite:\n%s\nwant:\n%s", got, tt.want)
			}
			if strings.Count(got, "\n") != strings.Count(tt.in, "\n") {
				t.Errorf("line count changed: nginx's FILE:LINE would no longer point at the user's line")
			}
		})
	}
}

func TestRewriteRejectsWhatNginxWould(t *testing.T) {
	for _, in := range []string{"server {", "}", "listen 80", `return 200 "open;`} {
		if _, err := rewrite(in, testCfg, &net.TCPAddr{}, rewriteOpts{}); err == nil {
			t.Errorf("rewrite(%q) succeeded, want an error (the file is then copied as it is for nginx to report)", in)
		}
	}
}

func TestConfDPath(t *testing.T) {
	for in, want := range map[string]string{
		"/p/.platform/nginx/conf.d/proxy.conf":                           "conf.d/proxy.conf",
		"/p/.platform/nginx/conf.d/elasticbeanstalk/00_application.conf": "conf.d/elasticbeanstalk/00_application.conf",
		"/elsewhere/x.conf": "conf.d/x.conf",
	} {
		if got := confDPath(in); got != want {
			t.Errorf("confDPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProjectSnippetReplacesPlatformSnippet(t *testing.T) {
	root := project(t, map[string]string{"conf.d/elasticbeanstalk/00_application.conf": "location / { return 204; }\n"})
	cfg := baseConfig(t, "127.0.0.1:8000")
	cfg.ProjectConfD = []string{filepath.Join(root, "conf.d", "elasticbeanstalk", "00_application.conf")}
	if _, err := Write(cfg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cfg.RunDir, "conf.d", "elasticbeanstalk", "00_application.conf"))
	if err != nil || string(b) != "location / { return 204; }\n" {
		t.Errorf("00_application.conf = %q, %v; want the project's", b, err)
	}
}

func TestWriteValidates(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"listen without port", func(c *Config) { c.ListenAddr = "127.0.0.1" }, `ListenAddr "127.0.0.1" must be ip:port`},
		{"listen on a name", func(c *Config) { c.ListenAddr = "localhost:80" }, `ListenAddr "localhost:80" must be ip:port`},
		{"app port 0", func(c *Config) { c.AppAddr = "127.0.0.1:0" }, `AppAddr "127.0.0.1:0" must be ip:port with a port from 1 to 65535`},
		{"platform", func(c *Config) { c.Platform = "php" }, `Platform "php" is not one elbow runs behind nginx; allowed: python, nodejs, go`},
		{"relative run dir", func(c *Config) { c.RunDir = "run" }, `RunDir "run" must be an absolute path`},
		{"static path", func(c *Config) { c.StaticFiles = map[string]string{"static": "static"} }, `staticfiles: path "static" must start with "/"`},
		{"static folder", func(c *Config) { c.StaticFiles = map[string]string{"/s": "a b"} }, `staticfiles: folder "a b" for /s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testCfg
			tt.edit(&cfg)
			_, err := Write(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Write = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStaticFilesDefaultOnlyForPython(t *testing.T) {
	for _, tt := range []struct {
		platform string
		static   map[string]string
		want     int
	}{{"python", nil, 1}, {"python", map[string]string{}, 0}, {"nodejs", nil, 0}, {"go", map[string]string{"/a": "b"}, 1}} {
		c := testCfg
		c.Platform, c.StaticFiles = tt.platform, tt.static
		if got := len(c.staticFiles()); got != tt.want {
			t.Errorf("%s with %v: %d static locations, want %d", tt.platform, tt.static, got, tt.want)
		}
	}
}
