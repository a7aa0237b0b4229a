// Package desync owns the Application Load Balancer's request classification
// for HTTP desync mitigation: it classifies one raw HTTP/1.x request head as
// Compliant, Acceptable, Ambiguous or Severe with a reason, and says what each
// mitigation mode (the load balancer attribute
// routing.http.desync_mitigation_mode: monitor, defensive, strictest) does
// with each class.
//
// The classification is a Go port of AWS's http_desync_guardian, the library
// the ALB runs (https://github.com/aws/http-desync-guardian, files
// src/request_analyzer.rs, src/raw_request_parser.rs, src/http_token_utils.rs
// and build.rs), rule for rule and in the same order, so that when a head
// breaks several rules the same one is reported. The reasons are the ALB's
// classification_reason codes, from "Classification reasons" in
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html
// and the modes from "Desync mitigation mode" in
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#desync-mitigation-mode
//
// Where this port departs from the library, the comment at the spot says why;
// the departures are listed in ClassifyHead's comment.
package desync

import (
	"fmt"
	"strconv"
)

// Class is a request's safety tier, in increasing order of risk
// (http_desync_guardian's RequestSafetyTier).
type Class uint8

const (
	// Compliant requests comply with RFC 7230 and pose no known threat.
	Compliant Class = iota
	// Acceptable requests do not comply with RFC 7230 but pose no known threat.
	Acceptable
	// Ambiguous requests do not comply with RFC 7230 and various servers and
	// proxies could read their framing differently.
	Ambiguous
	// Severe requests pose a high security risk: malformed, or crafted to
	// trick parsers.
	Severe
)

var classNames = [...]string{"Compliant", "Acceptable", "Ambiguous", "Severe"}

// String returns the class as the ALB writes it: Compliant, Acceptable,
// Ambiguous or Severe.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Mode is the load balancer attribute routing.http.desync_mitigation_mode.
type Mode uint8

const (
	// Defensive is the ALB's default: the zero value.
	Defensive Mode = iota
	// Monitor forwards every request and only classifies it.
	Monitor
	// Strictest forwards only Compliant requests.
	Strictest
)

var modeNames = [...]string{"defensive", "monitor", "strictest"}

// String returns the attribute value: defensive, monitor or strictest.
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseMode reads an attribute value. Like the ELBv2 API it takes the values
// only in lower case.
func ParseMode(s string) (Mode, error) {
	for i, name := range modeNames {
		if s == name {
			return Mode(i), nil
		}
	}
	return Defensive, fmt.Errorf("desync mitigation mode %q is not valid: allowed values are monitor, defensive, strictest", s)
}

// Action is what the load balancer does with a classified request.
type Action uint8

const (
	// Forward routes the request and keeps both connections open.
	Forward Action = iota
	// ForwardAndClose routes the request, then closes the client and the
	// target connection, so no second request can follow on either.
	ForwardAndClose
	// Block answers 400 and closes the client connection; nothing reaches a
	// target.
	Block
)

var actionNames = [...]string{"forward", "forward-and-close", "block"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Action returns what mode m does with a request of class c, per the table
// of modes on the ALB page ("Desync mitigation mode", URL in the package
// comment):
//
//	class       monitor          defensive        strictest
//	Compliant   forward          forward          forward
//	Acceptable  forward          forward          block
//	Ambiguous   forward (*)      forward, close   block
//	Severe      forward (*)      block            block
//
// Defensive's "forward, close" is the page's "routes the request but closes
// the client and target connections".
//
// (*) elbow's one deviation: in monitor mode the ALB forwards Ambiguous and
// Severe requests as it forwards any other; elbow forwards them too but then
// closes both connections (ForwardAndClose). A request whose framing two
// parsers may read differently must never leave a connection open for a
// second request: a request with both Content-Length and Transfer-Encoding
// never reaches a target over a connection that stays open, whatever the
// mode. Monitor still blocks nothing, which is what the mode is for.
func (m Mode) Action(c Class) Action {
	switch {
	case c == Compliant:
		return Forward
	case m == Strictest:
		return Block
	case c == Acceptable:
		return Forward
	case c == Ambiguous:
		return ForwardAndClose
	case m == Monitor:
		return ForwardAndClose
	default:
		return Block
	}
}

// Verdict is one request's classification.
type Verdict struct {
	Class Class
	// Reason is the ALB's classification_reason code (AmbiguousUri,
	// BadContentLength, ...); "" when the request is Compliant.
	Reason string
	// GuardianReason is http_desync_guardian's own name for the rule that
	// decided (its ClassificationReason). It equals Reason except for the
	// library's raw-parsing reasons, which the ALB does not list and which
	// ClassifyHead maps onto listed codes of the same class:
	//
	//	NonCrLfLineTermination  Acceptable  NonCompliantVersion (request line), NonCompliantHeader (a header line)
	//	MissingUri              Ambiguous   AmbiguousUri
	//	MultilineHeader         Ambiguous   EmptyHeader
	//	MissingHeaderColon      Ambiguous   EmptyHeader
	//	PartialHeaderLine       Ambiguous   EmptyHeader
	//	MissingLastEmptyLine    Ambiguous   EmptyHeader
	//
	// For diagnostics and tests; the access log writes Reason.
	GuardianReason string
}

// LogFields returns the access log's "classification" and
// "classification_reason" fields (unquoted; the log quotes them). The
// access-log page (URL in the package comment) says of both: "If the
// request complies with RFC 7230, this value is set to -"; otherwise the
// classification is Acceptable, Ambiguous or Severe and the reason one of
// the codes under "Classification reasons".
func (v Verdict) LogFields() (classification, reason string) {
	if v.Class == Compliant {
		return "-", "-"
	}
	if v.Reason == "" {
		return v.Class.String(), "-"
	}
	return v.Class.String(), v.Reason
}
