package desync

import "strings"

// The head parser: http_desync_guardian's src/raw_request_parser.rs and the
// parse step of src/request_analyzer.rs. It is deliberately the library's
// loose parser, not a correct one: the verdicts depend on how it splits odd
// input (a missing URI, a folded line, a line with no colon), so it is
// ported as written, including where it reads a token past its end.

// buffer is the library's RequestBuffer: a window [pos, end) on the head. A
// token split off where its delimiter was missing ends with pos past end,
// which the parser reads as "partial".
type buffer struct {
	s        string
	pos, end int
}

func (b buffer) done() bool    { return b.pos >= b.end }
func (b buffer) partial() bool { return b.pos > b.end }

func (b buffer) token() string {
	if b.pos < b.end {
		return b.s[b.pos:b.end]
	}
	return ""
}

func (b *buffer) trimLastCR() bool {
	if b.end > b.pos && b.s[b.end-1] == '\r' {
		b.end--
		return true
	}
	return false
}

// next splits off the token before the first delim and moves past the
// delim, or past the end when there is none.
func (b *buffer) next(delim byte) buffer {
	cur := b.pos
	if cur < b.end {
		if k := strings.IndexByte(b.s[cur:b.end], delim); k >= 0 {
			cur += k
		} else {
			cur = b.end
		}
	}
	tok := buffer{s: b.s, pos: b.pos, end: cur}
	b.pos = cur + 1
	return tok
}

// last splits off the token after the last delim that precedes a token
// character: trailing bytes that are not token characters stay with the
// token, so "HTTP/1.1 \t" is one version.
func (b *buffer) last(delim byte) buffer {
	cur := b.pos
	if b.end > b.pos {
		cur = b.end - 1
	}
	skip := true
	for b.pos < cur && (b.s[cur] != delim || skip) {
		skip = skip && !isTchar(b.s[cur])
		cur--
	}
	if cur >= b.pos && cur < b.end {
		begin := cur
		if b.s[cur] == delim {
			begin = cur + 1
		}
		tok := buffer{s: b.s, pos: begin, end: b.end}
		b.end = begin - 1
		return tok
	}
	return buffer{s: b.s, pos: 1, end: 0}
}

// parseRequestLine: request-line = method SP request-target SP HTTP-version
// (RFC 7230 section 3.1.1), split at the first and at the last space.
func parseRequestLine(b *buffer, st *state) (method, version, uri string) {
	line := b.next('\n')
	if !line.trimLastCR() {
		st.upgrade(Acceptable, ruleNonCrLfRequestLine)
	}
	m := line.next(' ')
	v := line.last(' ')
	u := line
	switch {
	case (u.partial() && strings.HasPrefix(v.token(), "HTTP/1.")) || (v.done() && u.done()):
		st.upgrade(Ambiguous, ruleMissingURI)
	case u.partial():
		// One token after the method: an HTTP/0.9 request, with no version.
		u, v = v, buffer{}
	}
	return m.token(), v.token(), u.token()
}

// lineEvents are the parse reasons one header line raised.
type lineEvents uint8

const (
	evBareLF lineEvents = 1 << iota
	evNoColon
	evFolded
	evUnterminated
	evNoEmptyLine
)

func (st *state) parseEvents(ev lineEvents) {
	if ev&evBareLF != 0 {
		st.upgrade(Acceptable, ruleNonCrLfHeaderLine)
	}
	if ev&evNoColon != 0 {
		st.upgrade(Ambiguous, ruleMissingHeaderColon)
	}
	if ev&evFolded != 0 {
		st.upgrade(Ambiguous, ruleMultilineHeader)
	}
	if ev&evUnterminated != 0 {
		st.upgrade(Ambiguous, rulePartialHeaderLine)
	}
	if ev&evNoEmptyLine != 0 {
		st.upgrade(Ambiguous, ruleMissingLastEmptyLine)
	}
}

// fieldScanner yields the header fields as the library's parse_headers
// builds them. The classifier scans a head more than once rather than
// storing its fields, so that it allocates nothing however many there are.
type fieldScanner struct {
	buf buffer
	// foldName is the name of the last line that had a colon and did not
	// start with a blank; a folded line continues it.
	foldName  string
	haveFold  bool
	mediaType bool // foldName is Content-Type
	finished  bool
}

// next returns the next field, or ok false at the empty line or the end; ev
// holds the parse reasons of the line read, also when ok is false.
func (f *fieldScanner) next() (name, value string, ev lineEvents, ok bool) {
	if f.finished {
		return "", "", 0, false
	}
	line := f.buf.next('\n')
	if !line.trimLastCR() {
		ev |= evBareLF
	}
	if line.done() {
		f.finished = true
		return "", "", ev, false
	}
	folded := isWS(line.s[line.pos])
	first := line.next(':').token()
	if !folded && !line.partial() {
		f.mediaType = equalFold(first, "content-type")
		f.foldName, f.haveFold = first, true
	}
	// Departure from the library (see ClassifyHead): a folded line under
	// Content-Type that looks like a framing field is not taken as part of
	// the value.
	mimic := folded && f.mediaType &&
		(similar(nameTE, first) != distant || similar(nameCL, first) != distant)
	// Obs-fold (RFC 7230 section 3.2.4): a folded line without a colon, or
	// any folded line under Content-Type, is the value of the field it
	// continues; a folded line with a colon is read as a field of its own
	// whose name starts with a blank, which is how a parser that trims names
	// would see it.
	if folded && f.haveFold && ((f.mediaType && !mimic) || line.partial()) {
		name, value = f.foldName, first
	} else {
		name, value = first, line.token()
	}
	if !folded && line.partial() {
		ev |= evNoColon
	}
	if folded && (!f.mediaType || mimic) {
		ev |= evFolded
	}
	switch {
	case f.buf.partial():
		ev |= evUnterminated
		f.finished = true
	case f.buf.done():
		ev |= evNoEmptyLine
		f.finished = true
	}
	return name, value, ev, true
}
