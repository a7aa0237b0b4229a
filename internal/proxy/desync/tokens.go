package desync

// Character classes and token helpers, after http_desync_guardian's build.rs
// (the lookup tables) and src/http_token_utils.rs. Names and rules follow
// RFC 7230 section 3.2 (https://www.rfc-editor.org/rfc/rfc7230#section-3.2).

// charFlags classes every byte at once, one bit per class, so that a
// character test is one load and a mask (the library's build.rs generates
// lookup tables for the same reason).
var charFlags = func() (t [256]uint8) {
	for i := range t {
		b := byte(i)
		if isAlnum(b) {
			t[i] |= fTchar
		}
		// The controls, '\r', '\n' and NUL, that end a line for some
		// parser or a string for another: the library's BAD_CHARACTERS.
		if b == '\r' || b == '\n' || b == 0 {
			t[i] |= fBad
		}
		// field-vchar (VCHAR, obs-text) or OWS: the library's
		// HEADER_VALUE_CHARS, where VCHAR is taken as SP..'~'.
		if (b >= ' ' && b < 0x7f) || b >= 0x80 || b == '\t' {
			t[i] |= fValue
		}
		// No control characters, no space, no DEL (the library's
		// VALID_URI_CHARS); bytes from 0x80 pass, as the library lets them.
		if b > ' ' && b != 0x7f {
			t[i] |= fURI
		}
	}
	for _, b := range []byte("-_.!#$%&'*+^`|~") {
		t[b] |= fTchar
	}
	return t
}()

const (
	fTchar uint8 = 1 << iota
	fBad
	fValue
	fURI
)

// tchar: RFC 7230 section 3.2.6 token characters.
func isTchar(b byte) bool { return charFlags[b]&fTchar != 0 }

// isBad reports the bytes the library never accepts in a name, value or URI.
func isBad(b byte) bool { return charFlags[b]&fBad != 0 }

// isWS is RFC 7230 OWS: space or horizontal tab, nothing else.
func isWS(b byte) bool { return b == ' ' || b == '\t' }

func isValueChar(b byte) bool { return charFlags[b]&fValue != 0 }

func isURIChar(b byte) bool { return charFlags[b]&fURI != 0 }

func isAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func trimWS(s string) string {
	i, j := 0, len(s)
	for i < j && isWS(s[i]) {
		i++
	}
	for i < j && isWS(s[j-1]) {
		j--
	}
	return s[i:j]
}

func equalFold(s, lowerASCII string) bool {
	if len(s) != len(lowerASCII) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != lowerASCII[i] {
			return false
		}
	}
	return true
}

// parseContentLength is the library's parse_num: digits only between OWS, at
// most 2^64-1. An empty value parses as 0, as it does there.
func parseContentLength(v string) (uint64, bool) {
	var n uint64
	v = trimWS(v)
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

// transferCoding is the library's is_valid_te: one list member of a
// Transfer-Encoding value, its parameters after ';' ignored. It returns the
// coding in lower case, or "" when the coding is not one the library knows.
func transferCoding(item string) string {
	t := trimWS(item)
	for i := 0; i < len(t); i++ {
		if t[i] == ';' {
			t = t[:i]
			break
		}
	}
	t = trimWS(t)
	for _, c := range [...]string{"chunked", "compress", "deflate", "gzip", "identity"} {
		if equalFold(t, c) {
			return c
		}
	}
	return ""
}

type similarity uint8

const (
	identical similarity = iota
	sameLetters
	distant
)

const (
	nameTE = "transfer-encoding"
	nameCL = "content-length"
)

// similar is the library's determine_similarity: whether a header name is
// the framing header want (lower case) itself, or something common text
// normalisation (case folding, dropping delimiters, blanks and control
// bytes, or the Unicode letters whose upper case is an ASCII letter of the
// name) turns into it. The quirks are kept: a name is compared letter by
// letter and the comparison stops at the first letter that differs, after
// which a name with no letter or digit left is still sameLetters.
func similar(want, name string) similarity {
	if len(name) < len(want) {
		return distant
	}
	i := nextAlnum(name, 0)
	ident := i == 0 && len(want) == len(name)
	for k := 0; k < len(want); k++ {
		c := want[k]
		if i == len(name) {
			return distant
		}
		delim := c == '-'
		same, next := sameChar(c, name, i)
		if !same {
			if !delim {
				break
			}
			ident = false
		}
		if delim {
			i = nextAlnum(name, next)
		} else {
			i = nextSymbol(name, next)
		}
	}
	exhausted := i == len(name)
	switch {
	case exhausted && ident:
		return identical
	case exhausted || nextAlnum(name, i) == len(name):
		return sameLetters
	}
	return distant
}

// sameChar compares one letter of a lower-case name with the name at i,
// counting U+017F (long s, "\xc5\xbf") as 's' and U+0131 (dotless i,
// "\xc4\xb1") as 'i': their upper case is ASCII S and I.
func sameChar(c byte, name string, i int) (bool, int) {
	h := name[i]
	if c == lower(h) {
		return true, i + 1
	}
	if len(name) > i+1 {
		if (c == 's' && h == 0xc5 && name[i+1] == 0xbf) || (c == 'i' && h == 0xc4 && name[i+1] == 0xb1) {
			return true, i + 2
		}
	}
	return false, i + 1
}

// nextSymbol skips control bytes and spaces.
func nextSymbol(s string, i int) int {
	for i < len(s) && s[i] <= ' ' {
		i++
	}
	return i
}

func nextAlnum(s string, i int) int {
	for i < len(s) && !isAlnum(s[i]) {
		i++
	}
	return i
}
