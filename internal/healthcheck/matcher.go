package healthcheck

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Matcher codes for HTTP/HTTPS target groups range over 200-499 (ELBv2 API
// model, shape Matcher: github.com/boto/botocore,
// botocore/data/elbv2/2015-12-01/service-2.json; https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Matcher.html).
const (
	MinMatcherCode = 200
	MaxMatcherCode = 499
)

// ErrEmptyMatcher carries AWS's own wording (the ELBv2 ValidationError quoted
// in github.com/hashicorp/terraform-provider-aws issue 2351).
var ErrEmptyMatcher = errors.New("Health check matcher HTTP code cannot be empty")

// Matcher is a parsed success-code matcher: "200", "200,202", "200-299", or a
// comma-separated mix of codes and ranges.
type Matcher struct {
	text   string
	ranges []codeRange
}

type codeRange struct{ lo, hi int }

// ParseMatcher parses a matcher as the ELBv2 API accepts it. The error names
// the offending part and what is allowed.
func ParseMatcher(s string) (Matcher, error) {
	if strings.TrimSpace(s) == "" {
		return Matcher{}, ErrEmptyMatcher
	}
	m := Matcher{text: s}
	for _, part := range strings.Split(s, ",") {
		lo, hi, err := parseCodeRange(part)
		if err != nil {
			return Matcher{}, err
		}
		m.ranges = append(m.ranges, codeRange{lo, hi})
	}
	return m, nil
}

// MustParseMatcher is ParseMatcher for constants known to be valid.
func MustParseMatcher(s string) Matcher {
	m, err := ParseMatcher(s)
	if err != nil {
		panic(err)
	}
	return m
}

func parseCodeRange(part string) (lo, hi int, err error) {
	if part == "" {
		return 0, 0, fmt.Errorf("empty code in matcher: use a code (200), a list (200,202) or a range (200-299)")
	}
	loText, hiText, isRange := strings.Cut(part, "-")
	if lo, err = parseCode(loText); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = parseCode(hiText); err != nil {
		return 0, 0, err
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("range %q is reversed: the first code must not be greater than the second", part)
	}
	return lo, hi, nil
}

func parseCode(s string) (int, error) {
	if len(s) != 3 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not an HTTP code: codes are three digits between %d and %d", s, MinMatcherCode, MaxMatcherCode)
	}
	code, _ := strconv.Atoi(s)
	if code < MinMatcherCode || code > MaxMatcherCode {
		return 0, fmt.Errorf("code %d is out of range: codes must be between %d and %d", code, MinMatcherCode, MaxMatcherCode)
	}
	return code, nil
}

// Match reports whether code is one of the matcher's success codes.
func (m Matcher) Match(code int) bool {
	for _, r := range m.ranges {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// String returns the matcher as written.
func (m Matcher) String() string { return m.text }

// IsZero reports whether m was never parsed.
func (m Matcher) IsZero() bool { return m.ranges == nil }
