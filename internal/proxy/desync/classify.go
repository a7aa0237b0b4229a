package desync

import "strings"

// ClassifyHead classifies one raw request head exactly as received from the
// client: the request line and the header fields, through the empty line that
// ends the head. Lines may end in CRLF or a bare LF; anything after the empty
// line is ignored. It accepts any bytes, never panics, and allocates nothing.
//
// It is http_desync_guardian's analyze_raw_request (src/request_analyzer.rs):
// the head is parsed as the library parses it, then the library's checks run
// in the library's order (each header's characters, empty and suspicious
// names; Transfer-Encoding and Content-Length; method; version; URI), and a
// check raises the verdict only to a strictly higher class, so the first
// reason found at the final class is the one reported.
//
// Two departures, each making a verdict stricter, never laxer:
//   - The library answers Compliant, without looking, for a version at or
//     above "HTTP/2" (a bytewise comparison, which "http/1.1" or "Z" also
//     pass): HTTP/2 is out of its scope. A head on an HTTP/1 connection is
//     always in scope, so such a version is checked like any other and is
//     a BadVersion.
//   - The library reads a folded line under Content-Type (the one header
//     whose obs-fold it allows) as part of the value even when the line
//     looks like a Transfer-Encoding or Content-Length field, which a
//     parser that ignores obs-fold would take as one. Such a line is a
//     MultilineHeader here, as a folded line under any other header is.
func ClassifyHead(head string) Verdict {
	if plainlyCompliant(head) {
		return Verdict{Class: Compliant}
	}
	return classifyFull(head)
}

// classifyFull is the whole analysis, for the heads the fast path
// (plainlyCompliant, fast.go) does not pass.
func classifyFull(head string) Verdict {
	var st state
	buf := buffer{s: head, end: len(head)}
	method, version, uri := parseRequestLine(&buf, &st)

	// Pass 1, the library's parse_headers: the parse reasons come first.
	fields := fieldScanner{buf: buf}
	for {
		_, _, ev, ok := fields.next()
		st.parseEvents(ev)
		if !ok {
			break
		}
	}

	// HTTP/0.9 has no version.
	if trimWS(version) == "" {
		version = "HTTP/0.9"
	}

	// Pass 2, the per-header checks of analyze_request_internal.
	nTE, nCL := 0, 0
	fields = fieldScanner{buf: buf}
	for {
		name, value, _, ok := fields.next()
		if !ok {
			break
		}
		te, cl, tier := framing(name, value)
		st.headerTier(tier)
		if emptyName(name) {
			st.upgrade(Ambiguous, ruleEmptyHeader)
			continue
		}
		essential := te == identical || cl == identical
		if !essential && tier != headerBad && (te == sameLetters || cl == sameLetters) {
			st.upgrade(Ambiguous, ruleSuspiciousHeader)
		}
		if isFramingTE(te, tier) {
			nTE++
		} else if isFramingCL(te, cl, tier) {
			nCL++
		}
	}

	if nTE > 0 || nCL > 0 {
		st.framing(buf, method, version, nTE > 0, nCL > 0)
	}
	st.method(method)
	st.version(version)
	st.uri(uri)

	names := &ruleNames[st.rule]
	return Verdict{Class: st.class, Reason: names[0], GuardianReason: names[1]}
}

type state struct {
	class Class
	rule  rule
}

// upgrade is the library's upgrade_verdict: only a strictly higher class
// replaces the reason.
func (st *state) upgrade(c Class, r rule) {
	if st.class < c {
		st.class, st.rule = c, r
	}
}

type headerClass uint8

const (
	headerCompliant headerClass = iota
	headerNonCompliant
	headerBad
)

func (st *state) headerTier(t headerClass) {
	switch t {
	case headerBad:
		st.upgrade(Severe, ruleBadHeader)
	case headerNonCompliant:
		st.upgrade(Acceptable, ruleNonCompliantHeader)
	}
}

// framing returns how close a field's name is to Transfer-Encoding and to
// Content-Length (the second only when the first is distant, as in the
// library), and the field's class from its characters (header_tier).
func framing(name, value string) (te, cl similarity, tier headerClass) {
	te, cl = similar(nameTE, name), distant
	if te == distant {
		cl = similar(nameCL, name)
	}
	tier = charClass(name, isTchar)
	if tier != headerBad {
		tier = max(tier, charClass(value, isValueChar))
	}
	return te, cl, tier
}

func charClass(s string, ok func(byte) bool) headerClass {
	c := headerCompliant
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			if isBad(s[i]) {
				return headerBad
			}
			c = headerNonCompliant
		}
	}
	return c
}

// emptyName: a field with no name, or (as the library also checks) one that
// is all blanks.
func emptyName(name string) bool {
	n := trimWS(name)
	return n == "" || n[0] == ':'
}

// isFramingTE: whether the library counts the field as a Transfer-Encoding
// (its te_indexes): the name itself, or a suspicious look-alike whose
// characters are not bad.
func isFramingTE(te similarity, tier headerClass) bool {
	return te == identical || (te == sameLetters && tier != headerBad)
}

func isFramingCL(te, cl similarity, tier headerClass) bool {
	return te == distant && (cl == identical || (cl == sameLetters && tier != headerBad))
}

// framing is the library's verify_te_cl_headers.
func (st *state) framing(buf buffer, method, version string, hasTE, hasCL bool) {
	// Bytewise comparisons, as the library's: before HTTP/1.1 there is no
	// Transfer-Encoding, before HTTP/1.0 no Content-Length either.
	if version <= "HTTP/1.0" && hasTE {
		st.upgrade(Ambiguous, ruleUndefinedTransferEncodingSemantics)
		return
	}
	if version < "HTTP/1.0" && hasCL {
		st.upgrade(Ambiguous, ruleUndefinedContentLengthSemantics)
		return
	}

	// has_transfer_encoding: every list member must be a known coding, and
	// chunked must not follow chunked.
	if hasTE {
		chunked := false
		fields := fieldScanner{buf: buf}
		for {
			name, value, _, ok := fields.next()
			if !ok {
				break
			}
			te, _, tier := framing(name, value)
			if emptyName(name) || !isFramingTE(te, tier) {
				continue
			}
			for rest, more := value, true; more; {
				var item string
				item, rest, more = strings.Cut(rest, ",")
				switch c := transferCoding(item); {
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

	// extract_content_length: the first value that parses is the length;
	// a later equal one is a duplicate, a later different one a conflict.
	var length uint64
	haveLength := false
	fields := fieldScanner{buf: buf}
	for {
		name, value, _, ok := fields.next()
		if !ok {
			break
		}
		te, cl, tier := framing(name, value)
		if emptyName(name) || !isFramingCL(te, cl, tier) {
			continue
		}
		n, ok := parseContentLength(value)
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
	// A payload in a GET or HEAD request has no defined semantics (RFC 7231
	// section 4.3.1).
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
	// RFC 7230 section 3.3.3: a message with both "might indicate an attempt
	// to perform request smuggling".
	if haveLength && hasTE {
		st.upgrade(Ambiguous, ruleBothTeClPresent)
	}
}

func (st *state) method(m string) {
	for i := 0; i < len(m); i++ {
		if !isTchar(m[i]) {
			st.upgrade(Severe, ruleBadMethod)
			return
		}
	}
}

func (st *state) version(v string) {
	t := trimWS(v)
	if t == "HTTP/0.9" {
		st.upgrade(Acceptable, ruleNonCompliantVersion)
		return
	}
	if len(t) != len("HTTP/1.1") || !strings.HasPrefix(t, "HTTP/1.") || t[7] < '0' || t[7] > '9' {
		st.upgrade(Severe, ruleBadVersion)
		return
	}
	// HTTP/1.2 and up harm no one but are no version there is; nor is a
	// version padded with blanks.
	if len(t) != len(v) || t[7] > '1' {
		st.upgrade(Acceptable, ruleNonCompliantVersion)
	}
}

func (st *state) uri(u string) {
	for i := 0; i < len(u); i++ {
		switch c := u[i]; {
		case isURIChar(c):
		case isBad(c):
			st.upgrade(Severe, ruleBadURI)
			return
		case c == ' ':
			st.upgrade(Acceptable, ruleSpaceInURI)
		default:
			st.upgrade(Ambiguous, ruleAmbiguousURI)
		}
	}
}
