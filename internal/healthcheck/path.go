package healthcheck

import (
	"errors"
	"fmt"
	"regexp"
)

// MaxPathLength is the longest health-check path the ELBv2 API takes: the
// shape Path in the API model is a string of 1 to 1024 characters
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_ModifyTargetGroup.html,
// HealthCheckPath; botocore/data/elbv2/2015-12-01/service-2.json, shape Path).
const MaxPathLength = 1024

// ErrInvalidPath is wrapped by every error ValidatePath returns, so that a
// caller can tell a refused path from other failures with errors.Is.
var ErrInvalidPath = errors.New("invalid health check path")

// pathRule is AWS's wording of the character rule for a health-check path
// (Amazon Lightsail's InvalidInputException for HealthCheckPath, the one
// place AWS words it; the ALB console refuses the same characters).
const pathRule = "a health check path must begin with a '/' character and only contain printable ASCII characters, without spaces"

// PathError says why a health-check path is refused. Its message names the
// path and, for a bad character, which one and where, since a CR or a
// control character is invisible when the path is printed as is.
type PathError struct {
	Path string
	msg  string
}

func (e *PathError) Error() string { return e.msg }

func (e *PathError) Unwrap() error { return ErrInvalidPath }

// ValidatePath checks p against the ALB's rule: 1 to 1024 characters,
// beginning with '/', each one printable ASCII other than space (0x21-0x7E).
// The probe writes the path into its request line as it is, so this rule is
// what keeps one health check one request: a CR, LF or space would end the
// request target and let the rest of the path be read as headers or as a
// second request (RFC 9112 section 3: request-line = method SP
// request-target SP HTTP-version, and the request-target holds no whitespace).
func ValidatePath(p string) error {
	if len(p) < 1 || len(p) > MaxPathLength {
		return &PathError{Path: p, msg: fmt.Sprintf("%q has %d characters: a path has 1 to %d", p, len(p), MaxPathLength)}
	}
	if p[0] != '/' {
		return &PathError{Path: p, msg: fmt.Sprintf("%q must begin with /", p)}
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f {
			return &PathError{Path: p, msg: fmt.Sprintf("%q is not valid: %s (%s at byte %d)", p, pathRule, describeByte(c), i)}
		}
	}
	return nil
}

// describeByte names a refused byte so that the message shows what the
// quoted path hides: "space", "CR (0x0D)", "byte 0xC3".
func describeByte(c byte) string {
	switch c {
	case ' ':
		return "space"
	case '\r':
		return "CR (0x0D)"
	case '\n':
		return "LF (0x0A)"
	case '\t':
		return "tab (0x09)"
	case 0x7f:
		return "DEL (0x7F)"
	}
	if c < ' ' {
		return fmt.Sprintf("control character 0x%02X", c)
	}
	return fmt.Sprintf("non-ASCII byte 0x%02X", c)
}

// DefaultGRPCPath is a GRPC target group's default health-check path: "The
// default is /AWS.ALB/healthcheck"
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html,
// HealthCheckPath), a method no server has, which DefaultGRPCMatcher (12,
// UNIMPLEMENTED) expects.
const DefaultGRPCPath = "/AWS.ALB/healthcheck"

// grpcPath is /package.service/method with protobuf's identifiers (letters,
// digits, underscores, not starting with a digit): a package of one or more
// dotted names, a service, a method
// (https://protobuf.dev/reference/protobuf/proto3-spec/#identifiers;
// https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md, Path).
var grpcPath = regexp.MustCompile(`^/(?:[A-Za-z_][A-Za-z0-9_]*\.)+[A-Za-z_][A-Za-z0-9_]*/[A-Za-z_][A-Za-z0-9_]*$`)

// ValidateGRPCPath checks a GRPC target group's health-check path: "The path
// of a custom health check method with the format /package.service/method"
// (ELBv2 API reference, CreateTargetGroup HealthCheckPath).
func ValidateGRPCPath(p string) error {
	if err := ValidatePath(p); err != nil {
		return err
	}
	if !grpcPath.MatchString(p) {
		return &PathError{Path: p, msg: fmt.Sprintf("%q is not a gRPC method: a GRPC target group's path has the form /package.service/method, such as %s or /grpc.health.v1.Health/Check", p, DefaultGRPCPath)}
	}
	return nil
}
