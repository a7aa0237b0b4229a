package desync

// The fast path: ClassifyHead runs on every request, and nearly every request
// is plainly compliant. plainlyCompliant reads such a head once, front to
// back, with one table lookup a byte, and answers true only for heads the
// full analysis (classifyFull) is sure to find Compliant; on anything else
// (a byte outside the plain classes, a bare LF, a folded line, a name the
// suspicious-name check could flag, a Transfer-Encoding, more than one
// Content-Length, a body on GET or HEAD, ...) it answers false and the full
// analysis decides. FuzzFastMatchesSlow checks that the two agree on every
// input against a frozen copy of the full analysis.

// plainlyCompliant reports whether head is, as the full analysis parses it,
//
//	method SP request-target SP "HTTP/1." ("0" | "1") CRLF
//	*( field-name ":" field-value CRLF )
//	CRLF
//
// with a method and names of tchar only (the method and names of
// RFC 7230 section 3.2.6), a target of URI characters, values of
// field-value characters, no name that looks like Transfer-Encoding or
// Content-Length (determine_similarity in http_desync_guardian's
// src/http_token_utils.rs) except at most one Content-Length with a valid
// length, and that one not on a GET or HEAD.
func plainlyCompliant(head string) bool {
	n := len(head)
	i := 0
	for i < n && charFlags[head[i]]&fTchar != 0 {
		i++
	}
	if i == 0 || i >= n || head[i] != ' ' {
		return false
	}
	method := head[:i]
	i++
	start := i
	for i < n && charFlags[head[i]]&fURI != 0 {
		i++
	}
	// The version, checked whole: a second space, or anything but
	// HTTP/1.0 or HTTP/1.1, is for the full analysis.
	if i == start || n-i < len(" HTTP/1.1\r\n") || head[i:i+8] != " HTTP/1." ||
		(head[i+8] != '0' && head[i+8] != '1') || head[i+9] != '\r' || head[i+10] != '\n' {
		return false
	}
	i += len(" HTTP/1.1\r\n")

	haveLength := false
	for {
		if i >= n {
			return false // no empty line
		}
		if head[i] == '\r' {
			// The empty line ends the head; what follows is not read.
			if i+1 < n && head[i+1] == '\n' {
				break
			}
			return false
		}
		start := i
		for i < n && charFlags[head[i]]&fTchar != 0 {
			i++
		}
		// An empty name, a folded line (it starts with a blank) or a
		// name with a byte that is not tchar all fail here.
		if i == start || i >= n || head[i] != ':' {
			return false
		}
		name := head[start:i]
		i++
		vstart := i
		i = valueEnd(head, i)
		if i+1 >= n || head[i] != '\r' || head[i+1] != '\n' {
			return false
		}
		value := head[vstart:i]
		i += 2

		// determine_similarity compares names to the two framing
		// names only from their length up, and a name of tchar whose
		// first byte is another letter or a digit is distant from
		// both. The rest go to the same similar as the full analysis.
		if len(name) < len(nameCL) {
			continue
		}
		if c := lower(name[0]); c != 'c' && c != 't' && isAlnum(c) {
			continue
		}
		// Content-Length itself, spelt in any case, is identical to it
		// (and distant from Transfer-Encoding, which is longer).
		exact := equalFold(name, nameCL)
		if !exact && (similar(nameTE, name) != distant || similar(nameCL, name) != distant) {
			return false
		}
		if exact {
			if haveLength {
				return false
			}
			if _, ok := parseContentLength(value); !ok {
				return false
			}
			haveLength = true
		}
	}
	// A body on GET or HEAD is GetHeadZeroContentLength or
	// UndefinedContentLengthSemantics.
	return !haveLength || (method != "GET" && method != "HEAD")
}

// valueEnd returns the index of the first byte from i on that is not a
// field-value character. Most of a head is values, so it tests eight bytes
// at a time for a control byte or DEL, and only a word that has one goes
// byte by byte.
func valueEnd(s string, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; i+8 <= len(s); i += 8 {
		b := s[i : i+8] // one bounds check, and one load below
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		// A byte below 0x20 ("hasless" of the Stanford bit hacks: exact
		// for whether there is one, which is all that is used) or equal
		// to 0x7f (its "haszero" of w ^ 0x7f...).
		d := w ^ (0x7f * ones)
		if ((w-0x20*ones)&^w|(d-ones)&^d)&highs != 0 {
			break
		}
	}
	for i < len(s) && charFlags[s[i]]&fValue != 0 {
		i++
	}
	return i
}
