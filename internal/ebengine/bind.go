package ebengine

import (
	"regexp"
	"strconv"
)

// A web command's bind, in the forms the engine recognises, with the
// address in group "host" and the port in group "port".
var bindForms = []*regexp.Regexp{
	// gunicorn -b/--bind HOST:PORT (https://docs.gunicorn.org/en/stable/settings.html#bind)
	regexp.MustCompile(`(?:^|\s)(?:-b\s*|--bind[=\s]\s*)["']?(?P<host>[0-9.]*|localhost):(?P<port>\d+)`),
	// Django's runserver [addr:]port
	regexp.MustCompile(`runserver(?:\s+--\S+)*\s+["']?(?P<host>[0-9.]+|localhost):(?P<port>\d+)`),
	// uvicorn and flask run --host HOST (their port flag is kept as it is)
	regexp.MustCompile(`(?:^|\s)(?:-h\s+|--host[=\s]\s*)["']?(?P<host>[0-9.]+|localhost)(?P<port>)\b`),
}

// rebind rewrites the bind address of cmd to ip where cmd names one the
// engine recognises, and returns the new command, the port named (0 when
// the form names none) and whether it changed anything.
func rebind(cmd, ip string) (string, int, bool) {
	for _, rx := range bindForms {
		m := rx.FindStringSubmatchIndex(cmd)
		if m == nil {
			continue
		}
		hi := rx.SubexpIndex("host")
		pi := rx.SubexpIndex("port")
		port, _ := strconv.Atoi(cmd[m[2*pi]:m[2*pi+1]])
		return cmd[:m[2*hi]] + ip + cmd[m[2*hi+1]:], port, true
	}
	return cmd, 0, false
}
