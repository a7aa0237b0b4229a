package httpbytes

import (
	"strings"
	"testing"
)

func TestTokenCharsAreRFC9110s(t *testing.T) {
	// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
	//         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
	const tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for c := 0; c < 256; c++ {
		if got, want := IsTokenChar(byte(c)), c < 128 && strings.IndexByte(tchar, byte(c)) >= 0; got != want {
			t.Errorf("IsTokenChar(%q) = %v; want %v", rune(c), got, want)
		}
	}
}

func TestListed(t *testing.T) {
	for _, tc := range []struct {
		values []string
		token  string
		want   bool
	}{
		{[]string{"keep-alive, Close"}, "close", true},
		{[]string{" , upgrade\t"}, "Upgrade", true},
		{[]string{"closed"}, "close", false},
		{[]string{"a", "b, close"}, "close", true},
		{nil, "close", false},
		// Connection naming the fields the target must not get.
		{[]string{"X-Drop"}, "X-Drop", true},
		{[]string{"keep-alive, x-drop "}, "X-Drop", true},
		{[]string{"close", "X-Other"}, "X-Drop", false},
		{[]string{"X-Dropped"}, "X-Drop", false},
	} {
		if got := Listed(tc.values, tc.token); got != tc.want {
			t.Errorf("Listed(%q, %q) = %v; want %v", tc.values, tc.token, got, tc.want)
		}
	}
}

func TestValidValue(t *testing.T) {
	for s, want := range map[string]bool{"a b\tc": true, "caf\xc3\xa9": true, "a\rb": false, "a\x00": false, "a\x7f": false, "": true} {
		if got := ValidValue(s); got != want {
			t.Errorf("ValidValue(%q) = %v; want %v", s, got, want)
		}
	}
}

func TestEqualFoldAndTrim(t *testing.T) {
	if !EqualFold("Transfer-Encoding", "transfer-encoding") || EqualFold("a", "ab") || EqualFold("[", "{") {
		t.Fatal("EqualFold")
	}
	if TrimOWS(" \t x y \t") != "x y" {
		t.Fatal("TrimOWS")
	}
}
