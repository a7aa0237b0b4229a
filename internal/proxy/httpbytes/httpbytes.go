// Package httpbytes holds the data path's byte-level helpers for HTTP/1.x
// heads, in one place, as fasthttp keeps its own: character classes of RFC
// 9110 section 5.6, case-insensitive comparison, list values, whitespace.
// The request parser (h1), the target client (upstream) and the connection
// loop's response writer share them. Every helper works on strings in
// place and allocates nothing.
package httpbytes

// tokenChar: the characters of a token, such as a field name or a method
// (RFC 9110 section 5.6.2).
var tokenChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// IsTokenChar reports whether c may appear in a token.
func IsTokenChar(c byte) bool { return tokenChar[c] }

// TokenPrefix is the length of the token at the start of s.
func TokenPrefix(s string) int {
	i := 0
	for i < len(s) && tokenChar[s[i]] {
		i++
	}
	return i
}

// ValidToken reports whether s is a non-empty token (a valid field name).
func ValidToken(s string) bool { return s != "" && TokenPrefix(s) == len(s) }

// ValidValue reports whether s is field content: VCHAR, obs-text, SP and
// HTAB; no other control character (RFC 9110 section 5.5).
func ValidValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// IndexByte is strings.IndexByte for the short strings of a head, where
// the call into the assembly version costs more than the loop.
func IndexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// TrimOWS trims optional whitespace (SP and HTAB) from both ends.
func TrimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// Lower is c in lower case, for ASCII letters.
func Lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// EqualFold reports whether a and b are equal ignoring ASCII case.
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if Lower(a[i]) != Lower(b[i]) {
			return false
		}
	}
	return true
}

// Tokens yields the comma-separated elements of a list value (RFC 9110
// section 5.6.1), trimmed, skipping empty ones.
func Tokens(v string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for len(v) > 0 {
			tok := v
			if i := IndexByte(v, ','); i >= 0 {
				tok, v = v[:i], v[i+1:]
			} else {
				v = ""
			}
			if tok = TrimOWS(tok); tok != "" && !yield(tok) {
				return
			}
		}
	}
}

// Listed reports whether one of values (a list field, such as Connection)
// lists token, ignoring case.
func Listed(values []string, token string) bool {
	for _, v := range values {
		for tok := range Tokens(v) {
			if EqualFold(tok, token) {
				return true
			}
		}
	}
	return false
}
