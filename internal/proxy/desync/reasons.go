package desync

// rule is one of http_desync_guardian's classification reasons
// (ClassificationReason in its src/lib.rs), with NonCrLfLineTermination
// split by where the bare LF was, because the two map to different ALB
// codes.
type rule uint8

const (
	ruleCompliant rule = iota
	ruleEmptyHeader
	ruleSuspiciousHeader
	ruleNonCompliantHeader
	ruleBadHeader
	ruleAmbiguousURI
	ruleSpaceInURI
	ruleBadURI
	ruleNonCompliantVersion
	ruleBadVersion
	ruleGetHeadZeroContentLength
	ruleUndefinedContentLengthSemantics
	ruleMultipleContentLength
	ruleDuplicateContentLength
	ruleBadContentLength
	ruleUndefinedTransferEncodingSemantics
	ruleMultipleTransferEncodingChunked
	ruleBadTransferEncoding
	ruleBothTeClPresent
	ruleBadMethod
	// The library's raw-parsing reasons, which the ALB page does not list.
	ruleNonCrLfRequestLine
	ruleNonCrLfHeaderLine
	ruleMultilineHeader
	rulePartialHeaderLine
	ruleMissingLastEmptyLine
	ruleMissingHeaderColon
	ruleMissingURI
	ruleCount
)

// ruleNames: [rule]{ALB classification_reason, library ClassificationReason}.
// The ALB codes are the table "Classification reasons" on
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html
// Each raw-parsing reason maps to a listed code of the class the library
// gives it, so a log line's classification and reason never disagree with
// that table; Verdict.GuardianReason keeps the library's own name.
var ruleNames = [ruleCount][2]string{
	ruleCompliant:                          {"", ""},
	ruleEmptyHeader:                        {"EmptyHeader", "EmptyHeader"},
	ruleSuspiciousHeader:                   {"SuspiciousHeader", "SuspiciousHeader"},
	ruleNonCompliantHeader:                 {"NonCompliantHeader", "NonCompliantHeader"},
	ruleBadHeader:                          {"BadHeader", "BadHeader"},
	ruleAmbiguousURI:                       {"AmbiguousUri", "AmbiguousUri"},
	ruleSpaceInURI:                         {"SpaceInUri", "SpaceInUri"},
	ruleBadURI:                             {"BadUri", "BadUri"},
	ruleNonCompliantVersion:                {"NonCompliantVersion", "NonCompliantVersion"},
	ruleBadVersion:                         {"BadVersion", "BadVersion"},
	ruleGetHeadZeroContentLength:           {"GetHeadZeroContentLength", "GetHeadZeroContentLength"},
	ruleUndefinedContentLengthSemantics:    {"UndefinedContentLengthSemantics", "UndefinedContentLengthSemantics"},
	ruleMultipleContentLength:              {"MultipleContentLength", "MultipleContentLength"},
	ruleDuplicateContentLength:             {"DuplicateContentLength", "DuplicateContentLength"},
	ruleBadContentLength:                   {"BadContentLength", "BadContentLength"},
	ruleUndefinedTransferEncodingSemantics: {"UndefinedTransferEncodingSemantics", "UndefinedTransferEncodingSemantics"},
	ruleMultipleTransferEncodingChunked:    {"MultipleTransferEncodingChunked", "MultipleTransferEncodingChunked"},
	ruleBadTransferEncoding:                {"BadTransferEncoding", "BadTransferEncoding"},
	ruleBothTeClPresent:                    {"BothTeClPresent", "BothTeClPresent"},
	ruleBadMethod:                          {"BadMethod", "BadMethod"},
	// A request line ending in a bare LF: the page's "The request version
	// contains a bad value" (the version is what the LF follows).
	ruleNonCrLfRequestLine: {"NonCompliantVersion", "NonCrLfLineTermination"},
	// A header line ending in a bare LF: a header holding a control
	// character, the page's NonCompliantHeader.
	ruleNonCrLfHeaderLine: {"NonCompliantHeader", "NonCrLfLineTermination"},
	// The remaining parse reasons are Ambiguous header lines whose name or
	// end cannot be told. The ALB turns a folded line into a header of its
	// own ("When a multi-line header is provided the Application Load
	// Balancer appends a colon character", "Multi-Line headers are not
	// supported" on
	// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html),
	// and of the page's Ambiguous codes only EmptyHeader ("A header is empty
	// or there is a line with only spaces") speaks of a header line's shape.
	ruleMultilineHeader:      {"EmptyHeader", "MultilineHeader"},
	rulePartialHeaderLine:    {"EmptyHeader", "PartialHeaderLine"},
	ruleMissingLastEmptyLine: {"EmptyHeader", "MissingLastEmptyLine"},
	ruleMissingHeaderColon:   {"EmptyHeader", "MissingHeaderColon"},
	// No URI between method and version: the page's URI code for Ambiguous.
	ruleMissingURI: {"AmbiguousUri", "MissingUri"},
}
