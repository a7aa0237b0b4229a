package desync

import (
	"strings"
	"testing"
)

// albReasons is the table "Classification reasons" of
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html:
// every code the ALB writes in classification_reason, with the class the
// page gives it.
var albReasons = map[string]Class{
	"AmbiguousUri":                       Ambiguous,
	"BadContentLength":                   Severe,
	"BadHeader":                          Severe,
	"BadTransferEncoding":                Severe,
	"BadUri":                             Severe,
	"BadMethod":                          Severe,
	"BadVersion":                         Severe,
	"BothTeClPresent":                    Ambiguous,
	"DuplicateContentLength":             Ambiguous,
	"EmptyHeader":                        Ambiguous,
	"GetHeadZeroContentLength":           Acceptable,
	"MultipleContentLength":              Severe,
	"MultipleTransferEncodingChunked":    Severe,
	"NonCompliantHeader":                 Acceptable,
	"NonCompliantVersion":                Acceptable,
	"SpaceInUri":                         Acceptable,
	"SuspiciousHeader":                   Ambiguous,
	"UndefinedContentLengthSemantics":    Ambiguous,
	"UndefinedTransferEncodingSemantics": Ambiguous,
}

// checkReason: a verdict's Reason is one of the page's codes, of the
// verdict's class; empty only when Compliant.
func checkReason(t *testing.T, v Verdict) {
	t.Helper()
	if v.Class == Compliant {
		if v.Reason != "" || v.GuardianReason != "" {
			t.Fatalf("compliant verdict with reason %q (%q)", v.Reason, v.GuardianReason)
		}
		return
	}
	c, ok := albReasons[v.Reason]
	if !ok {
		t.Fatalf("reason %q (library %q) is not an ALB classification_reason", v.Reason, v.GuardianReason)
	}
	if c != v.Class {
		t.Fatalf("reason %q is %v on the ALB page, verdict says %v", v.Reason, c, v.Class)
	}
}

const browserGET = "GET /index.html?q=1 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=abc123; theme=dark\r\n" +
	"Upgrade-Insecure-Requests: 1\r\n" +
	"Sec-Fetch-Dest: document\r\n" +
	"Sec-Fetch-Mode: navigate\r\n" +
	"Sec-Fetch-Site: none\r\n" +
	"Sec-Fetch-User: ?1\r\n" +
	"Priority: u=0, i\r\n\r\n"

// wrkGET is what wrk sends by default.
const wrkGET = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"

const postCL = "POST /api/items HTTP/1.1\r\n" +
	"Host: api.example.com\r\n" +
	"User-Agent: curl/8.5.0\r\n" +
	"Accept: */*\r\n" +
	"Content-Type: application/json\r\n" +
	"Content-Length: 27\r\n\r\n"

// TestClassifyHead covers every ALB reason, the library's raw-parsing
// reasons and how they map, and the cases the task names.
func TestClassifyHead(t *testing.T) {
	const post = "POST /foo HTTP/1.1\r\nHost: a\r\n"
	cases := []struct {
		name   string
		head   string
		class  Class
		reason string // ALB code
		rule   string // library reason, when it differs from reason
	}{
		{"browser GET", browserGET, Compliant, "", ""},
		{"POST with Content-Length", postCL, Compliant, "", ""},
		{"chunked POST", post + "Transfer-Encoding: chunked\r\n\r\n", Compliant, "", ""},
		{"HTTP/1.0 with Content-Length", "POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n", Compliant, "", ""},
		{"body after the head is ignored", post + "Content-Length: 5\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n", Compliant, "", ""},
		{"obs-fold under Content-Type is allowed", post + "Content-Type: text/plain;\r\n charset=utf-8\r\n\r\n", Compliant, "", ""},

		// Acceptable
		{"NonCompliantHeader: control byte in a value", post + "X-A: b\x01c\r\n\r\n", Acceptable, "NonCompliantHeader", ""},
		{"NonCompliantHeader: space in a name", post + "X A: b\r\n\r\n", Acceptable, "NonCompliantHeader", ""},
		{"SpaceInUri", "GET /a b HTTP/1.1\r\n\r\n", Acceptable, "SpaceInUri", ""},
		{"NonCompliantVersion: HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", Acceptable, "NonCompliantVersion", ""},
		{"NonCompliantVersion: HTTP/0.9 (no version)", "GET /\r\n\r\n", Acceptable, "NonCompliantVersion", ""},
		{"NonCompliantVersion: padded version", "GET / HTTP/1.1 \r\n\r\n", Acceptable, "NonCompliantVersion", ""},
		{"GetHeadZeroContentLength: GET", "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", Acceptable, "GetHeadZeroContentLength", ""},
		{"GetHeadZeroContentLength: HEAD", "HEAD / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", Acceptable, "GetHeadZeroContentLength", ""},
		{"bare LF after the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", Acceptable, "NonCompliantVersion", "NonCrLfLineTermination"},
		{"bare LF after a header line", "GET / HTTP/1.1\r\nHost: a\n\r\n", Acceptable, "NonCompliantHeader", "NonCrLfLineTermination"},

		// Ambiguous
		{"EmptyHeader", post + ": x\r\n\r\n", Ambiguous, "EmptyHeader", ""},
		{"AmbiguousUri: control byte", "GET /a\x01b HTTP/1.1\r\n\r\n", Ambiguous, "AmbiguousUri", ""},
		{"AmbiguousUri: DEL", "GET /a\x7f HTTP/1.1\r\n\r\n", Ambiguous, "AmbiguousUri", ""},
		{"UndefinedContentLengthSemantics: GET with a body", "GET / HTTP/1.1\r\nContent-Length: 10\r\n\r\n", Ambiguous, "UndefinedContentLengthSemantics", ""},
		{"UndefinedContentLengthSemantics: HTTP/0.9", "POST /x\r\nContent-Length: 10\r\n\r\n", Ambiguous, "UndefinedContentLengthSemantics", ""},
		{"UndefinedTransferEncodingSemantics: GET", "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", Ambiguous, "UndefinedTransferEncodingSemantics", ""},
		{"UndefinedTransferEncodingSemantics: TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Ambiguous, "UndefinedTransferEncodingSemantics", ""},
		{"DuplicateContentLength", post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", Ambiguous, "DuplicateContentLength", ""},
		{"BothTeClPresent: the classic smuggling head", post + "Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n", Ambiguous, "BothTeClPresent", ""},
		{"BothTeClPresent: TE first", post + "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n", Ambiguous, "BothTeClPresent", ""},
		{"SuspiciousHeader: space before the colon", post + "Transfer-Encoding : chunked\r\n\r\n", Ambiguous, "SuspiciousHeader", ""},
		{"SuspiciousHeader: underscore", post + "Content_Length: 5\r\n\r\n", Ambiguous, "SuspiciousHeader", ""},
		{"SuspiciousHeader: dotless i", post + "Transfer-Encod\xc4\xb1ng: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader", ""},
		{"SuspiciousHeader: leading control byte", post + "\x01Transfer-Encoding: chunked\r\n\r\n", Ambiguous, "SuspiciousHeader", ""},
		{"obs-fold", post + "X-A: b\r\n c\r\n\r\n", Ambiguous, "EmptyHeader", "MultilineHeader"},
		{"obs-fold hiding a Content-Length", post + "X-A: b\r\n Content-Length: 5\r\n\r\n", Ambiguous, "EmptyHeader", "MultilineHeader"},
		{"header line without a colon", post + "X-A b\r\n\r\n", Ambiguous, "EmptyHeader", "MissingHeaderColon"},
		{"head without its empty line", post + "X-A: b\r\n", Ambiguous, "EmptyHeader", "MissingLastEmptyLine"},
		{"head cut inside a line", post + "X-A: b", Ambiguous, "EmptyHeader", "PartialHeaderLine"},
		{"no URI", "GET HTTP/1.1\r\n\r\n", Ambiguous, "AmbiguousUri", "MissingUri"},
		{"empty head", "", Ambiguous, "AmbiguousUri", "MissingUri"},

		// Severe
		{"BadHeader: NUL in a value", post + "X-A: b\x00c\r\n\r\n", Severe, "BadHeader", ""},
		{"BadHeader: bare CR in a value", post + "X-A: b\rContent-Length: 5\r\n\r\n", Severe, "BadHeader", ""},
		{"BadHeader: CR starts a line", "GET / HTTP/1.1\r\n\rContent-Length: 10\r\n\r\n", Severe, "BadHeader", ""},
		{"BadUri: NUL", "GET /a\x00 HTTP/1.1\r\n\r\n", Severe, "BadUri", ""},
		{"BadUri: bare CR", "GET /a\rb HTTP/1.1\r\n\r\n", Severe, "BadUri", ""},
		{"BadMethod", "G(T / HTTP/1.1\r\n\r\n", Severe, "BadMethod", ""},
		{"BadVersion", "GET / HTTP/1.x\r\n\r\n", Severe, "BadVersion", ""},
		{"BadVersion: lower case", "GET / http/1.1\r\n\r\n", Severe, "BadVersion", ""},
		{"BadContentLength: not a number", post + "Content-Length: 1e3\r\n\r\n", Severe, "BadContentLength", ""},
		{"BadContentLength: a list", post + "Content-Length: 5, 5\r\n\r\n", Severe, "BadContentLength", ""},
		{"BadContentLength: past 2^64-1", post + "Content-Length: 18446744073709551616\r\n\r\n", Severe, "BadContentLength", ""},
		{"MultipleContentLength", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", Severe, "MultipleContentLength", ""},
		{"MultipleTransferEncodingChunked: two fields", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", Severe, "MultipleTransferEncodingChunked", ""},
		{"MultipleTransferEncodingChunked: one list", post + "Transfer-Encoding: chunked, chunked\r\n\r\n", Severe, "MultipleTransferEncodingChunked", ""},
		{"BadTransferEncoding: unknown coding", post + "Transfer-Encoding: xchunked\r\n\r\n", Severe, "BadTransferEncoding", ""},
		{"BadTransferEncoding: empty", post + "Transfer-Encoding:\r\n\r\n", Severe, "BadTransferEncoding", ""},
		{"BadTransferEncoding wins over BothTeClPresent", post + "Content-Length: 40\r\nTransfer-Encoding: xchunked\r\n\r\n", Severe, "BadTransferEncoding", ""},

		// Departures from the library (see ClassifyHead).
		{"HTTP/2 version on an HTTP/1 head", "GET / HTTP/2.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", Severe, "BadVersion", ""},
		{"obs-fold under Content-Type hiding Transfer-Encoding", post + "Content-Type: text/plain\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", Ambiguous, "EmptyHeader", "MultilineHeader"},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := ClassifyHead(c.head)
			rule := c.rule
			if rule == "" {
				rule = c.reason
			}
			if v.Class != c.class || v.Reason != c.reason || v.GuardianReason != rule {
				t.Fatalf("ClassifyHead(%q) = %+v, want %v %q (%q)", c.head, v, c.class, c.reason, rule)
			}
			checkReason(t, v)
		})
		seen[c.reason] = true
	}
	for r := range albReasons {
		if !seen[r] {
			t.Errorf("no case for ALB reason %s", r)
		}
	}
}

// TestRuleNames: every rule maps to a code of the ALB page, of the class the
// library gives the rule.
func TestRuleNames(t *testing.T) {
	for r := ruleCompliant + 1; r < ruleCount; r++ {
		names := ruleNames[r]
		if names[0] == "" || names[1] == "" {
			t.Fatalf("rule %d has no names", r)
		}
		if _, ok := albReasons[names[0]]; !ok {
			t.Errorf("rule %s maps to %q, not an ALB code", names[1], names[0])
		}
	}
}

func TestModeAction(t *testing.T) {
	want := map[Mode][4]Action{
		Monitor:   {Forward, Forward, ForwardAndClose, ForwardAndClose},
		Defensive: {Forward, Forward, ForwardAndClose, Block},
		Strictest: {Forward, Block, Block, Block},
	}
	for m, acts := range want {
		for c := Compliant; c <= Severe; c++ {
			if got := m.Action(c); got != acts[c] {
				t.Errorf("%v.Action(%v) = %v, want %v", m, c, got, acts[c])
			}
		}
	}
	var zero Mode
	if zero != Defensive {
		t.Fatalf("zero Mode is %v, want defensive (the ALB default)", zero)
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{Monitor, Defensive, Strictest} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Fatalf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	for _, s := range []string{"", "Defensive", "strict", "off"} {
		_, err := ParseMode(s)
		if err == nil {
			t.Fatalf("ParseMode(%q) accepted", s)
		}
		msg := err.Error()
		if !strings.Contains(msg, `"`+s+`"`) || !strings.Contains(msg, "monitor, defensive, strictest") {
			t.Fatalf("ParseMode(%q) error %q does not name the value and the allowed ones", s, msg)
		}
	}
}

func TestLogFields(t *testing.T) {
	c, r := ClassifyHead(browserGET).LogFields()
	if c != "-" || r != "-" {
		t.Fatalf("compliant request logs %q %q, want - -", c, r)
	}
	c, r = ClassifyHead("POST / HTTP/1.1\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n").LogFields()
	if c != "Ambiguous" || r != "BothTeClPresent" {
		t.Fatalf("smuggling head logs %q %q, want Ambiguous BothTeClPresent", c, r)
	}
	c, r = ClassifyHead("GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n").LogFields()
	if c != "Ambiguous" || r != "EmptyHeader" {
		t.Fatalf("folded head logs %q %q, want Ambiguous EmptyHeader", c, r)
	}
}

// TestClassifyHeadAllocs: classifying allocates nothing, whatever the
// verdict.
func TestClassifyHeadAllocs(t *testing.T) {
	for _, h := range []string{browserGET, postCL, "POST / HTTP/1.1\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n"} {
		if n := testing.AllocsPerRun(100, func() { ClassifyHead(h) }); n != 0 {
			t.Errorf("ClassifyHead(%q) allocates %v times", h[:20], n)
		}
	}
}

func BenchmarkClassifyHead(b *testing.B) {
	for _, bc := range []struct{ name, head string }{
		{"WrkGET", wrkGET},
		{"BrowserGET", browserGET},
		{"PostContentLength", postCL},
		{"Smuggling", "POST / HTTP/1.1\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.head)))
			for b.Loop() {
				ClassifyHead(bc.head)
			}
		})
		// The classifier before the fast path, in the same run, so that
		// the two compare on a noisy machine.
		b.Run(bc.name+"/slow", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.head)))
			for b.Loop() {
				classifySlow(bc.head)
			}
		})
	}
}
