package instanceproxy

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// A project's own nginx files (.platform/nginx/nginx.conf and conf.d/*.conf)
// are written for an instance where nginx runs as root from /etc/nginx and
// logs to /var/log/nginx. elbow runs them unchanged except for what cannot
// work on a shared machine, and rewrites that in place without adding or
// removing lines, so that nginx's "in FILE:LINE" still points at the line the
// user wrote:
//
//   - paths of the instance are mapped to the instance's folders (pathMap);
//   - listen on port 80 (or a bare port, or a wildcard address) becomes the
//     instance's ListenAddr (its IP, and its port for port 80): a wildcard
//     would bind every interface of the machine, and [::] listeners are
//     dropped for the same reason;
//   - user, pid, daemon and master_process at the top level are dropped: elbow
//     runs nginx as one foreground process it supervises (see Command), and a
//     user such as Amazon Linux's "nginx" need not exist here;
//   - missing temp paths, pid and error_log are added on the line of the
//     block's opening brace, pointing into RunDir and LogDir.

// token is one word of an nginx configuration: a bare word, a quoted string
// (value unquoted), or one of ";", "{", "}".
type token struct {
	text       string
	start, end int // byte span in the source, quotes included
	quote      byte
	line       int
}

func (t token) punct() bool { return t.quote == 0 && (t.text == ";" || t.text == "{" || t.text == "}") }

// tokenize follows nginx's own reader (src/core/ngx_conf_file.c,
// ngx_conf_read_token): words end at space, ";", "{" or "}", a quote opens a
// string only at the start of a word, "#" starts a comment at the start of a
// word, and "${" inside a word does not open a block.
func tokenize(src string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == ';' || c == '{' || c == '}':
			toks = append(toks, token{text: string(c), start: i, end: i + 1, line: line})
			i++
		case c == '"' || c == '\'':
			start, startLine := i, line
			var b strings.Builder
			i++
			for ; i < len(src) && src[i] != c; i++ {
				if src[i] == '\\' && i+1 < len(src) {
					i++
				}
				if src[i] == '\n' {
					line++
				}
				b.WriteByte(src[i])
			}
			if i >= len(src) {
				return nil, fmt.Errorf("line %d: unterminated %c string", startLine, c)
			}
			i++
			toks = append(toks, token{text: b.String(), start: start, end: i, quote: c, line: startLine})
		default:
			start := i
			for i < len(src) {
				c := src[i]
				if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '}' {
					break
				}
				if c == '{' {
					if i > start && src[i-1] == '$' {
						for i < len(src) && src[i] != '}' {
							i++
						}
						if i < len(src) {
							i++
						}
						continue
					}
					break
				}
				if c == '\\' && i+1 < len(src) {
					i++
				}
				i++
			}
			toks = append(toks, token{text: src[start:i], start: start, end: i, line: line})
		}
	}
	return toks, nil
}

// directive is one statement: name and arguments, ended by ";" (end is the
// byte after it) or opening a block (open is the "{" token).
type directive struct {
	name  token
	args  []token
	ctx   []string // names of the enclosing blocks, outermost first
	end   int
	block bool
	open  token
}

func parseDirectives(src string) ([]directive, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	var out []directive
	var ctx []string
	var cur []token
	for _, t := range toks {
		if !t.punct() {
			cur = append(cur, t)
			continue
		}
		switch t.text {
		case ";", "{":
			if len(cur) == 0 {
				return nil, fmt.Errorf("line %d: unexpected %q", t.line, t.text)
			}
			d := directive{name: cur[0], args: cur[1:], ctx: append([]string(nil), ctx...), end: t.end}
			if t.text == "{" {
				d.block, d.open = true, t
				ctx = append(ctx, cur[0].text)
			}
			out = append(out, d)
		case "}":
			if len(cur) != 0 || len(ctx) == 0 {
				return nil, fmt.Errorf("line %d: unexpected \"}\"", t.line)
			}
			ctx = ctx[:len(ctx)-1]
		}
		cur = nil
	}
	if len(cur) != 0 {
		return nil, fmt.Errorf("unexpected end of file, expecting \";\" or \"}\"")
	}
	if len(ctx) != 0 {
		return nil, fmt.Errorf("unexpected end of file, expecting \"}\"")
	}
	return out, nil
}

// pathMap maps the instance's paths on Amazon Linux to this instance's
// folders, longest prefix first.
type pathMap [][2]string

func (m pathMap) apply(s string) string {
	for _, p := range m {
		if s == p[0] || strings.HasPrefix(s, p[0]+"/") {
			return p[1] + s[len(p[0]):]
		}
	}
	return s
}

func newPathMap(cfg Config) pathMap {
	m := pathMap{
		{"/etc/nginx/conf.d", cfg.RunDir + "/conf.d"},
		{"/etc/nginx", cfg.RunDir},
		{"/var/log", cfg.LogDir},
		{"/var/lib/nginx", cfg.RunDir + "/tmp"},
		{"/var/cache/nginx", cfg.RunDir + "/tmp"},
		{"/var/app/current", cfg.AppDir},
	}
	sort.SliceStable(m, func(i, j int) bool { return len(m[i][0]) > len(m[j][0]) })
	return m
}

type edit struct {
	start, end int
	text       string
}

// keepLines replaces s with text padded by the newlines s had, so the lines
// after it keep their numbers.
func keepLines(s, text string) string {
	return text + strings.Repeat("\n", strings.Count(s, "\n"))
}

func quoteLike(t token, s string) string {
	if t.quote == 0 {
		return s
	}
	q := string(t.quote)
	return q + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), q, `\`+q) + q
}

// rewriteListen maps one listen address; ok is false for a listener to drop.
func rewriteListen(addr string, listen *net.TCPAddr) (string, bool) {
	if strings.HasPrefix(addr, "unix:") {
		return addr, true
	}
	host, port := "", addr
	if h, p, err := net.SplitHostPort(addr); err == nil {
		host, port = h, p
	} else if _, err := strconv.Atoi(addr); err != nil {
		// A host without a port listens on 80, as nginx documents for listen.
		host, port = addr, "80"
	}
	if strings.Contains(host, ":") {
		return "", false
	}
	if port == "80" {
		return listen.String(), true
	}
	if host == "" || host == "*" || host == "0.0.0.0" {
		return net.JoinHostPort(listen.IP.String(), port), true
	}
	return addr, true
}

// rewriteOpts says which file is rewritten.
type rewriteOpts struct {
	// main is set for nginx.conf, whose top level is nginx's main context;
	// a conf.d file's top level is inside http{}.
	main bool
	// httpAccessLog is set when an http-level access_log exists elsewhere
	// (a conf.d file's top level), so none is added.
	httpAccessLog bool
}

var droppedMain = map[string]string{
	"user":           "elbow runs nginx as one process, not as the platform's nginx user",
	"pid":            "the pid file is in the instance's run folder",
	"daemon":         "elbow runs nginx in the foreground",
	"master_process": "elbow runs nginx as one supervised process",
}

var tempPaths = []string{"client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path"}

// rewrite applies the rules above to one file's text.
func rewrite(src string, cfg Config, listen *net.TCPAddr, opts rewriteOpts) (string, error) {
	dirs, err := parseDirectives(src)
	if err != nil {
		return "", err
	}
	paths := newPathMap(cfg)
	var edits []edit
	inMain := func(d directive) bool { return opts.main && len(d.ctx) == 0 }
	inHTTP := func(d directive) bool {
		return (opts.main && len(d.ctx) == 1 && d.ctx[0] == "http") || (!opts.main && len(d.ctx) == 0)
	}
	mainHas := map[string]bool{}
	httpHas := map[string]bool{}
	var httpBlock *directive
	for i, d := range dirs {
		if inMain(d) {
			mainHas[d.name.text] = true
			if d.name.text == "http" && d.block {
				httpBlock = &dirs[i]
			}
			if _, drop := droppedMain[d.name.text]; drop {
				edits = append(edits, edit{d.name.start, d.end, keepLines(src[d.name.start:d.end], "")})
				continue
			}
		}
		if inHTTP(d) {
			httpHas[d.name.text] = true
		}
		for j, a := range d.args {
			v := a.text
			if d.name.text == "listen" && j == 0 {
				nv, keep := rewriteListen(v, listen)
				if !keep {
					edits = append(edits, edit{d.name.start, d.end, keepLines(src[d.name.start:d.end], "")})
					break
				}
				v = nv
			} else {
				v = paths.apply(v)
			}
			if v != a.text {
				edits = append(edits, edit{a.start, a.end, quoteLike(a, v)})
			}
		}
	}
	if opts.main {
		head := "pid " + cfg.RunDir + "/nginx.pid; "
		if !mainHas["error_log"] {
			head += "error_log " + cfg.LogDir + "/nginx/error.log; "
		}
		edits = append(edits, edit{0, 0, head})
		if httpBlock != nil {
			var add string
			for _, p := range tempPaths {
				if !httpHas[p] {
					add += " " + p + " " + cfg.RunDir + "/tmp/" + strings.TrimSuffix(p, "_temp_path") + ";"
				}
			}
			// Without one, nginx logs to its compiled-in path, which on
			// Amazon Linux is /var/log/nginx/access.log in the combined format.
			if !httpHas["access_log"] && !opts.httpAccessLog {
				add += " access_log " + cfg.LogDir + "/nginx/access.log combined;"
			}
			edits = append(edits, edit{httpBlock.open.end, httpBlock.open.end, add})
		}
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	out := src
	for _, e := range edits {
		out = out[:e.start] + e.text + out[e.end:]
	}
	return out, nil
}

// hasTopLevel reports whether a conf.d file sets name at its top level.
func hasTopLevel(src, name string) bool {
	dirs, err := parseDirectives(src)
	if err != nil {
		return false
	}
	for _, d := range dirs {
		if len(d.ctx) == 0 && d.name.text == name {
			return true
		}
	}
	return false
}
