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

// FuzzFastMatchesSlow: ClassifyHead, fast path and all, gives every input
// the verdict of the classifier as it was before the fast path
// (classifySlow, oracle_test.go).
func FuzzFastMatchesSlow(f *testing.F) {
	for _, c := range guardianCases {
		f.Add(c.head)
	}
	for _, h := range fastSeeds {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, head string) {
		if got, want := ClassifyHead(head), classifySlow(head); got != want {
			t.Fatalf("ClassifyHead(%q) = %+v, classifySlow says %+v", head, got, want)
		}
	})
}

// fastSeeds are heads at the edges of the fast path: each differs from a
// plainly compliant head in one place.
var fastSeeds = []string{
	wrkGET, browserGET, postCL,
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.2\r\n\r\n",
	"GET / HTTP/1.1\r\n\r",
	"GET / HTTP/1.1\r\n",
	"GET / HTTP/1.1\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\n\n",
	"GET / HTTP/1.1\r\nHost: a\r\n",
	"GET / HTTP/1.1\r\nHost: a",
	"GET /a b HTTP/1.1\r\n\r\n",
	"GET  HTTP/1.1\r\n\r\n",
	" / HTTP/1.1\r\n\r\n",
	"GET /\x7f HTTP/1.1\r\n\r\n",
	"GET /\x80 HTTP/1.1\r\nX: \x80\xff\r\n\r\n",
	"GET / HTTP/1.1\r\nX: a\tb\x7fc\r\n\r\n",
	"GET / HTTP/1.1\r\nX: 0123456789abcdef\x00ghijklmnop\r\n\r\n",
	"GET / HTTP/1.1\r\nX : a\r\n\r\n",
	"GET / HTTP/1.1\r\n X: a\r\n\r\n",
	"GET / HTTP/1.1\r\n: a\r\n\r\n",
	"GET / HTTP/1.1\r\nX\r\n\r\n",
	"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
	"get / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
	"HEAD / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length:  5 \t\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n",
	"POST / HTTP/1.0\r\nContent_Length: 5\r\n\r\n",
	"POST / HTTP/1.1\r\ncontent-lengthX: 5\r\n\r\n",
	"POST / HTTP/1.1\r\ncontent-length__: 5\r\n\r\n",
	"POST / HTTP/1.1\r\nconten________: 5\r\n\r\n",
	"POST / HTTP/1.1\r\n_content-length: 5\r\n\r\n",
	"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST / HTTP/1.1\r\ntransfer.encoding: chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Security-Policy: x\r\n\r\n",
}

// TestFastPathTaken: the common heads take the fast path, so the benchmarks
// measure it, and the heads it must not pass go to the full analysis.
func TestFastPathTaken(t *testing.T) {
	for _, h := range []string{wrkGET, browserGET, postCL,
		"GET / HTTP/1.0\r\nX: a\tb \x80\r\n\r\ntrailing bytes",
		"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length:  5 \t\r\n\r\n",
	} {
		if !plainlyCompliant(h) {
			t.Errorf("fast path does not pass %q", h)
		}
	}
	for _, h := range fastSeeds[3:] {
		if plainlyCompliant(h) && classifySlow(h).Class != Compliant {
			t.Errorf("fast path passes %q, which is %v", h, classifySlow(h))
		}
	}
}

// TestCharFlags: the lookup tables hold the old predicates' classes.
func TestCharFlags(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		if isTchar(b) != slowIsTchar(b) || isBad(b) != slowIsBad(b) ||
			isValueChar(b) != slowIsValueChar(b) || isURIChar(b) != slowIsURIChar(b) {
			t.Errorf("byte %#x classed differently", b)
		}
	}
}

// TestFastMatchesSlowOneByte: every head one byte away from a seed (each
// byte replaced by each of the 256 values, or deleted) gets the oracle's
// verdict. Where the fuzzer samples, this covers every single change at the
// fast path's edges on every run.
func TestFastMatchesSlowOneByte(t *testing.T) {
	buf := make([]byte, 0, len(browserGET))
	for _, seed := range fastSeeds {
		for i := range len(seed) {
			for b := range 256 {
				buf = append(append(append(buf[:0], seed[:i]...), byte(b)), seed[i+1:]...)
				h := string(buf)
				if got, want := ClassifyHead(h), classifySlow(h); got != want {
					t.Fatalf("ClassifyHead(%q) = %+v, classifySlow says %+v", h, got, want)
				}
			}
			h := seed[:i] + seed[i+1:]
			if got, want := ClassifyHead(h), classifySlow(h); got != want {
				t.Fatalf("ClassifyHead(%q) = %+v, classifySlow says %+v", h, got, want)
			}
		}
	}
}
