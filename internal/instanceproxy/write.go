package instanceproxy

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// mainConf is Amazon Linux 2's /etc/nginx/nginx.conf as Elastic Beanstalk
// ships it, with its paths moved into the instance's folders. Differences,
// each because elbow runs many instances on one machine without root:
// no "user nginx" (the user need not exist; nginx runs as one process, see
// Command), no worker_processes/worker_rlimit_nofile (one process), pid and
// temp paths in RunDir, logs in LogDir, listen on ListenAddr.
const mainConf = `# Elastic Beanstalk Nginx Configuration File (written by elbow for one instance)

pid                     {{run}}/nginx.pid;
error_log               {{log}}/nginx/error.log warn;

events {
    worker_connections  1024;
}

http {
    server_tokens off;

    include       {{run}}/mime.types;
    default_type  application/octet-stream;

    client_body_temp_path {{run}}/tmp/client_body;
    proxy_temp_path       {{run}}/tmp/proxy;
    fastcgi_temp_path     {{run}}/tmp/fastcgi;
    uwsgi_temp_path       {{run}}/tmp/uwsgi;
    scgi_temp_path        {{run}}/tmp/scgi;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    include       conf.d/*.conf;

    map $http_upgrade $connection_upgrade {
        default     "upgrade";
    }

    server {
        listen        {{listen}} default_server;
        access_log    {{log}}/nginx/access.log main;

        client_header_timeout 60;
        client_body_timeout   60;
        keepalive_timeout     60;
        gzip                  off;
        gzip_comp_level       4;
        gzip_types text/plain text/css application/json application/javascript application/x-javascript text/xml application/xml application/xml+rss text/javascript;

        # Include the Elastic Beanstalk generated locations
        include conf.d/elasticbeanstalk/*.conf;
    }
}
`

// applicationConf is conf.d/elasticbeanstalk/00_application.conf: the
// AWS-provided default location block (elastic-beanstalk-samples,
// configuration-files/aws-provided/security-configuration/https-redirect/
// golang/nginx/conf.d/elasticbeanstalk/00_application.conf, without the
// redirect prelude).
const applicationConf = `location / {
    proxy_pass          http://{{app}};
    proxy_http_version  1.1;

    proxy_set_header    Connection          $connection_upgrade;
    proxy_set_header    Upgrade             $http_upgrade;
    proxy_set_header    Host                $host;
    proxy_set_header    X-Real-IP           $remote_addr;
    proxy_set_header    X-Forwarded-For     $proxy_add_x_forwarded_for;
}
`

// healthdFormat and healthdLog are the platform's conf.d/healthd.conf and
// conf.d/elasticbeanstalk/healthd.conf
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-serverlogs.html).
const healthdFormat = `log_format healthd '$msec"$uri"'
                   '$status"$request_time"$upstream_response_time"'
                   '$http_x_forwarded_for';
`

const healthdLog = `if ($time_iso8601 ~ "^(\d{4})-(\d{2})-(\d{2})T(\d{2})") {
    set $year $1;
    set $month $2;
    set $day $3;
    set $hour $4;
}

access_log {{log}}/nginx/healthd/application.log.$year-$month-$day-$hour healthd;
`

// systemDir is where Debian's nginx package keeps mime.types and the
// *_params files, the same place as on Amazon Linux.
const systemDir = "/etc/nginx"

var systemFiles = []string{"mime.types", "fastcgi_params", "fastcgi.conf", "scgi_params", "uwsgi_params"}

// originsFile names, one "copy<TAB>origin" per line, the project file each
// file in RunDir came from, so that Check can name the user's file.
const originsFile = "origins"

// Write writes the instance's nginx configuration into cfg.RunDir (see the
// package comment for the layout) and creates the log folders. It returns
// the main file's path, for Command and Check. A project file nginx would
// reject is copied as it is, so that Check reports nginx's own message.
func Write(cfg Config) (confPath string, err error) {
	listen, err := cfg.validate()
	if err != nil {
		return "", err
	}
	cfg.RunDir, cfg.LogDir, cfg.AppDir = filepath.Clean(cfg.RunDir), filepath.Clean(cfg.LogDir), filepath.Clean(cfg.AppDir)
	fill := strings.NewReplacer("{{run}}", cfg.RunDir, "{{log}}", cfg.LogDir, "{{listen}}", listen.String(), "{{app}}", cfg.AppAddr).Replace

	// conf.d is elbow's alone: a file the project no longer has must go.
	if err := os.RemoveAll(filepath.Join(cfg.RunDir, "conf.d")); err != nil {
		return "", fmt.Errorf("instance proxy: clear %s: %w", cfg.RunDir, err)
	}
	for _, d := range []string{
		filepath.Join(cfg.RunDir, "conf.d", "elasticbeanstalk"),
		filepath.Join(cfg.RunDir, "tmp"),
		// An access_log path with variables (healthd's) is written only
		// while the request's root folder exists, and the default root is
		// <prefix>/html (https://nginx.org/en/docs/http/ngx_http_log_module.html#access_log).
		filepath.Join(cfg.RunDir, "html"),
		filepath.Join(cfg.LogDir, "nginx", "healthd"),
	} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("instance proxy: %w", err)
		}
	}
	for _, name := range systemFiles {
		b, err := os.ReadFile(filepath.Join(systemDir, name))
		if err != nil {
			continue // not installed: only a project file naming it needs it, and nginx says so
		}
		if err := writeFile(filepath.Join(cfg.RunDir, name), string(b)); err != nil {
			return "", err
		}
	}

	files := map[string]string{
		"conf.d/elasticbeanstalk/00_application.conf": fill(applicationConf),
	}
	if static := cfg.staticFiles(); len(static) > 0 {
		files["conf.d/elasticbeanstalk/01_static.conf"] = staticConf(cfg.AppDir, static)
	}
	if cfg.HealthdLog {
		files["conf.d/healthd.conf"] = healthdFormat
		files["conf.d/elasticbeanstalk/healthd.conf"] = fill(healthdLog)
	}

	var origins []string
	httpAccessLog := false
	for _, src := range cfg.ProjectConfD {
		b, err := os.ReadFile(src)
		if err != nil {
			return "", fmt.Errorf("instance proxy: read .platform/nginx/conf.d file: %w", err)
		}
		rel := confDPath(src)
		text := string(b)
		if out, err := rewrite(text, cfg, listen, rewriteOpts{}); err == nil {
			text = out
		}
		if !strings.Contains(rel, "/") && hasTopLevel(string(b), "access_log") {
			httpAccessLog = true
		}
		files[rel] = text
		origins = append(origins, filepath.Join(cfg.RunDir, rel)+"\t"+src)
	}

	main := fill(mainConf)
	if cfg.ProjectNginxConf != "" {
		b, err := os.ReadFile(cfg.ProjectNginxConf)
		if err != nil {
			return "", fmt.Errorf("instance proxy: read .platform/nginx/nginx.conf: %w", err)
		}
		main = string(b)
		if out, err := rewrite(main, cfg, listen, rewriteOpts{main: true, httpAccessLog: httpAccessLog}); err == nil {
			main = out
		}
		origins = append(origins, filepath.Join(cfg.RunDir, "nginx.conf")+"\t"+cfg.ProjectNginxConf)
	}
	files["nginx.conf"] = main

	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := writeFile(filepath.Join(cfg.RunDir, n), files[n]); err != nil {
			return "", err
		}
	}
	if err := writeFile(filepath.Join(cfg.RunDir, originsFile), strings.Join(origins, "\n")); err != nil {
		return "", err
	}
	return filepath.Join(cfg.RunDir, "nginx.conf"), nil
}

// confDPath is where a project conf.d file goes below RunDir: its path below
// the last "conf.d" folder, as Beanstalk copies .platform/nginx/conf.d.
func confDPath(src string) string {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(src)), "/")
	for i := len(parts) - 2; i >= 0; i-- {
		if parts[i] == "conf.d" {
			return "conf.d/" + strings.Join(parts[i+1:], "/")
		}
	}
	return "conf.d/" + parts[len(parts)-1]
}

// staticConf is conf.d/elasticbeanstalk/01_static.conf: one location per
// static path, aliased to its folder.
func staticConf(appDir string, static map[string]string) string {
	paths := make([]string, 0, len(static))
	for p := range static {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		dir := static[p]
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(appDir, dir)
		} else if dir == "/var/app/current" || strings.HasPrefix(dir, "/var/app/current/") {
			dir = appDir + strings.TrimPrefix(dir, "/var/app/current")
		}
		fmt.Fprintf(&b, "location %s {\n    alias %s;\n    access_log off;\n}\n\n", p, dir)
	}
	return b.String()
}

func writeFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("instance proxy: %w", err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("instance proxy: %w", err)
	}
	return nil
}
