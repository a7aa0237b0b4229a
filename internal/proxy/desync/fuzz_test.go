package desync

import (
	"strings"
	"testing"
)

// hasCLAndTE is the fuzzer's oracle, written apart from the classifier: does
// any line of the head, before the empty line that ends it, hold a
// Content-Length field, and any a Transfer-Encoding field? A field here is
// whatever a lenient parser could take for one: its name is the text before
// the first colon, compared without case and without the blanks around it
// (SP, HTAB, VT, FF, CR, LF), and a bare CR is taken for a line break too.
func hasCLAndTE(head string) bool {
	var cl, te bool
	for i, line := range strings.Split(head, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if i > 0 && line == "" {
			break
		}
		for j, part := range strings.Split(line, "\r") {
			if i == 0 && j == 0 {
				continue // the request line
			}
			name, _, ok := strings.Cut(part, ":")
			if !ok {
				continue
			}
			name = strings.ToLower(strings.Trim(name, " \t\v\f\r\n"))
			cl = cl || name == "content-length"
			te = te || name == "transfer-encoding"
		}
	}
	return cl && te
}

func TestHasCLAndTE(t *testing.T) {
	for head, want := range map[string]bool{
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n":       true,
		"POST / HTTP/1.1\r\nCONTENT-LENGTH: 1\r\n\ttransfer-encoding : chunked\r\n\r\n":    true,
		"POST / HTTP/1.1\r\nX: a\rContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n": true,
		"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nTransfer-Encoding: chunked\r\n\r\n":   false,
		"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n":                                     false,
	} {
		if got := hasCLAndTE(head); got != want {
			t.Errorf("hasCLAndTE(%q) = %v", head, got)
		}
	}
}

// FuzzClassifyHead: no input panics, every verdict's reason is an ALB code
// of its class, and a head with both a Content-Length and a
// Transfer-Encoding field is never Compliant or Acceptable, so no mode
// forwards it over a connection that stays open.
func FuzzClassifyHead(f *testing.F) {
	for _, c := range guardianCases {
		f.Add(c.head)
	}
	f.Add(browserGET)
	f.Add(postCL)
	f.Add("POST / HTTP/1.1\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n")
	f.Add("POST / HTTP/1.1\r\nContent-Type: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n")
	f.Add("GET / HTTP/2\r\nContent-Length: 5\r\ntransfer-encoding: chunked\r\n\r\n")
	f.Fuzz(func(t *testing.T, head string) {
		v := ClassifyHead(head)
		checkReason(t, v)
		if hasCLAndTE(head) && v.Class < Ambiguous {
			t.Fatalf("head with Content-Length and Transfer-Encoding is %v: %q", v.Class, head)
		}
		for _, m := range []Mode{Monitor, Defensive, Strictest} {
			if hasCLAndTE(head) && m.Action(v.Class) == Forward {
				t.Fatalf("%v forwards a head with Content-Length and Transfer-Encoding over an open connection: %q", m, head)
			}
		}
	})
}
