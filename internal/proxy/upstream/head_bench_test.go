package upstream

import (
	"bufio"
	"strings"
	"testing"
)

// loopReader serves the same bytes for ever.
type loopReader struct {
	s string
	i int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.s[r.i:])
		n += k
		r.i = (r.i + k) % len(r.s)
	}
	return n, nil
}

// BenchmarkReadHeader: reading and checking a target's response head, as
// Go's net/http server writes it (the common target), body skipped.
func BenchmarkReadHeader(b *testing.B) {
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Tue, 24 Nov 2026 14:00:00 GMT\r\n\r\n" + strings.Repeat("x", 100)
	cn := &conn{br: bufio.NewReaderSize(&loopReader{s: resp}, 8<<10)}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := cn.readHeader("GET"); err != nil {
			b.Fatal(err)
		}
		_, _ = cn.br.Discard(100)
	}
}
