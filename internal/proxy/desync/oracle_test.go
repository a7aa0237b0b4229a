package desync

import "strings"

// classifySlow is the oracle FuzzFastMatchesSlow checks ClassifyHead
// against: the classifier as it was before the fast path (commit c1bd465,
// files classify.go, parse.go and tokens.go of this package), frozen here
// with its identifiers prefixed "slow" and its comments dropped (they are
// in that commit) so that later edits to the package's own helpers cannot
// change the oracle with them. The rules, classes and Verdict are shared.
//
// Regenerate it only to change a verdict on purpose.
func classifySlow(head string) Verdict {
	var st slowState
	buf := slowBuffer{s: head, end: len(head)}
	method, version, uri := slowParseRequestLine(&buf, &st)

	fields := slowFieldScanner{buf: buf}
	for {
		_, _, ev, ok := fields.next()
		st.parseEvents(ev)
		if !ok {
			break
		}
	}

	if slowTrimWS(version) == "" {
		version = "HTTP/0.9"
	}

	nTE, nCL := 0, 0
	fields = slowFieldScanner{buf: buf}
	for {
		name, value, _, ok := fields.next()
		if !ok {
			break
		}
		te, cl, tier := slowFraming(name, value)
		st.headerTier(tier)
		if slowEmptyName(name) {
			st.upgrade(Ambiguous, ruleEmptyHeader)
			continue
		}
		essential := te == slowIdentical || cl == slowIdentical
		if !essential && tier != slowHeaderBad && (te == slowSameLetters || cl == slowSameLetters) {
			st.upgrade(Ambiguous, ruleSuspiciousHeader)
		}
		if slowIsFramingTE(te, tier) {
			nTE++
		} else if slowIsFramingCL(te, cl, tier) {
			nCL++
		}
	}

	if nTE > 0 || nCL > 0 {
		st.slowFraming(buf, method, version, nTE > 0, nCL > 0)
	}
	st.method(method)
	st.version(version)
	st.uri(uri)

	names := &ruleNames[st.rule]
	return Verdict{Class: st.class, Reason: names[0], GuardianReason: names[1]}
}

type slowState struct {
	class Class
	rule  rule
}

func (st *slowState) upgrade(c Class, r rule) {
	if st.class < c {
		st.class, st.rule = c, r
	}
}

type slowHeaderClass uint8

const (
	slowHeaderCompliant slowHeaderClass = iota
	slowHeaderNonCompliant
	slowHeaderBad
)

func (st *slowState) headerTier(t slowHeaderClass) {
	switch t {
	case slowHeaderBad:
		st.upgrade(Severe, ruleBadHeader)
	case slowHeaderNonCompliant:
		st.upgrade(Acceptable, ruleNonCompliantHeader)
	}
}

func slowFraming(name, value string) (te, cl slowSimilarity, tier slowHeaderClass) {
	te, cl = slowSimilar(slowNameTE, name), slowDistant
	if te == slowDistant {
		cl = slowSimilar(slowNameCL, name)
	}
	tier = slowCharClass(name, slowIsTchar)
	if tier != slowHeaderBad {
		tier = max(tier, slowCharClass(value, slowIsValueChar))
	}
	return te, cl, tier
}

func slowCharClass(s string, ok func(byte) bool) slowHeaderClass {
	c := slowHeaderCompliant
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			if slowIsBad(s[i]) {
				return slowHeaderBad
			}
			c = slowHeaderNonCompliant
		}
	}
	return c
}

func slowEmptyName(name string) bool {
	n := slowTrimWS(name)
	return n == "" || n[0] == ':'
}

func slowIsFramingTE(te slowSimilarity, tier slowHeaderClass) bool {
	return te == slowIdentical || (te == slowSameLetters && tier != slowHeaderBad)
}

func slowIsFramingCL(te, cl slowSimilarity, tier slowHeaderClass) bool {
	return te == slowDistant && (cl == slowIdentical || (cl == slowSameLetters && tier != slowHeaderBad))
}

func (st *slowState) slowFraming(buf slowBuffer, method, version string, hasTE, hasCL bool) {

	if version <= "HTTP/1.0" && hasTE {
		st.upgrade(Ambiguous, ruleUndefinedTransferEncodingSemantics)
		return
	}
	if version < "HTTP/1.0" && hasCL {
		st.upgrade(Ambiguous, ruleUndefinedContentLengthSemantics)
		return
	}

	if hasTE {
		chunked := false
		fields := slowFieldScanner{buf: buf}
		for {
			name, value, _, ok := fields.next()
			if !ok {
				break
			}
			te, _, tier := slowFraming(name, value)
			if slowEmptyName(name) || !slowIsFramingTE(te, tier) {
				continue
			}
			for rest, more := value, true; more; {
				var item string
				item, rest, more = strings.Cut(rest, ",")
				switch c := slowTransferCoding(item); {
				case c == "":
					st.upgrade(Severe, ruleBadTransferEncoding)
				case c == "chunked" && chunked:
					st.upgrade(Severe, ruleMultipleTransferEncodingChunked)
				default:
					chunked = c == "chunked"
				}
			}
		}
	}

	var length uint64
	haveLength := false
	fields := slowFieldScanner{buf: buf}
	for {
		name, value, _, ok := fields.next()
		if !ok {
			break
		}
		te, cl, tier := slowFraming(name, value)
		if slowEmptyName(name) || !slowIsFramingCL(te, cl, tier) {
			continue
		}
		n, ok := slowParseContentLength(value)
		switch {
		case !ok:
			st.upgrade(Severe, ruleBadContentLength)
		case !haveLength:
			length, haveLength = n, true
		case n != length:
			st.upgrade(Severe, ruleMultipleContentLength)
		default:
			st.upgrade(Ambiguous, ruleDuplicateContentLength)
		}
	}

	if method == "GET" || method == "HEAD" {
		if hasTE {
			st.upgrade(Ambiguous, ruleUndefinedTransferEncodingSemantics)
		}
		if haveLength {
			if length == 0 {
				st.upgrade(Acceptable, ruleGetHeadZeroContentLength)
			} else {
				st.upgrade(Ambiguous, ruleUndefinedContentLengthSemantics)
			}
		}
	}

	if haveLength && hasTE {
		st.upgrade(Ambiguous, ruleBothTeClPresent)
	}
}

func (st *slowState) method(m string) {
	for i := 0; i < len(m); i++ {
		if !slowIsTchar(m[i]) {
			st.upgrade(Severe, ruleBadMethod)
			return
		}
	}
}

func (st *slowState) version(v string) {
	t := slowTrimWS(v)
	if t == "HTTP/0.9" {
		st.upgrade(Acceptable, ruleNonCompliantVersion)
		return
	}
	if len(t) != len("HTTP/1.1") || !strings.HasPrefix(t, "HTTP/1.") || t[7] < '0' || t[7] > '9' {
		st.upgrade(Severe, ruleBadVersion)
		return
	}

	if len(t) != len(v) || t[7] > '1' {
		st.upgrade(Acceptable, ruleNonCompliantVersion)
	}
}

func (st *slowState) uri(u string) {
	for i := 0; i < len(u); i++ {
		switch c := u[i]; {
		case slowIsURIChar(c):
		case slowIsBad(c):
			st.upgrade(Severe, ruleBadURI)
			return
		case c == ' ':
			st.upgrade(Acceptable, ruleSpaceInURI)
		default:
			st.upgrade(Ambiguous, ruleAmbiguousURI)
		}
	}
}

type slowBuffer struct {
	s        string
	pos, end int
}

func (b slowBuffer) done() bool { return b.pos >= b.end }

func (b slowBuffer) partial() bool { return b.pos > b.end }

func (b slowBuffer) token() string {
	if b.pos < b.end {
		return b.s[b.pos:b.end]
	}
	return ""
}

func (b *slowBuffer) trimLastCR() bool {
	if b.end > b.pos && b.s[b.end-1] == '\r' {
		b.end--
		return true
	}
	return false
}

func (b *slowBuffer) next(delim byte) slowBuffer {
	cur := b.pos
	if cur < b.end {
		if k := strings.IndexByte(b.s[cur:b.end], delim); k >= 0 {
			cur += k
		} else {
			cur = b.end
		}
	}
	tok := slowBuffer{s: b.s, pos: b.pos, end: cur}
	b.pos = cur + 1
	return tok
}

func (b *slowBuffer) last(delim byte) slowBuffer {
	cur := b.pos
	if b.end > b.pos {
		cur = b.end - 1
	}
	skip := true
	for b.pos < cur && (b.s[cur] != delim || skip) {
		skip = skip && !slowIsTchar(b.s[cur])
		cur--
	}
	if cur >= b.pos && cur < b.end {
		begin := cur
		if b.s[cur] == delim {
			begin = cur + 1
		}
		tok := slowBuffer{s: b.s, pos: begin, end: b.end}
		b.end = begin - 1
		return tok
	}
	return slowBuffer{s: b.s, pos: 1, end: 0}
}

func slowParseRequestLine(b *slowBuffer, st *slowState) (method, version, uri string) {
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

		u, v = v, slowBuffer{}
	}
	return m.token(), v.token(), u.token()
}

type slowLineEvents uint8

const (
	slowEvBareLF slowLineEvents = 1 << iota
	slowEvNoColon
	slowEvFolded
	slowEvUnterminated
	slowEvNoEmptyLine
)

func (st *slowState) parseEvents(ev slowLineEvents) {
	if ev&slowEvBareLF != 0 {
		st.upgrade(Acceptable, ruleNonCrLfHeaderLine)
	}
	if ev&slowEvNoColon != 0 {
		st.upgrade(Ambiguous, ruleMissingHeaderColon)
	}
	if ev&slowEvFolded != 0 {
		st.upgrade(Ambiguous, ruleMultilineHeader)
	}
	if ev&slowEvUnterminated != 0 {
		st.upgrade(Ambiguous, rulePartialHeaderLine)
	}
	if ev&slowEvNoEmptyLine != 0 {
		st.upgrade(Ambiguous, ruleMissingLastEmptyLine)
	}
}

type slowFieldScanner struct {
	buf slowBuffer

	foldName  string
	haveFold  bool
	mediaType bool
	finished  bool
}

func (f *slowFieldScanner) next() (name, value string, ev slowLineEvents, ok bool) {
	if f.finished {
		return "", "", 0, false
	}
	line := f.buf.next('\n')
	if !line.trimLastCR() {
		ev |= slowEvBareLF
	}
	if line.done() {
		f.finished = true
		return "", "", ev, false
	}
	folded := slowIsWS(line.s[line.pos])
	first := line.next(':').token()
	if !folded && !line.partial() {
		f.mediaType = slowEqualFold(first, "content-type")
		f.foldName, f.haveFold = first, true
	}

	mimic := folded && f.mediaType &&
		(slowSimilar(slowNameTE, first) != slowDistant || slowSimilar(slowNameCL, first) != slowDistant)

	if folded && f.haveFold && ((f.mediaType && !mimic) || line.partial()) {
		name, value = f.foldName, first
	} else {
		name, value = first, line.token()
	}
	if !folded && line.partial() {
		ev |= slowEvNoColon
	}
	if folded && (!f.mediaType || mimic) {
		ev |= slowEvFolded
	}
	switch {
	case f.buf.partial():
		ev |= slowEvUnterminated
		f.finished = true
	case f.buf.done():
		ev |= slowEvNoEmptyLine
		f.finished = true
	}
	return name, value, ev, true
}

func slowIsTchar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case '-', '_', '.', '!', '#', '$', '%', '&', '\'', '*', '+', '^', '`', '|', '~':
		return true
	}
	return false
}

func slowIsBad(b byte) bool { return b == '\r' || b == '\n' || b == 0 }

func slowIsWS(b byte) bool { return b == ' ' || b == '\t' }

func slowIsValueChar(b byte) bool { return (b >= ' ' && b < 0x7f) || b >= 0x80 || b == '\t' }

func slowIsURIChar(b byte) bool { return b > ' ' && b != 0x7f }

func slowIsAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

func slowLower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func slowTrimWS(s string) string {
	i, j := 0, len(s)
	for i < j && slowIsWS(s[i]) {
		i++
	}
	for i < j && slowIsWS(s[j-1]) {
		j--
	}
	return s[i:j]
}

func slowEqualFold(s, lowerASCII string) bool {
	if len(s) != len(lowerASCII) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if slowLower(s[i]) != lowerASCII[i] {
			return false
		}
	}
	return true
}

func slowParseContentLength(v string) (uint64, bool) {
	var n uint64
	v = slowTrimWS(v)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (^uint64(0)-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

func slowTransferCoding(item string) string {
	t := slowTrimWS(item)
	for i := 0; i < len(t); i++ {
		if t[i] == ';' {
			t = t[:i]
			break
		}
	}
	t = slowTrimWS(t)
	for _, c := range [...]string{"chunked", "compress", "deflate", "gzip", "identity"} {
		if slowEqualFold(t, c) {
			return c
		}
	}
	return ""
}

type slowSimilarity uint8

const (
	slowIdentical slowSimilarity = iota
	slowSameLetters
	slowDistant
)

const (
	slowNameTE = "transfer-encoding"
	slowNameCL = "content-length"
)

func slowSimilar(want, name string) slowSimilarity {
	if len(name) < len(want) {
		return slowDistant
	}
	i := slowNextAlnum(name, 0)
	ident := i == 0 && len(want) == len(name)
	for k := 0; k < len(want); k++ {
		c := want[k]
		if i == len(name) {
			return slowDistant
		}
		delim := c == '-'
		same, next := slowSameChar(c, name, i)
		if !same {
			if !delim {
				break
			}
			ident = false
		}
		if delim {
			i = slowNextAlnum(name, next)
		} else {
			i = slowNextSymbol(name, next)
		}
	}
	exhausted := i == len(name)
	switch {
	case exhausted && ident:
		return slowIdentical
	case exhausted || slowNextAlnum(name, i) == len(name):
		return slowSameLetters
	}
	return slowDistant
}

func slowSameChar(c byte, name string, i int) (bool, int) {
	h := name[i]
	if c == slowLower(h) {
		return true, i + 1
	}
	if len(name) > i+1 {
		if (c == 's' && h == 0xc5 && name[i+1] == 0xbf) || (c == 'i' && h == 0xc4 && name[i+1] == 0xb1) {
			return true, i + 2
		}
	}
	return false, i + 1
}

func slowNextSymbol(s string, i int) int {
	for i < len(s) && s[i] <= ' ' {
		i++
	}
	return i
}

func slowNextAlnum(s string, i int) int {
	for i < len(s) && !slowIsAlnum(s[i]) {
		i++
	}
	return i
}
