package instanceproxy

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// AccessEntry is one line of the access log in Beanstalk's "main" format:
//
//	$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for"
//
// Fields nginx had no value for are "-", as nginx writes them.
type AccessEntry struct {
	RemoteAddr    string
	RemoteUser    string
	Time          time.Time
	Request       string // the request line, e.g. "GET / HTTP/1.1"
	Method        string // from Request; empty when it is not METHOD URI PROTO
	URI           string
	Proto         string
	Status        int
	Bytes         int64
	Referer       string
	UserAgent     string
	XForwardedFor string
	Line          string // the line as nginx wrote it, for quoting
}

// nginx escapes '"' and '\' in variables as \x22 and \x5C
// (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format,
// escape=default), so a quoted field holds no quote.
var mainLine = regexp.MustCompile(`^(\S+) - (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)" "([^"]*)"$`)

// timeLocal is nginx's $time_local.
const timeLocal = "02/Jan/2006:15:04:05 -0700"

// ParseAccessLine parses one access-log line in the "main" format; ok is
// false for a line in any other format.
func ParseAccessLine(line string) (AccessEntry, bool) {
	line = strings.TrimRight(line, "\r\n")
	m := mainLine.FindStringSubmatch(line)
	if m == nil {
		return AccessEntry{}, false
	}
	t, err := time.Parse(timeLocal, m[3])
	if err != nil {
		return AccessEntry{}, false
	}
	status, _ := strconv.Atoi(m[5])
	n, err := strconv.ParseInt(m[6], 10, 64)
	if err != nil {
		return AccessEntry{}, false
	}
	e := AccessEntry{
		RemoteAddr: m[1], RemoteUser: m[2], Time: t, Request: m[4],
		Status: status, Bytes: n, Referer: m[7], UserAgent: m[8], XForwardedFor: m[9], Line: line,
	}
	if f := strings.Split(e.Request, " "); len(f) == 3 && strings.HasPrefix(f[2], "HTTP/") {
		e.Method, e.URI, e.Proto = f[0], f[1], f[2]
	}
	return e, true
}
