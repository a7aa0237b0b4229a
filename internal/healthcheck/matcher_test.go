package healthcheck

import (
	"errors"
	"strings"
	"testing"
)

// matcherCase is one matcher text: the codes it matches and does not, or
// the error it gets.
type matcherCase struct {
	in      string
	match   []int
	nomatch []int
	err     string
}

// runMatcherCases parses each case with parse and checks its verdicts and
// that the matcher prints as written.
func runMatcherCases(t *testing.T, parse func(string) (Matcher, error), cases []matcherCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			m, err := parse(tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.match {
				if !m.Match(c) {
					t.Errorf("%s does not match %d", tc.in, c)
				}
			}
			for _, c := range tc.nomatch {
				if m.Match(c) {
					t.Errorf("%s matches %d", tc.in, c)
				}
			}
			if m.String() != tc.in {
				t.Errorf("String() = %q", m.String())
			}
		})
	}
}

func TestParseMatcher(t *testing.T) {
	cases := []matcherCase{
		{in: "200", match: []int{200}, nomatch: []int{201, 301}},
		{in: "200,202", match: []int{200, 202}, nomatch: []int{201}},
		{in: "200-299", match: []int{200, 250, 299}, nomatch: []int{199, 300}},
		{in: "200-301", match: []int{200, 301}, nomatch: []int{302, 400}},
		{in: "200,300-302,404", match: []int{200, 301, 404}, nomatch: []int{303, 400}},
		{in: "499", match: []int{499}},
		{in: "", err: "Health check matcher HTTP code cannot be empty"},
		{in: "  ", err: "Health check matcher HTTP code cannot be empty"},
		{in: "199", err: "code 199 is out of range: codes must be between 200 and 499"},
		{in: "500", err: "code 500 is out of range: codes must be between 200 and 499"},
		{in: "200-500", err: "code 500 is out of range: codes must be between 200 and 499"},
		{in: "299-200", err: `range "299-200" is reversed: the first code must not be greater than the second`},
		{in: "200,", err: "empty code in matcher: use a code (200), a list (200,202) or a range (200-299)"},
		{in: "2xx", err: `"2xx" is not an HTTP code: codes are three digits between 200 and 499`},
		{in: "200-", err: `"" is not an HTTP code: codes are three digits between 200 and 499`},
		{in: "+200", err: `"+200" is not an HTTP code: codes are three digits between 200 and 499`},
	}
	runMatcherCases(t, ParseMatcher, cases)
	if _, err := ParseMatcher(""); !errors.Is(err, ErrEmptyMatcher) {
		t.Error("empty matcher is not ErrEmptyMatcher")
	}
}

// FuzzParseMatcher: a matcher that parses matches only codes in 200-499, and
// the parser never panics.
func FuzzParseMatcher(f *testing.F) {
	for _, s := range []string{"200", "200,202", "200-299", "200-301", "", "499", "200-", ",", "2-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMatcher(s)
		if err != nil {
			if strings.TrimSpace(s) != "" && errors.Is(err, ErrEmptyMatcher) {
				t.Fatalf("%q: non-empty input reported empty", s)
			}
			return
		}
		for code := 0; code < 700; code++ {
			if m.Match(code) && (code < 200 || code > 499) {
				t.Fatalf("%q matches %d, outside 200-499", s, code)
			}
		}
	})
}

// TestParseGRPCMatcher: Matcher.GrpcCode takes 0-99 as "12", "0,1" or
// "0-5"; out of range is refused in AWS's words.
func TestParseGRPCMatcher(t *testing.T) {
	cases := []matcherCase{
		{in: "12", match: []int{12}, nomatch: []int{0, 2}},
		{in: "0", match: []int{0}, nomatch: []int{1, 12}},
		{in: "0,1", match: []int{0, 1}, nomatch: []int{2}},
		{in: "0-5", match: []int{0, 3, 5}, nomatch: []int{6, 12}},
		{in: "0-5,12,99", match: []int{0, 12, 99}, nomatch: []int{6, 100}},
		{in: "", err: "Health check matcher GRPC code cannot be empty"},
		{in: "200", err: "Health check matcher GRPC code '200' must be within '0-99' inclusive"},
		{in: "0-100", err: "Health check matcher GRPC code '100' must be within '0-99' inclusive"},
		{in: "5-1", err: `range "5-1" is reversed: the first code must not be greater than the second`},
		{in: "0,", err: "empty code in matcher: use a code (0), a list (0,1) or a range (0-5)"},
		{in: "OK", err: `"OK" is not a gRPC code: codes are numbers between 0 and 99`},
		{in: "-1", err: `"" is not a gRPC code: codes are numbers between 0 and 99`},
	}
	runMatcherCases(t, ParseGRPCMatcher, cases)
	if m, _ := ParseGRPCMatcher("0-5"); !m.GRPC() {
		t.Error("a gRPC matcher does not say so")
	}
	if m := MustParseMatcher("200"); m.GRPC() {
		t.Error("an HTTP matcher says it holds gRPC codes")
	}
}
