package desync

import "testing"

// guardianCases are http_desync_guardian's own test cases, the files
// tests/*.yaml of https://github.com/aws/http-desync-guardian, each under its
// original name. A yaml case lists a method, URI, version and fields; the
// library's test runner (file_tests in src/request_analyzer.rs) checks the
// parsed form against "expected" and also serialises it to a raw head,
// "method SP uri SP version CRLF" then "name: value CRLF" per field then
// CRLF, which is the head given here.
//
// The want columns are what the library's analyze_raw_request answers for
// that head, checked by running the library itself. Where the raw reading
// differs from the yaml's expectation for the parsed request (the runner
// accepts this for raw reasons MultilineHeader, MissingHeaderColon,
// SpaceInUri and AmbiguousUri, and the tier otherwise), the yaml's is noted
// as "parsed:". The differences all come from serialising a value that holds
// a line break, or a name or URI with blanks, onto the wire.
var guardianCases = []struct {
	name  string
	head  string
	class Class
	rule  string // the library's reason; "" for Compliant
}{
	// tests/single-case.yaml
	{"Both Transfer-Encoding:chunked and Content-Length", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n", Ambiguous, "BothTeClPresent"},
	// tests/edge-cases.yaml
	{"Bad non-essential header does not shadow bad Content-Length", "POST /foo/bar HTTP/1.1\r\nSome-Custom-Header: Non-Rfc Compliant\x12\r\nContent-Length: 1000\x11\r\n\r\n", Severe, "BadContentLength"},
	{"Bad non-essential header does not shadow bad Transfer-Encoding", "POST /foo/bar HTTP/1.1\r\nSome-Custom-Header: Non-Rfc Compliant\x11\r\nTransfer-Encoding: chunked\x7f\r\n\r\n", Severe, "BadTransferEncoding"},
	{"Non-compliant character does not shadow bad character", "PUT /foo/bar HTTP/1.1\r\nSome-Custom-Header\t: \x11\x12 But then \x00 which is bad\r\nTransfer-Encoding\t: chunked\r\n\r\n", Severe, "BadHeader"},
	{"Non-compliant customer header does not shadow ambiguous Transfer-Encoding for GET", "GET /foo/bar HTTP/1.1\r\nSome-Custom-Header: Non Rfc -Compliant\x01\r\nTransfer-Encoding: chunked\r\n\r\n", Ambiguous, "UndefinedTransferEncodingSemantics"},
	{"Non-compliant customer header does not shadow ambiguous Content-Length for HEAD", "HEAD /foo/bar HTTP/1.1\r\nSome-Custom-Header: Non Rfc Compliant\x01\r\nContent-Length: 9000\r\n\r\n", Ambiguous, "UndefinedContentLengthSemantics"},
	{"Bad header does not shadow other bad headers", "POST /foo/bar HTTP/1.1\r\nSome-Custom-Header: \x11Rfc Compliant\r\nTransfer-Encoding: chunked\xc2\x80\r\nContent-Length: $9000\r\n\r\n", Severe, "BadTransferEncoding"},
	{"Bad URI does not shadow essential bad headers", "POST /foo/bar\t/baz HTTP/1.1\r\nSome-Custom-Header: \x11Rfc Compliant\r\nTransfer-Encoding: chunked\xc2\x80\r\nContent-Length: $9000\r\n\r\n", Severe, "BadTransferEncoding"},
	{"Bad URI does not shadow essential ambiguous headers", "GET /foo/bar\t/baz HTTP/1.1\r\nSome-Custom-Header: Non Rfc -Compliant\x01\r\nContent-Length: 9000\r\n\r\n", Ambiguous, "UndefinedContentLengthSemantics"},
	// tests/rfc-compliant.yaml
	{"No headers", "GET /foo/bar HTTP/1.1\r\n\r\n", Compliant, ""},
	{"Valid Transfer-Encoding (chunked)", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", Compliant, ""},
	{"Valid Content-Length", "PUT /foo/bar HTTP/1.1\r\nContent-Length: 1000\r\n\r\n", Compliant, ""},
	{"Valid Transfer-Encoding (chunked) + custom header (non-ascii)", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: chunked\r\nMy-Custom-Header: \t\t\tCustom-Value;`\xc2\x85\xc2\x93\xc2\xa0\r\n\r\n", Compliant, ""},
	{"Valid custom header with tchar in name and obs-text", "POST /foo/bar HTTP/1.1\r\nMy-Custom-Header.!#$%&'*+^_`|~0123456789: \t\t\tCustom-Value;`\xc2\x85\xc2\x93\xc2\xa0\r\n\r\n", Compliant, ""},
	{"Valid custom header with underscore in name", "POST /foo/bar HTTP/1.1\r\nMy_Custom_Header: \t\t\tCustom-Value;`\xc2\x85\xc2\x93\xc2\xa0\r\n\r\n", Compliant, ""},
	{"Valid custom header with dot in name", "POST /foo/bar HTTP/1.1\r\nMy.Custom.Header: \t\t\tCustom-Value;`\xc2\x85\xc2\x93\xc2\xa0\r\n\r\n", Compliant, ""},
	{"Valid custom header with digits in name", "POST /foo/bar HTTP/1.1\r\nMy-Custom-Header-0987654321: \t\t\tCustom-Value;`\xc2\x85\xc2\x93\xc2\xa0\r\n\r\n", Compliant, ""},
	{"Different Transfer-Encoding headers", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: compress\r\nTransfer-Encoding: chunked\r\n\r\n", Compliant, ""},
	{"Different Transfer-Encoding headers combined", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: gzip , deflate , \tidentity\t, compress\t, chunked\r\n\r\n", Compliant, ""},
	{"Transfer-Encoding with a param: chunked;custom_param", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding:    gzip   ;   \r\nTransfer-Encoding: deflate\t\t;\t\t\r\nTransfer-Encoding: \t\t\t\tchunked;custom_param;\t\t\t\t\r\n\r\n", Compliant, ""},
	{"Compliant URL", "POST /user:pass123@www.example.com:8080/site/index.php?action=login%20++~!@#$%^&*()_+:<>?,./;'[]{}`~\"|&prev=index#form HTTP/1.1\r\nAccept: */*\r\n\r\n", Compliant, ""},
	{"International in URI", "GET /\xd1\x81\xd1\x82\xd1\x80\xd0\xb0\xd0\xbd\xd0\xbd\xd1\x8b\xd0\xb5-\xd1\x81\xd0\xb8\xd0\xbc\xd0\xb2\xd0\xbe\xd0\xbb\xd1\x8b/\xd0\xbf\xd0\xbe\xd0\xb4\xd0\xb4\xd0\xb5\xd1\x80\xd0\xb6\xd0\xb8\xd0\xb2\xd0\xb0\xd1\x8e\xd1\x82\xd1\x81\xd1\x8f HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Compliant, ""},
	{"Empty URI", "GET  HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Compliant, ""},
	// tests/acceptable.yaml
	{"No TE/CL headers, some others are non-compliant", "PUT /foo/bar HTTP/1.1\r\nx-my-custom-header : some value\r\nx-my-second-custom-header: some value\r\n\r\n", Acceptable, "NonCompliantHeader"},
	{"TE and some others are non-compliant", "PUT /foo/bar HTTP/1.1\r\nx-my-custom-header : some value\r\nTransfer-Encoding: chunked\r\n\r\n", Acceptable, "NonCompliantHeader"},
	{"A non-essential header with a non-printable character (x01)", "PUT /foo/bar HTTP/1.1\r\n\x01x-my-custom-header: some value\r\nTransfer-Encoding: chunked\r\n\r\n", Acceptable, "NonCompliantHeader"},
	{"CL and some others are non-compliant", "PUT /foo/bar HTTP/1.1\r\nx-my-custom-header : some value\r\nContent-Length: 10000\r\n\r\n", Acceptable, "NonCompliantHeader"},
	{"Get with a body and Content-Length:0", "GET /foo/bar HTTP/1.1\r\nContent-Length: 0\r\n\r\n", Acceptable, "GetHeadZeroContentLength"},
	{"Get with a body and Content-Length:0", "HEAD /foo/bar HTTP/1.1\r\nContent-Length: 0\r\n\r\n", Acceptable, "GetHeadZeroContentLength"},
	{"Non-RFC, but OK HTTP/0.9", "GET /foo/bar HTTP/0.9\r\nX-My-Header: some value\r\n\r\n", Acceptable, "NonCompliantVersion"},
	{"Empty version, which means HTTP/0.9", "GET /foo/bar \r\nX-My-Header: some value\r\n\r\n", Acceptable, "NonCompliantVersion"},
	{"Unknown but OK HTTP/1.2", "GET /foo/bar HTTP/1.2\r\nX-My-Header: some value\r\n\r\n", Acceptable, "NonCompliantVersion"},
	// tests/ambiguous.yaml
	{"Transfer-Encoding with a trailing space in name", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Transfer-Encoding with a trailing tab in name", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding\t: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"\\x01Transfer-Encoding with a non-printable character", "POST /foo/bar HTTP/1.1\r\n\x01Transfer-Encoding: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"\\x01\\x01Transfer-Encoding with a non-printable character", "POST /foo/bar HTTP/1.1\r\n\x01\x01Transfer-Encoding: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"\\x01\\x01Content-Length with a non-printable character", "POST /foo/bar HTTP/1.1\r\n\x01\x01Content-Length: 1\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"\\x01Content-Length with a non-printable character", "POST /foo/bar HTTP/1.1\r\n\x01Content-Length: 1\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Transfer-Encoding with a space in the middle", "POST /foo/bar HTTP/1.1\r\nTransfer- Encoding: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Transfer_Encoding with underscore.", "POST /foo/bar HTTP/1.1\r\nTransfer_Encoding: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Content_Length with underscore.", "POST /foo/bar HTTP/1.1\r\nContent_Length: 1000\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Duplicate Content-Length", "PUT /foo/bar HTTP/1.1\r\nContent-Length: 1000\r\nContent-Length: 1000\r\n\r\n", Ambiguous, "DuplicateContentLength"},
	{"Both Transfer-Encoding:chunked and Content-Length", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n", Ambiguous, "BothTeClPresent"},
	{"Both Transfer-Encoding and Content-Length", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 100\r\n\r\n", Ambiguous, "BothTeClPresent"},
	{"Get with a body and Content-Length", "GET /foo/bar HTTP/1.1\r\nContent-Length: 1000\r\n\r\n", Ambiguous, "UndefinedContentLengthSemantics"},
	{"Get with a body and Transfer-Encoding", "GET /foo/bar HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", Ambiguous, "UndefinedTransferEncodingSemantics"},
	{"Head with a body and Content-Length", "HEAD /foo/bar HTTP/1.1\r\nContent-Length: 1000\r\n\r\n", Ambiguous, "UndefinedContentLengthSemantics"},
	{"Head with a body and Transfer-Encoding", "HEAD /foo/bar HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", Ambiguous, "UndefinedTransferEncodingSemantics"},
	{"Transfer-Encoding[white-space] and Content-Length", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding : chunked\r\nContent-Length: 1000\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"[white-space]Transfer-Encoding and Content-Length", "POST /foo/bar HTTP/1.1\r\n Transfer-Encoding: chunked\r\nContent-Length: 1000\r\n\r\n", Ambiguous, "MultilineHeader"},               // parsed: Ambiguous SuspiciousHeader
	{"[white-space]Transfer-Encoding and [white-space]Content-Length", "POST /foo/bar HTTP/1.1\r\n Transfer-Encoding: chunked\r\n Content-Length: 1000\r\n\r\n", Ambiguous, "MultilineHeader"}, // parsed: Ambiguous SuspiciousHeader
	{"Transfer-Encoding[white-space] and Content-Length[white-space]", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding : chunked\r\nContent-Length : 1000\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Empty header name", "POST /foo/bar HTTP/1.1\r\n: chunked\r\nContent-Length: 1000\r\n\r\n", Ambiguous, "EmptyHeader"},
	{"Header name starts with :", "POST /foo/bar HTTP/1.1\r\n:SomeHeader:Transfer-Encoding:: chunked\r\nContent-Length: 1000\r\n\r\n", Ambiguous, "EmptyHeader"},
	{"Only white-spaces header name", "POST /foo/bar HTTP/1.1\r\n   \t\t  : chunked\r\nContent-Length: 1000\r\n\r\n", Ambiguous, "MultilineHeader"}, // parsed: Ambiguous EmptyHeader
	{"Transfer-Encoding for HTTP/1.0", "POST /foo/bar HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Ambiguous, "UndefinedTransferEncodingSemantics"},
	{"Transfer-Encoding for HTTP/0.9", "POST /foo/bar HTTP/0.9\r\nTransfer-Encoding: chunked\r\n\r\n", Ambiguous, "UndefinedTransferEncodingSemantics"},
	{"Content-Length for HTTP/0.9", "POST /foo/bar HTTP/0.9\r\nContent-Length: 100\r\n\r\n", Ambiguous, "UndefinedContentLengthSemantics"},
	{"Transfer-Encoding for empty protocol, which is HTTP/0.9", "POST /foo/bar \r\nTransfer-Encoding: chunked\r\n\r\n", Ambiguous, "UndefinedTransferEncodingSemantics"},
	{"Content-Length for empty protocol, which is HTTP/0.9", "POST /foo/bar \r\nContent-Length: 100\r\n\r\n", Ambiguous, "UndefinedContentLengthSemantics"},
	{"Transfer-Encoding Latin Small Letter Long S", "POST /foo/bar HTTP/1.1\r\nTran\xc5\xbffer-Encoding: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Transfer-Encoding Latin Small Letter Dotless I", "POST /foo/bar HTTP/1.1\r\nTransfer-Encod\xc4\xb1ng: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Transfer-Encoding with multiple hyphens", "POST /foo/bar HTTP/1.1\r\nTransfer---Encoding: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Transfer-Encoding with multiple delimiters", "POST /foo/bar HTTP/1.1\r\nTransfer___Encoding: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Transfer-Encoding with UTF8 spaces", "POST /foo/bar HTTP/1.1\r\n   Transfer-Encoding: chunked\r\n\r\n", Ambiguous, "MultilineHeader"}, // parsed: Ambiguous SuspiciousHeader
	{"Content-Length with UTF8 spaces", "POST /foo/bar HTTP/1.1\r\nContent-Length   : 1000\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Transfer-Encoding with a UTF8 delimiter", "POST /foo/bar HTTP/1.1\r\nTransfer\xe2\x80\x95Encoding: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Transfer-Encoding with arbitrary non-ASCII chars", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding\xc2\x88: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Content-Length with arbitrary non-ASCII chars", "POST /foo/bar HTTP/1.1\r\n\xc2\xa0Content-Length: 100\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	// tests/bad-header-characters.yaml
	{"\\x01Transfer-Encoding", "POST /foo/bar HTTP/1.1\r\nSome-Custom-Header: Non-Rfc Compliant\r\n\x01Transfer-Encoding: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Transfer-Encoding: \\x01chunked", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: \x01chunked\r\n\r\n", Severe, "BadTransferEncoding"},
	{"Transfer-Encoding: chunked\\x01", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: chunked\x01\r\n\r\n", Severe, "BadTransferEncoding"},
	{"Transfer-Encoding: \\xa0chunked", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: \xc2\xa0chunked\r\n\r\n", Severe, "BadTransferEncoding"},
	{"Transfer-Encoding: chunked\\xa0", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: chunked\xc2\xa0\r\n\r\n", Severe, "BadTransferEncoding"},
	{"Transfer-Encoding\\x01", "POST /foo/bar HTTP/1.1\r\nSome-Custom-Header: Non-Rfc Compliant\r\nTransfer-Encoding\x01: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"\\x01Content-Length", "POST /foo/bar HTTP/1.1\r\nSome-Custom-Header: Non-Rfc Compliant\r\n\x01Content-Length: 1000\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Content-Length\\x01", "POST /foo/bar HTTP/1.1\r\nSome-Custom-Header: Non-Rfc Compliant\r\nContent-Length\x01: 1000\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"Content-Length: \\x01 1000", "POST /foo/bar HTTP/1.1\r\nContent-Length: \x011000\r\n\r\n", Severe, "BadContentLength"},
	{"Content-Length: 1000\\x01 ", "POST /foo/bar HTTP/1.1\r\nContent-Length: 1000\x01\r\n\r\n", Severe, "BadContentLength"},
	{"Content-Length: 1000\\xa0", "POST /foo/bar HTTP/1.1\r\nContent-Length: 1000\xc2\xa0\r\n\r\n", Severe, "BadContentLength"},
	{"Some-Header\\x01", "POST /foo/bar HTTP/1.1\r\nSome-Custom-Header\x01: Non-Rfc Compliant\r\nTransfer-Encoding: chunked\r\n\r\n", Acceptable, "NonCompliantHeader"},
	{"\\x01Some-Header", "POST /foo/bar HTTP/1.1\r\n\x01Some-Custom-Header: Non-Rfc Compliant\r\nTransfer-Encoding: chunked\r\n\r\n", Acceptable, "NonCompliantHeader"},
	{"Some-Header: \\x01value", "POST /foo/bar HTTP/1.1\r\nSome-Custom-Header: \x01Non-Rfc Compliant\r\nTransfer-Encoding: chunked\r\n\r\n", Acceptable, "NonCompliantHeader"},
	{"Some-Header: value\\x01", "POST /foo/bar HTTP/1.1\r\nSome-Custom-Header: Non-Rfc Compliant\x01\r\nTransfer-Encoding: chunked\r\n\r\n", Acceptable, "NonCompliantHeader"},
	// tests/more-compliant-tests.yaml
	{"Has a CL in PUT OK", "PUT /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nContent-Length:  22220  \r\n\r\n", Compliant, ""},
	{"Very many headers", "PUT /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nUpgrade-Insecure-Requests:  1\r\nContent-Length:  22220  \r\nHeader-Name-1: Header-Value-Some-Ok-String\r\nHeader-Name-2: Header-Value-Some-Ok-String\r\nHeader-Name-3: Header-Value-Some-Ok-String\r\nHeader-Name-4: Header-Value-Some-Ok-String\r\nHeader-Name-5: Header-Value-Some-Ok-String\r\nHeader-Name-6: Header-Value-Some-Ok-String\r\nHeader-Name-7: Header-Value-Some-Ok-String\r\nHeader-Name-8: Header-Value-Some-Ok-String\r\nHeader-Name-9: Header-Value-Some-Ok-String\r\nHeader-Name-10: Header-Value-Some-Ok-String\r\nHeader-Name-11: Header-Value-Some-Ok-String\r\nHeader-Name-12: Header-Value-Some-Ok-String\r\nHeader-Name-13: Header-Value-Some-Ok-String\r\nHeader-Name-14: Header-Value-Some-Ok-String\r\nHeader-Name-15: Header-Value-Some-Ok-String\r\nHeader-Name-16: Header-Value-Some-Ok-String\r\nHeader-Name-17: Header-Value-Some-Ok-String\r\nHeader-Name-18: Header-Value-Some-Ok-String\r\nHeader-Name-19: Header-Value-Some-Ok-String\r\nHeader-Name-20: Header-Value-Some-Ok-String\r\nHeader-Name-21: Header-Value-Some-Ok-String\r\nHeader-Name-22: Header-Value-Some-Ok-String\r\nHeader-Name-23: Header-Value-Some-Ok-String\r\nHeader-Name-24: Header-Value-Some-Ok-String\r\nHeader-Name-25: Header-Value-Some-Ok-String\r\nHeader-Name-26: Header-Value-Some-Ok-String\r\nHeader-Name-27: Header-Value-Some-Ok-String\r\nHeader-Name-28: Header-Value-Some-Ok-String\r\nHeader-Name-29: Header-Value-Some-Ok-String\r\n\r\n", Compliant, ""},
	{"Has a TE in PUT OK", "PUT /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  chunked\r\n\r\n", Compliant, ""},
	{"HTTP Version.1.1 OK", "POST /test.html?a=b&b=c&%dd=%ee HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  chunked\r\n\r\n", Compliant, ""},
	{"Correct CL OK", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nContent-Length:  5\r\n\r\n", Compliant, ""},
	{"Correct TE OK", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  gzip, chunked\r\n\r\n", Compliant, ""},
	{"Large Size OK", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nContent-Length:  4000000\r\nX-test: Transfer-Encoding: chunked\r\n\r\n", Compliant, ""},
	{"Transfer-Encoding: identity and chunked OK", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  deflate, identity, chunked\r\n\r\n", Compliant, ""},
	{"Multiple transfer encoding headers in a single request OK", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  gzip\r\nTransfer-Encoding:  deflate\r\nTransfer-Encoding:  identity\r\nTransfer-Encoding:  compress\r\nTransfer-Encoding:  chunked\r\n\r\n", Compliant, ""},
	{"TE with custom parameters OK", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  \t\t\t\tchunked;custom_param;\t\t\t\t\r\n\r\n", Compliant, ""},
	// tests/severe.yaml
	{"Multiple Content-Length", "POST /foo/bar HTTP/1.1\r\nContent-Length: 1000\r\nContent-Length: 100\r\n\r\n", Severe, "MultipleContentLength"},
	{"Bad Content-Length: 1000,1000", "POST /foo/bar HTTP/1.1\r\nContent-Length: 1000,1000\r\n\r\n", Severe, "BadContentLength"},
	{"Bad Content-Length: 1000 1000", "POST /foo/bar HTTP/1.1\r\nContent-Length: 1000 1000\r\n\r\n", Severe, "BadContentLength"},
	{"Bad Content-Length: 1000.1000", "POST /foo/bar HTTP/1.1\r\nContent-Length: 1000.1000\r\n\r\n", Severe, "BadContentLength"},
	{"Bad Content-Length (64-bits overflow)", "POST /foo/bar HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", Severe, "BadContentLength"},
	{"Unknown Transfer-Encoding: xchunked", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", Severe, "BadTransferEncoding"},
	{"Bad character in Transfer-Encoding value: chunked\\x11", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: chunked\x11\r\n\r\n", Severe, "BadTransferEncoding"},
	{"Bad character in Content-Length value: 1000\\x11", "POST /foo/bar HTTP/1.1\r\nContent-Length: 1000\x11\r\n\r\n", Severe, "BadContentLength"},
	{"Multiple Transfer-Encoding: chunked", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", Severe, "MultipleTransferEncodingChunked"},
	{"Multiple Transfer-Encoding: chunked,chunked", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding: chunked,chunked\r\n\r\n", Severe, "MultipleTransferEncodingChunked"},
	{"Multiline headers are deprecated", "POST /foo/bar HTTP/1.1\r\nContent-Length: 1000\r\nSome-Custom-Header: Multi-line values\r\n are \n deprecated. E.g. it may contain \n Transfer-Encoding: chunked\r\n\r\n\r\n", Ambiguous, "MultilineHeader"},           // parsed: Severe BadHeader
	{"Multiline headers are deprecated (with \\n only)", "POST /foo/bar HTTP/1.1\r\nContent-Length: 1000\r\nSome-Custom-Header: Multi-line values\n are \n deprecated. E.g. it may contain \n Transfer-Encoding: chunked\r\n\r\n", Ambiguous, "MultilineHeader"}, // parsed: Severe BadHeader
	{"Http Engine missed CR", "POST /foo/bar HTTP/1.1\r\nContent-Length: 1000\r\nSome-Custom-Header: Parser error\r must not contain\r symbols.\r\n\r\n", Severe, "BadHeader"},
	{"Http Engine missed LF", "POST /foo/bar HTTP/1.1\r\nContent-Length: 1000\r\nSome-Custom-Header: Parser error\n must not contain\n symbols.\r\n\r\n", Ambiguous, "MultilineHeader"}, // parsed: Severe BadHeader
	{"\\r in name is bad", "POST /foo/bar HTTP/1.1\r\nSome-Bad-Header\r: 1000\r\n\r\n", Severe, "BadHeader"},
	{"\\n in name is bad", "POST /foo/bar HTTP/1.1\r\nSome-Bad-Header\n: Content-Length:1000\r\n Transfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n", Ambiguous, "MissingHeaderColon"}, // parsed: Severe BadHeader
	{"\\0 in name is bad", "POST /foo/bar HTTP/1.1\r\nSome-Bad-Header\x00: 1000\r\n\r\n", Severe, "BadHeader"},
	{"\\r in value is bad", "POST /foo/bar HTTP/1.1\r\nSome-Bad-Header: value\rcontent-length: 1000\r\nContent-Length: 100\r\n\r\n", Severe, "BadHeader"},
	{"\\n in value is bad", "POST /foo/bar HTTP/1.1\r\nSome-Bad-Header: value\n content-length: 1000\r\nContent-Length: 100\r\n\r\n", Severe, "MultipleContentLength"}, // parsed: Severe BadHeader
	{"\\0 in value is bad", "POST /foo/bar HTTP/1.1\r\nSome-Bad-Header: value\x00content-length: 1000\r\nContent-Length: 100\r\n\r\n", Severe, "BadHeader"},
	{"\\0 at the start of a line", "POST /foo/bar HTTP/1.1\r\n\x00Some-Bad-Header: value\r\nContent-Length: 100\r\n\r\n", Severe, "BadHeader"},
	{"\\0 at the start of a value", "POST /foo/bar HTTP/1.1\r\nSome-Bad-Header: \x00value\r\nContent-Length: 100\r\n\r\n", Severe, "BadHeader"},
	{"\\0 at the end of a value", "POST /foo/bar HTTP/1.1\r\nSome-Bad-Header: value\x00\r\nContent-Length: 100\r\n\r\n", Severe, "BadHeader"},
	{"Content-Length[white-space] and Content-Length", "POST /foo/bar HTTP/1.1\r\nContent-Length : 100\r\nContent-Length: 1000\r\n\r\n", Severe, "MultipleContentLength"},
	{"[white-space]Content-Length and Content-Length", "POST /foo/bar HTTP/1.1\r\n Content-Length: 100\r\nContent-Length: 1000\r\n\r\n", Severe, "MultipleContentLength"},
	{"Transfer-Encoding[white-space] and Transfer-Encoding", "POST /foo/bar HTTP/1.1\r\nTransfer-Encoding : chunked\r\nTransfer-Encoding: chunked\r\n\r\n", Severe, "MultipleTransferEncodingChunked"},
	{"Bad method", "bad_method\x01 /foo/bar HTTP/1.1\r\nHost: localhost\r\n\r\n", Severe, "BadMethod"},
	// tests/uri-specific-test-cases.yaml
	{"\\t in URI", "GET /endpoint_a\tHTTP/1.1 HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Ambiguous, "AmbiguousUri"},
	{"Extra spaces in version", "GET /endpoint_a HTTP/1.1 \r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Acceptable, "NonCompliantVersion"},
	{"\\x01 in URI", "GET /endpoint_a\x01HTTP/1.1 HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Ambiguous, "AmbiguousUri"},
	{"[space] in URI", "GET /endpoint_a?param=not escaped spaces HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Acceptable, "SpaceInUri"},
	{"[space] in URI resulted in a bad version", "GET /endpoint_a HTTP/1.1 HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Acceptable, "SpaceInUri"}, // parsed: Severe BadVersion
	{"\\r in URI", "GET /endpoint_a\rHTTP/1.1 HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Severe, "BadUri"},
	{"\\n in URI", "GET /endpoint_a\nHTTP/1.1 HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Ambiguous, "MissingHeaderColon"},                                                     // parsed: Severe BadUri
	{"Request Smuggling in URI", "GET /endpoint_a\tHTTP/1.1\r\nHost:localhost\r\n\r\nGET\t/endpoint_b\t HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Ambiguous, "AmbiguousUri"}, // parsed: Severe BadUri
	{"\\0 in URI", "GET /endpoint_a\x00HTTP/1.1 HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Severe, "BadUri"},
	{"\\0 at the start of URI", "GET \x00/endpoint_aHTTP/1.1 HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Severe, "BadUri"},
	{"%09 in URI is OK", "GET /path-%09-uri HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Compliant, ""},
	{"%20 in URI is OK", "GET /path-%20-uri HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Compliant, ""},
	{"%0D in URI is OK", "GET /path-%0D-uri HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Compliant, ""},
	{"%0A in URI is OK", "GET /path-%0A-uri HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", Compliant, ""},
	// tests/real-life-test-cases.yaml
	{"Has a CL in GET", "GET /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nContent-Length:  22\r\n\r\n", Ambiguous, "UndefinedContentLengthSemantics"},
	{"Has a TE in GET", "GET /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  chunked\r\n\r\n", Ambiguous, "UndefinedTransferEncodingSemantics"},
	{"HTTP Version.1.0 and TE", "POST /test.html HTTP/1.0\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  chunked\r\n\r\n", Ambiguous, "UndefinedTransferEncodingSemantics"},
	{"Two Identical Fields - CL", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nContent-Length:  5\r\nContent-Length:  5\r\n\r\n", Ambiguous, "DuplicateContentLength"},
	{"Two Identical Fields - TE", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  chunked\r\nTransfer-Encoding:  chunked\r\nContent-Length:  4\r\n\r\n", Severe, "MultipleTransferEncodingChunked"},
	{"Chunks Priority on Content-Length", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nContent-Length:  4\r\nTransfer-Encoding:  chunked\r\n\r\n", Ambiguous, "BothTeClPresent"},
	{"Null in Headers", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nBad-Accept-Encoding:  gzip, \x00deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  chunked\r\nContent-Length:  4\r\n\r\n", Severe, "BadHeader"},
	{"CRLF", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nContent-Length:  4\r\n\x00Transfer-Encoding:  chunked\r\n\r\n", Severe, "BadHeader"},
	{"Size Issue", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nContent-Length:  4\r\nX-test:  x\rTransfer-Encoding: chunked\r\n\r\n", Severe, "BadHeader"},
	{"Transfer-Encoding[tab]: chunked", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding\t:  chunked\r\nContent-Length:  4\r\n\r\n", Ambiguous, "SuspiciousHeader"},
	{"\\rTransfer-Encoding: chunked", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\n\rTransfer-Encoding:  chunked\r\nContent-Length:  4\r\n\r\n", Severe, "BadHeader"},
	{"\\rTransfer-Encoding: chunked without CL", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\n\rTransfer-Encoding:  chunked\r\n\r\n", Severe, "BadHeader"},
	{"\\rContent-Length without TE", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\n\rContent-Length:  1000\r\nContent-Length:  100\r\n\r\n", Severe, "BadHeader"},
	{"Transfer-Encoding: chunk", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  chunk\r\nContent-Length:  4\r\n\r\n", Severe, "BadTransferEncoding"},
	{"Transfer-Encoding: identity and Content-Length", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  deflate\r\nContent-Length:  4\r\n\r\n", Ambiguous, "BothTeClPresent"},
	{"Transfer-Encoding: xchunked", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  xchunked\r\nContent-Length:  4\r\n\r\n", Severe, "BadTransferEncoding"},
	{"Multiple transfer encoding headers in a single request", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  gzip\r\nTransfer-Encoding:  deflate\r\nTransfer-Encoding:  identity\r\nTransfer-Encoding:  compress\r\nTransfer-Encoding:  chunked\r\nContent-Length:  4\r\n\r\n", Ambiguous, "BothTeClPresent"},
	{"Mixed case", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  \t\t\t\tchunked;custom_param;\t\t\t\t\r\nContent-Length:  4\r\n\r\n", Ambiguous, "BothTeClPresent"},
	{"Invalid Transfer-Encoding", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  chunked,chunked\r\nContent-Length:  4\r\n\r\n", Severe, "MultipleTransferEncodingChunked"},
	{"Chunks Priority on Content-Length.1", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTrAnSfEr-EnCoDiNg:  ChUnKeD\r\nContent-Length:  4\r\n\r\n", Ambiguous, "BothTeClPresent"},
	{"Chunks Priority on Content-Length.2", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  chunked\r\nTransfer-Encoding:  cow\r\nContent-Length:  6\r\n\r\n", Severe, "BadTransferEncoding"},
	{"\\x00Transfer-Encoding: chunked", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nContent-Length:  6\r\n\x00Transfer-Encoding:  chunked\r\n\r\n", Severe, "BadHeader"},
	{"Transfer-Encoding: \\x00chunked", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTransfer-Encoding:  \x00chunked\r\nContent-Length:  6\r\n\r\n", Severe, "BadHeader"},
	{"Send small (1614 bytes) request, transfer encoded request", "POST /test.html HTTP/1.1\r\nUser-Agent:  Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0\r\nAccept:  text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language:  en-US,en;q=0.5\r\nAccept-Encoding:  gzip, deflate\r\nContent-Type:  application/x-www-form-urlencoded\r\nConnection:  keep-alive\r\nUpgrade-Insecure-Requests:  1\r\nTrAnSfEr-EnCoDiNg:  ChUnKeD\r\nContent-Length:  6\r\n\r\n", Ambiguous, "BothTeClPresent"},
}

func TestGuardianCases(t *testing.T) {
	for _, c := range guardianCases {
		t.Run(c.name, func(t *testing.T) {
			v := ClassifyHead(c.head)
			if v.Class != c.class || v.GuardianReason != c.rule {
				t.Fatalf("ClassifyHead(%q) = %v %q, want %v %q", c.head, v.Class, v.GuardianReason, c.class, c.rule)
			}
			checkReason(t, v)
		})
	}
}
