package diagnose

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/instanceproxy"
)

// An instance elbow runs keeps its logs as Beanstalk does
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.logging.html):
// nginx's access log, where the health checker's request appears with the
// status the app gave it, and the web process's output, where the app says
// why it refused it (Django's "Invalid HTTP_HOST header", Rails' "Blocked
// host"). The diagnosis quotes both, verbatim, so that the user sees the
// lines they would find on the instance.

// InstanceLogsLookup returns the log folder of t's instance (the one holding
// nginx/access.log and web.stdout.log); false when t is not an instance
// elbow runs.
type InstanceLogsLookup func(t healthcheck.Target) (dir string, ok bool)

// Files of an instance's log folder, relative to it, with the paths
// Beanstalk gives them on the instance.
const (
	accessLogFile = "nginx/access.log"
	webLogFile    = "web.stdout.log"
)

// logTailLimit bounds what is read of each log: only the end of the file,
// where the latest check's lines are.
const logTailLimit = 64 << 10

// InstanceLogs is what the instance's own logs say about the failing check.
// Field names are stable: they are the JSON of Evidence.InstanceLogs.
type InstanceLogs struct {
	// Dir is the instance's log folder on this machine.
	Dir string `json:"Dir"`
	// AccessLog is nginx's access-log line of the health checker's request
	// with the failing status; nil when nginx is not in front of the app or
	// logged no such request.
	AccessLog *LogLine `json:"AccessLog,omitempty"`
	// AppLog is the app's own line explaining the refusal; nil when none
	// was found.
	AppLog *LogLine `json:"AppLog,omitempty"`
}

// LogLine is one line quoted from an instance's log.
type LogLine struct {
	// File is the file on this machine.
	File string `json:"File"`
	// Path is where Beanstalk keeps that file on the instance, such as
	// /var/log/nginx/access.log.
	Path string `json:"Path"`
	// Line is the line as written, without its newline.
	Line string `json:"Line"`
	// Kind says what the line is: "django-disallowed-host",
	// "rails-blocked-host", "host" (a line naming the Host value) or
	// "health-check-request".
	Kind string `json:"Kind"`
}

// Kinds of LogLine.
const (
	LogHealthCheckRequest   = "health-check-request"
	LogDjangoDisallowedHost = "django-disallowed-host"
	LogRailsBlockedHost     = "rails-blocked-host"
	LogHostMentioned        = "host"
	// LogFlaskServerName is Werkzeug's warning when the Host is not Flask's
	// SERVER_NAME (flask.go).
	LogFlaskServerName = "flask-server-name"
)

// readInstanceLogs finds the lines of the instance's logs in dir that
// explain the failing check r of t; nil when there is none.
func readInstanceLogs(dir string, t healthcheck.Target, s healthcheck.Settings, r healthcheck.Result) *InstanceLogs {
	l := &InstanceLogs{Dir: dir}
	if lines, err := tailLines(filepath.Join(dir, accessLogFile)); err == nil {
		l.AccessLog = checkerLine(lines, s, r)
		if l.AccessLog != nil {
			l.AccessLog.File = filepath.Join(dir, accessLogFile)
		}
	}
	if lines, err := tailLines(filepath.Join(dir, webLogFile)); err == nil {
		l.AppLog = appLine(lines, t, s)
		if l.AppLog != nil {
			l.AppLog.File = filepath.Join(dir, webLogFile)
		}
	}
	if l.AccessLog == nil && l.AppLog == nil {
		return nil
	}
	return l
}

// checkerLine is the latest access-log line of a health checker's request
// for the check's path with the status it got. A check that timed out is
// logged by nginx with 499, "client closed request" (nginx's
// ngx_http_request.h, NGX_HTTP_CLIENT_CLOSED_REQUEST).
func checkerLine(lines []string, s healthcheck.Settings, r healthcheck.Result) *LogLine {
	status := r.StatusCode
	if status == 0 {
		if r.Reason != healthcheck.ReasonTimeout {
			return nil
		}
		status = 499
	}
	for i := len(lines) - 1; i >= 0; i-- {
		e, ok := instanceproxy.ParseAccessLine(lines[i])
		if !ok || e.Status != status || !strings.HasPrefix(e.UserAgent, "ELB-HealthChecker/") {
			continue
		}
		if s.Path != "" && e.URI != s.Path {
			continue
		}
		return &LogLine{Path: "/var/log/" + accessLogFile, Line: e.Line, Kind: LogHealthCheckRequest}
	}
	return nil
}

// appLine is the app's latest line refusing the check's Host. nginx passes
// Host as $host, the name without the port, and an app reached directly
// gets ip:port: a line naming the IP covers both. Django's line is
// "Invalid HTTP_HOST header: '172.31.5.17'. You may need to add
// '172.31.5.17' to ALLOWED_HOSTS." (HttpRequest.get_host in
// django/http/request.py); Rails logs "Blocked host: 172.31.5.17" (6.1) or
// "Blocked hosts: 172.31.5.17:80" (7+)
// (actionpack/lib/action_dispatch/middleware/host_authorization.rb). A
// line of another kind must name the IP and say "host", so that a server's
// "Listening at: http://IP:PORT" is not taken for a refusal.
func appLine(lines []string, t healthcheck.Target, s healthcheck.Settings) *LogLine {
	ip := t.IP
	if ip == "" {
		return nil
	}
	hostValues := []string{"'" + ip + "'", "'" + s.CheckAddr(t) + "'"}
	var generic *LogLine
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		if !mentionsIP(line, ip) {
			continue
		}
		if k := registeredLogKind(line); k != "" {
			return &LogLine{Path: "/var/log/" + webLogFile, Line: line, Kind: k}
		}
		kind := ""
		switch {
		case strings.Contains(line, "Invalid HTTP_HOST header") && containsAny(line, hostValues):
			kind = LogDjangoDisallowedHost
		case strings.Contains(line, "Blocked host"):
			kind = LogRailsBlockedHost
		case strings.Contains(line, werkzeugServerNameWarning):
			kind = LogFlaskServerName
		case generic == nil && strings.Contains(strings.ToLower(line), "host"):
			generic = &LogLine{Path: "/var/log/" + webLogFile, Line: line, Kind: LogHostMentioned}
			continue
		default:
			continue
		}
		return &LogLine{Path: "/var/log/" + webLogFile, Line: line, Kind: kind}
	}
	return generic
}

// mentionsIP reports whether line names ip as a whole address, not as the
// start of a longer one (172.31.5.17 in 172.31.5.170).
func mentionsIP(line, ip string) bool {
	for i := 0; ; {
		j := strings.Index(line[i:], ip)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(ip)
		before := start == 0 || !isAddrByte(line[start-1])
		// A period after the address may end the sentence.
		after := end == len(line) || !isAddrByte(line[end]) ||
			line[end] == '.' && (end+1 == len(line) || !isDigit(line[end+1]))
		if before && after {
			return true
		}
		i = start + 1
	}
}

func isAddrByte(c byte) bool { return c == '.' || isDigit(c) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// tailLines reads at most logTailLimit bytes from the end of the file at
// path and returns its complete lines; a line cut by the limit is dropped.
func tailLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-logTailLimit, 0)
	buf := make([]byte, st.Size()-off)
	n, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	buf = buf[:n]
	if off > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		} else {
			buf = nil
		}
	}
	text := strings.TrimRight(string(buf), "\n")
	if text == "" {
		return nil, nil
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines, nil
}

// logsSay adds the quoted lines to the why text.
func (l *InstanceLogs) logsSay() string {
	if l == nil {
		return ""
	}
	var s string
	if l.AccessLog != nil {
		s += " nginx logged the health checker's request (" + l.AccessLog.Path + "): " + l.AccessLog.Line
	}
	if l.AppLog != nil {
		s += " The app logged (" + l.AppLog.Path + "): " + l.AppLog.Line
	}
	return s
}

// decisive returns the framework whose own host refusal the app's line
// names, and the status that refusal answers with; "" when the line
// decides nothing.
func (l *InstanceLogs) decisive() (framework string, code int) {
	if l == nil || l.AppLog == nil {
		return "", 0
	}
	switch l.AppLog.Kind {
	case LogDjangoDisallowedHost:
		return Django, 400
	case LogRailsBlockedHost:
		return Rails, 403
	case LogFlaskServerName:
		return Flask, 404
	}
	for _, t := range registry {
		for _, k := range t.appLogs {
			if k.kind == l.AppLog.Kind {
				return t.name, k.code
			}
		}
	}
	return "", 0
}

// registeredLogKind is the kind of a registered framework's own line
// refusing the Host (frameworkText.appLogs), "" when none claims line.
func registeredLogKind(line string) string {
	for _, t := range registry {
		for _, k := range t.appLogs {
			if k.match(line) {
				return k.kind
			}
		}
	}
	return ""
}
