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

// gRPC codes a GRPC target group's matcher takes (Matcher.GrpcCode): "You
// can specify values between 0 and 99 ... The default value is 12"
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Matcher.html).
const (
	MinGRPCCode = 0
	MaxGRPCCode = 99
	// DefaultGRPCMatcher is Matcher.GrpcCode's default: 12, UNIMPLEMENTED,
	// which any gRPC server answers for a method it does not have, such as
	// the default path /AWS.ALB/healthcheck.
	DefaultGRPCMatcher = "12"
)

// ErrEmptyMatcher carries AWS's own wording (the ELBv2 ValidationError quoted
// in github.com/hashicorp/terraform-provider-aws issue 2351).
var ErrEmptyMatcher = errors.New("Health check matcher HTTP code cannot be empty")

// ErrEmptyGRPCMatcher is the same refusal for Matcher.GrpcCode, worded after
// the HTTP one (AWS's own sentence for an empty GrpcCode is not published).
var ErrEmptyGRPCMatcher = errors.New("Health check matcher GRPC code cannot be empty")

// Matcher is a parsed success-code matcher: "200", "200,202", "200-299", or a
// comma-separated mix of codes and ranges; for a GRPC group, gRPC codes in
// the same forms ("0", "0,1", "0-5").
type Matcher struct {
	text   string
	ranges []codeRange
	grpc   bool
}

type codeRange struct{ lo, hi int }

// codeSet is what a matcher's codes may be, and how a refusal is worded.
type codeSet struct {
	empty error
	forms string
	code  func(s string) (int, error)
}

var httpCodes = codeSet{
	empty: ErrEmptyMatcher,
	forms: "use a code (200), a list (200,202) or a range (200-299)",
	code:  parseHTTPCode,
}

var grpcCodes = codeSet{
	empty: ErrEmptyGRPCMatcher,
	forms: "use a code (0), a list (0,1) or a range (0-5)",
	code:  parseGRPCCode,
}

// ParseMatcher parses a matcher as the ELBv2 API accepts it. The error names
// the offending part and what is allowed.
func ParseMatcher(s string) (Matcher, error) { return parseMatcher(s, httpCodes) }

// ParseGRPCMatcher parses a GRPC target group's matcher (Matcher.GrpcCode):
// gRPC codes 0-99 as "12", "0,1" or "0-5".
func ParseGRPCMatcher(s string) (Matcher, error) {
	m, err := parseMatcher(s, grpcCodes)
	m.grpc = err == nil
	return m, err
}

func parseMatcher(s string, set codeSet) (Matcher, error) {
	if strings.TrimSpace(s) == "" {
		return Matcher{}, set.empty
	}
	m := Matcher{text: s}
	for _, part := range strings.Split(s, ",") {
		lo, hi, err := parseCodeRange(part, set)
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

func parseCodeRange(part string, set codeSet) (lo, hi int, err error) {
	if part == "" {
		return 0, 0, fmt.Errorf("empty code in matcher: %s", set.forms)
	}
	loText, hiText, isRange := strings.Cut(part, "-")
	if lo, err = set.code(loText); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = set.code(hiText); err != nil {
		return 0, 0, err
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("range %q is reversed: the first code must not be greater than the second", part)
	}
	return lo, hi, nil
}

func parseHTTPCode(s string) (int, error) {
	if len(s) != 3 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not an HTTP code: codes are three digits between %d and %d", s, MinMatcherCode, MaxMatcherCode)
	}
	code, _ := strconv.Atoi(s)
	if code < MinMatcherCode || code > MaxMatcherCode {
		return 0, fmt.Errorf("code %d is out of range: codes must be between %d and %d", code, MinMatcherCode, MaxMatcherCode)
	}
	return code, nil
}

func parseGRPCCode(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a gRPC code: codes are numbers between %d and %d", s, MinGRPCCode, MaxGRPCCode)
	}
	if len(s) > 2 {
		// AWS's ValidationError, verbatim (quoted in
		// github.com/kubernetes-sigs/aws-load-balancer-controller issue 2804).
		return 0, fmt.Errorf("Health check matcher GRPC code '%s' must be within '%d-%d' inclusive", s, MinGRPCCode, MaxGRPCCode)
	}
	code, _ := strconv.Atoi(s)
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

// GRPC reports whether the matcher holds gRPC codes (ParseGRPCMatcher).
func (m Matcher) GRPC() bool { return m.grpc }

// String returns the matcher as written.
func (m Matcher) String() string { return m.text }

// IsZero reports whether m was never parsed.
func (m Matcher) IsZero() bool { return m.ranges == nil }
