// Package instanceproxy writes and runs the nginx that Elastic Beanstalk puts
// in front of an instance's web process: the platform's default nginx.conf
// and conf.d/elasticbeanstalk snippets (proxy to the app port with Host,
// X-Real-IP, X-Forwarded-For and the Upgrade headers, the "main" access-log
// format, static files), the project's .platform/nginx files on top, with
// every path moved into the instance's own folders so that nginx runs
// without root and many instances share one machine. It also reads the
// access-log lines nginx writes (ParseAccessLine).
//
// The platform's layout is kept, rooted at Config.RunDir instead of
// /etc/nginx:
//
//	RunDir/nginx.conf                          main file (the platform's, or .platform/nginx/nginx.conf)
//	RunDir/conf.d/*.conf                       .platform/nginx/conf.d/*.conf, included in http{}
//	RunDir/conf.d/healthd.conf                 the healthd log format (with Config.HealthdLog)
//	RunDir/conf.d/elasticbeanstalk/*.conf      00_application.conf, 01_static.conf, healthd.conf, included in server{}
//	RunDir/mime.types, *_params                copies of the system's, for relative includes
//	RunDir/tmp/                                client body, proxy, fastcgi, uwsgi, scgi temp files
//	RunDir/nginx.pid
//	RunDir/origins                             which project file each copy came from (for Check's messages)
//	LogDir/nginx/access.log, error.log         as /var/log/nginx on the instance
//	LogDir/nginx/healthd/application.log.Y-M-D-H
//
// A project's .platform/nginx/nginx.conf and conf.d files are used as they
// are, except what cannot work on a shared machine without the instance's
// root: Write rewrites those directives in place, keeping every line where
// it was (see rewrite.go): Amazon Linux paths (/etc/nginx, /var/log,
// /var/lib/nginx, /var/app/current) map to RunDir, LogDir and AppDir;
// listen 80 becomes ListenAddr; user, pid, daemon and master_process are
// dropped; missing pid, error_log and temp paths are added.
//
// Sources: https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/platforms-linux-extend.html
// (Reverse proxy configuration), the AWS-provided 00_application.conf in
// https://github.com/awsdocs/elastic-beanstalk-samples
// (configuration-files/aws-provided/security-configuration/https-redirect),
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-serverlogs.html
// (healthd format).
package instanceproxy

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
)

// Config is one instance's proxy.
type Config struct {
	// ListenAddr is where nginx listens, ip:port: the instance's port 80
	// (172.31.0.5:80), or another port where elbow may not bind below 1024.
	ListenAddr string
	// AppAddr is where the web process listens, ip:port (127.0.0.1:8000).
	AppAddr string
	// Platform is "python", "nodejs" or "go".
	Platform string
	// StaticFiles maps URL paths to folders (relative to AppDir, or
	// absolute), from aws:elasticbeanstalk:environment:proxy:staticfiles.
	// Nil means the platform's default: /static -> static for Python, none
	// otherwise; an empty map means none.
	StaticFiles map[string]string
	// AppDir is the instance's application folder (/var/app/current).
	AppDir string
	// LogDir is the instance's log folder (/var/log): nginx writes
	// LogDir/nginx/access.log and LogDir/nginx/error.log.
	LogDir string
	// RunDir holds the configuration, pid file and temp files (/etc/nginx
	// and /var/lib/nginx).
	RunDir string
	// ProjectNginxConf is .platform/nginx/nginx.conf, which replaces the
	// main file; empty for the platform's.
	ProjectNginxConf string
	// ProjectConfD are the project's .platform/nginx/conf.d files. Each is
	// placed at its path below the last "conf.d" folder of its own path
	// (so conf.d/elasticbeanstalk/00_application.conf replaces the
	// platform's snippet, as on Beanstalk), or by its base name.
	ProjectConfD []string
	// HealthdLog writes the log the enhanced-health agent reads.
	HealthdLog bool
}

// platforms are the values Platform may take.
var platforms = []string{"python", "nodejs", "go"}

func (c Config) validate() (listen *net.TCPAddr, err error) {
	listen, err = ipPort("ListenAddr", c.ListenAddr)
	if err != nil {
		return nil, err
	}
	if _, err := ipPort("AppAddr", c.AppAddr); err != nil {
		return nil, err
	}
	known := false
	for _, p := range platforms {
		known = known || c.Platform == p
	}
	if !known {
		return nil, fmt.Errorf("instance proxy: Platform %q is not one elbow runs behind nginx; allowed: %s", c.Platform, strings.Join(platforms, ", "))
	}
	for name, dir := range map[string]string{"AppDir": c.AppDir, "LogDir": c.LogDir, "RunDir": c.RunDir} {
		if !filepath.IsAbs(dir) {
			return nil, fmt.Errorf("instance proxy: %s %q must be an absolute path", name, dir)
		}
		if strings.ContainsAny(dir, unsafeChars) {
			return nil, fmt.Errorf("instance proxy: %s %q contains a character nginx would misread (one of %q)", name, dir, unsafeChars)
		}
	}
	for path, dir := range c.StaticFiles {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, unsafeChars) {
			return nil, fmt.Errorf("instance proxy: aws:elasticbeanstalk:environment:proxy:staticfiles: path %q must start with \"/\" and contain none of %q", path, unsafeChars)
		}
		if dir == "" || strings.ContainsAny(dir, unsafeChars) {
			return nil, fmt.Errorf("instance proxy: aws:elasticbeanstalk:environment:proxy:staticfiles: folder %q for %s must be a folder name containing none of %q", dir, path, unsafeChars)
		}
	}
	return listen, nil
}

// unsafeChars would end or open a word in nginx's syntax.
const unsafeChars = " \t\r\n;{}\"'#\\"

func ipPort(field, s string) (*net.TCPAddr, error) {
	host, _, err := net.SplitHostPort(s)
	if err == nil && net.ParseIP(host) != nil {
		if a, err := net.ResolveTCPAddr("tcp", s); err == nil && a.Port > 0 {
			return a, nil
		}
	}
	return nil, fmt.Errorf("instance proxy: %s %q must be ip:port with a port from 1 to 65535 (e.g. 127.0.0.1:8000)", field, s)
}

// staticFiles returns the URL path -> folder map in effect.
func (c Config) staticFiles() map[string]string {
	if c.StaticFiles == nil && c.Platform == "python" {
		// "By default, the proxy server in a Python environment serves any
		// files in a folder named static at the /static path."
		// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/create-deploy-python-container.html
		return map[string]string{"/static": "static"}
	}
	return c.StaticFiles
}
