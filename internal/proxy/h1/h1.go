// Package h1 parses the head of an HTTP/1.x request strictly, for the
// load balancer's own client-side connection loop. It accepts only what it
// fully understands and says so in three ways: a parsed request, a
// rejection (the status to answer before closing the connection: framing
// that two parsers could read differently is never passed on), or a
// fallback (valid HTTP the loop does not handle itself, such as chunked
// bodies, upgrades, Expect, absolute-form targets or HTTP/2 prior
// knowledge, which net/http then serves).
//
// Line endings follow RFC 9112 section 2.2: CRLF, or a bare LF (the CR is
// optional); a bare CR anywhere is rejected. The head is always passed on
// re-serialised with CRLF, so accepting a bare LF cannot desynchronise a
// target.
package h1

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/elbow-lb/elbow/internal/proxy/httpbytes"
)

// Outcome of Parse.
type Outcome int

const (
	// OK: Request holds the request.
	OK Outcome = iota
	// Reject: answer Request.Status (400, 414, 431, 501) and close.
	Reject
	// Fallback: hand the connection, this request included, to net/http.
	Fallback
)

// Limits of a request head, the ALB's ("HTTP header limits" in
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html:
// request line 16 K, single header 16 K, whole header 64 K): above them it
// answers 414 (request line) or 431 (a field, the whole head). Every
// listener and path applies them (net/http's own limit is 1 MiB).
const (
	MaxRequestLine = 16 << 10
	MaxField       = 16 << 10
	MaxHead        = 64 << 10
)

// Request is one parsed request head. Every string is a substring of the
// head the caller passed, so a Request costs no allocation of its own; its
// Header map and value storage are reused by the next Parse.
type Request struct {
	Method, Target, Proto string
	Minor                 int // HTTP/1.Minor
	Host                  string
	// Header holds every field but Host, under canonical names.
	Header http.Header
	// ContentLength is the body's length, 0 when there is none.
	ContentLength int64
	// Close: the connection must close after the response (Connection:
	// close, or HTTP/1.0).
	Close bool
	// Chunked: the body is chunked (HTTP/1.1 and one Transfer-Encoding
	// field, "chunked"), as net/http frames it; ContentLength is then 0.
	Chunked bool
	// Upgrade: the request asks for a protocol upgrade.
	Upgrade bool
	// NoHost: an HTTP/1.0 request without Host; the caller fills in the
	// load balancer's name, as the ALB does.
	NoHost bool
	// Status is the answer to a Reject.
	Status int
	// Reason says why a request was rejected or fell back (tests, logs).
	Reason string

	values []string
}

// HeadEnd returns the length of the head at the start of b (through the
// empty line ending it), or 0 when b does not yet hold a whole head. Empty
// lines before the request line belong to the head (Parse skips them).
func HeadEnd(b []byte) int {
	i := leadingEmptyLines(b)
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		line := b[i : i+j]
		i += j + 1
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return i
		}
	}
}

// LeadingEmptyLines is the length of the empty lines a head starts with,
// which Parse skips and a head passed on must not carry (net/http refuses
// them).
func LeadingEmptyLines[T string | []byte](b T) int { return leadingEmptyLines(b) }

// leadingEmptyLines is the length of the empty lines (CRLF or LF) at the
// start of b: RFC 9112 section 2.2 says a server should ignore at least one
// before the request line, as nginx does.
func leadingEmptyLines[T string | []byte](b T) int {
	i := 0
	for i < len(b) {
		switch {
		case b[i] == '\n':
			i++
		case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
			i += 2
		default:
			return i
		}
	}
	return i
}

// EarlyStatus looks at the start of a head that HeadEnd has not yet
// delimited, and returns the status to answer at once (0 when there is
// none yet): 400 for a request line without a version (HTTP/0.9, or
// garbage: it would otherwise hold the connection until the idle timeout
// waiting for an empty line that never comes), 414 for a request line over
// MaxRequestLine, 431 for a head over MaxHead.
func EarlyStatus(b []byte) int {
	start := leadingEmptyLines(b)
	line := b[start:]
	end := bytes.IndexByte(line, '\n')
	switch {
	case end < 0 && len(line) > MaxRequestLine:
		return http.StatusRequestURITooLong
	case end >= 0 && bytes.Count(line[:end], []byte{' '}) < 2:
		return http.StatusBadRequest
	case len(b) >= MaxHead:
		return http.StatusRequestHeaderFieldsTooLarge
	}
	return 0
}

func (r *Request) reject(status int, reason string) Outcome {
	r.Status, r.Reason = status, reason
	return Reject
}

func (r *Request) fallback(reason string) Outcome {
	r.Reason = reason
	return Fallback
}

// Parse parses head, which must be exactly one request head as HeadEnd
// delimits it, into r.
func (r *Request) Parse(head string) Outcome {
	if r.Header == nil {
		r.Header = make(http.Header, 16)
	} else if len(r.Header) > 0 {
		clear(r.Header)
	}
	r.values = r.values[:0]
	r.Method, r.Target, r.Proto, r.Host, r.Minor = "", "", "", "", 0
	r.ContentLength, r.Close, r.Status, r.Reason = 0, false, 0, ""
	r.Chunked, r.Upgrade, r.NoHost = false, false, false

	head = head[leadingEmptyLines(head):]
	line, rest, ok := nextLine(head)
	if !ok {
		return r.reject(http.StatusBadRequest, "bare CR in request line")
	}
	if len(line) > MaxRequestLine {
		return r.reject(http.StatusRequestURITooLong, "request line too long")
	}
	// A request that falls back is still checked to its end: what net/http
	// serves must pass the same rules as what the loop serves.
	fallback := ""
	switch o := r.parseRequestLine(line); o {
	case Reject:
		return o
	case Fallback:
		fallback = r.Reason
	}
	var (
		hostSeen, clSeen, expect, upgrade bool
		keepAlive                         bool
		cl                                string
		teFields                          int
		te                                string
	)
	for {
		line, rest, ok = nextLine(rest)
		if !ok {
			return r.reject(http.StatusBadRequest, "bare CR in header")
		}
		if line == "" {
			break
		}
		if len(line) > MaxField {
			return r.reject(http.StatusRequestHeaderFieldsTooLarge, "header field too long")
		}
		if line[0] == ' ' || line[0] == '\t' {
			return r.reject(http.StatusBadRequest, "obs-fold") // RFC 9112 section 5.2
		}
		colon := 0
		for colon < len(line) && httpbytes.IsTokenChar(line[colon]) {
			colon++
		}
		if colon == 0 || colon == len(line) || line[colon] != ':' {
			// An empty name, a character outside token, or whitespace
			// before the colon (RFC 9112 section 5.1: must be a 400).
			return r.reject(http.StatusBadRequest, "invalid header name")
		}
		name := line[:colon]
		value := httpbytes.TrimOWS(line[colon+1:])
		if !httpbytes.ValidValue(value) {
			return r.reject(http.StatusBadRequest, "invalid header value")
		}
		key := canonical(name)
		switch key {
		case "Host":
			if hostSeen {
				return r.reject(http.StatusBadRequest, "more than one Host")
			}
			if !validHost(value) {
				return r.reject(http.StatusBadRequest, "invalid Host")
			}
			hostSeen, r.Host = true, value
			continue
		case "Content-Length":
			if clSeen && value != cl {
				return r.reject(http.StatusBadRequest, "differing Content-Length")
			}
			if clSeen {
				continue // an identical repeat: keep one
			}
			n, ok := parseLength(value)
			if !ok {
				return r.reject(http.StatusBadRequest, "invalid Content-Length")
			}
			clSeen, cl, r.ContentLength = true, value, n
		case "Transfer-Encoding":
			teFields++
			te = value
		case "Expect":
			expect = true
		case "Upgrade":
			upgrade = true
		case "Connection":
			for tok := range httpbytes.Tokens(value) {
				switch {
				case httpbytes.EqualFold(tok, "close"):
					r.Close = true
				case httpbytes.EqualFold(tok, "keep-alive"):
					keepAlive = true
				case httpbytes.EqualFold(tok, "upgrade"):
					upgrade = true
				}
			}
		}
		r.add(key, value)
	}
	r.Upgrade = upgrade
	if teFields > 0 && r.Minor >= 1 {
		// Framed as net/http frames it (net/http/transfer.go): chunked
		// only when the one Transfer-Encoding field is "chunked" (and then
		// any Content-Length is dropped); any other value net/http answers
		// 501. HTTP/1.0 ignores Transfer-Encoding. Whether such a request
		// may pass at all is the desync classification's decision.
		r.Chunked = teFields == 1 && httpbytes.EqualFold(te, "chunked")
		r.ContentLength = 0
	}
	switch {
	case r.Minor >= 1 && !hostSeen:
		return r.reject(http.StatusBadRequest, "no Host")
	case r.Minor == 0 && !hostSeen:
		r.NoHost = true
	}
	switch {
	case fallback != "":
		return r.fallback(fallback)
	case teFields > 0 && r.Minor >= 1:
		return r.fallback("Transfer-Encoding")
	case expect:
		return r.fallback("Expect")
	case upgrade:
		return r.fallback("Upgrade")
	case r.Minor == 0 && keepAlive:
		return r.fallback("HTTP/1.0 keep-alive")
	}
	if r.Minor == 0 {
		r.Close = true
	}
	return OK
}

func (r *Request) parseRequestLine(line string) Outcome {
	sp1 := httpbytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return r.reject(http.StatusBadRequest, "malformed request line")
	}
	sp2 := sp1 + 1 + httpbytes.IndexByte(line[sp1+1:], ' ')
	if sp2 <= sp1 {
		return r.reject(http.StatusBadRequest, "malformed request line")
	}
	method, target, proto := line[:sp1], line[sp1+1:sp2], line[sp2+1:]
	for i := 0; i < len(method); i++ {
		if !httpbytes.IsTokenChar(method[i]) {
			return r.reject(http.StatusBadRequest, "invalid method")
		}
	}
	fallback := ""
	switch {
	case proto == "HTTP/1.1":
		r.Minor = 1
	case proto == "HTTP/1.0":
		r.Minor = 0
	case len(proto) == 8 && proto[:7] == "HTTP/1." && '2' <= proto[7] && proto[7] <= '9':
		// net/http serves HTTP/1.2-1.9 as HTTP/1.x (net/http's
		// ParseHTTPVersion); the desync classification decides.
		r.Minor = int(proto[7] - '0')
		fallback = "protocol " + proto
	case proto == "HTTP/2.0" && method == "PRI" && target == "*":
		// HTTP/2 prior knowledge: net/http answers it.
		r.Method, r.Target, r.Proto = method, target, proto
		return r.fallback("HTTP/2 preface")
	default:
		return r.reject(http.StatusHTTPVersionNotSupported, "protocol "+proto)
	}
	if target == "" {
		return r.reject(http.StatusBadRequest, "empty target")
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c == 0x7f {
			return r.reject(http.StatusBadRequest, "invalid target")
		}
	}
	r.Method, r.Target, r.Proto = method, target, proto
	switch {
	case target[0] != '/':
		// absolute-form, authority-form (CONNECT), asterisk-form.
		return r.fallback("target form")
	case !validEscapes(target):
		return r.reject(http.StatusBadRequest, "invalid escape in the path")
	case method == http.MethodConnect:
		return r.fallback("CONNECT")
	case fallback != "":
		return r.fallback(fallback)
	}
	return OK
}

// validEscapes reports whether every % in the path (before any ?) starts
// a two-digit hex escape, as url.ParseRequestURI requires.
func validEscapes(target string) bool {
	for i := 0; i < len(target) && target[i] != '?'; i++ {
		if target[i] == '%' {
			if i+2 >= len(target) || !isHex(target[i+1]) || !isHex(target[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (r *Request) add(key, value string) {
	if prior := r.Header[key]; prior != nil {
		r.Header[key] = append(prior, value)
		return
	}
	r.values = append(r.values, value)
	n := len(r.values)
	r.Header[key] = r.values[n-1 : n : n]
}

// nextLine splits off the first line of s, without its CRLF or LF; ok is
// false when the line holds a CR not followed by LF.
func nextLine(s string) (line, rest string, ok bool) {
	i := httpbytes.IndexByte(s, '\n')
	if i < 0 {
		line, rest = s, ""
	} else {
		line, rest = s[:i], s[i+1:]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest, httpbytes.IndexByte(line, '\r') < 0
}

// validHost accepts the characters of a uri-host and port (RFC 3986),
// as net/http's own check does.
func validHost(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case httpbytes.IndexByte("-._~!$&'()*+,;=:[]%", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// parseLength accepts 1*DIGIT only: no sign, no space, no list.
func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// canonical is http.CanonicalHeaderKey without an allocation when the name
// is already canonical (the common case).
func canonical(name string) string {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return http.CanonicalHeaderKey(name)
		}
		upper = c == '-'
	}
	return name
}
