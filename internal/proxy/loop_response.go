package proxy

import (
	"net/http"
	"strconv"
	"time"

	"github.com/elbow-lb/elbow/internal/proxy/httpbytes"
	"github.com/elbow-lb/elbow/internal/proxy/upstream"
)

// response is the loop's http.ResponseWriter: the status line and header
// go out at the first Write or Flush, or at the end; the body is framed as
// net/http frames it (its Content-Length, else chunked to HTTP/1.1 clients,
// else until close), so that clients see what they saw from net/http.
// scratch lends the connection's trace-id buffer (scratchWriter).
func (w *response) scratch() []byte { return w.c.traceBuf[:0] }

// waitFor and waitDone mark the request waiting for its target, for the
// loop's sweeper of gone clients (waitWatcher).
// The tag is the connection's exchange, which its sweeper aborts.
func (w *response) waitFor(ex *exchange) any { w.c.waiting.Store(ex.start.UnixNano()); return ex }
func (w *response) waitDone()                { w.c.waiting.Store(0) }

func (w *response) reset(r *http.Request) {
	if len(w.header) > 0 {
		clear(w.header)
	}
	clear(w.fields)
	w.fields = w.fields[:0]
	w.req = r
	w.status, w.committed, w.chunked, w.noBody = 0, false, false, false
	w.contentLength, w.written, w.closeAfter = -1, 0, r.Close
}

func (w *response) Header() http.Header { return w.header }

// WriteHeader records the status. 1xx interim responses are not relayed
// (package upstream skips them, and nothing else on the loop's path sends
// one).
func (w *response) WriteHeader(code int) {
	if w.status != 0 || code < 200 || code > 999 {
		return
	}
	w.status = code
}

// WriteHead is WriteHeader with a target's header fields, kept (copied:
// their bytes are the target connection's, read again for the body, and
// the connection goes back to its pool before the response ends) until the
// header is written.
func (w *response) WriteHead(code int, fields []upstream.Field) {
	if w.status != 0 || code < 200 || code > 999 {
		return
	}
	w.status = code
	w.fields, w.fieldBytes = upstream.CopyFields(w.fields[:0], w.fieldBytes, fields)
}

func (w *response) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !w.committed {
		w.commit(p, false)
	}
	if w.noBody {
		if w.req.Method == http.MethodHead {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	bw := w.c.bw
	if w.chunked {
		if len(p) == 0 {
			return 0, nil
		}
		_, _ = bw.Write(strconv.AppendInt(w.num[:0], int64(len(p)), 16))
		_, _ = bw.WriteString("\r\n")
		n, err := bw.Write(p)
		_, _ = bw.WriteString("\r\n")
		w.written += int64(n)
		return n, err
	}
	if w.contentLength >= 0 && w.written+int64(len(p)) > w.contentLength {
		n, _ := bw.Write(p[:w.contentLength-w.written])
		w.written += int64(n)
		return n, http.ErrContentLength
	}
	n, err := bw.Write(p)
	w.written += int64(n)
	return n, err
}

// Flush sends what is buffered: streamed responses reach the client at once.
func (w *response) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !w.committed {
		w.commit(nil, false)
	}
	_ = w.c.bw.Flush()
}

// finish ends the response; false when the connection is to be closed (or
// is broken).
func (w *response) finish() bool {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !w.committed {
		w.commit(nil, true)
	}
	bw := w.c.bw
	if w.chunked {
		_, _ = bw.WriteString("0\r\n\r\n")
	}
	if w.contentLength >= 0 && w.written < w.contentLength && !w.noBody {
		// The body fell short of its length: the client can only tell by
		// the connection closing.
		w.closeAfter = true
	}
	if w.closeAfter {
		_ = bw.Flush()
		return false
	}
	// Pipelined requests already read get their responses in one write;
	// the loop flushes before it waits for more.
	if w.c.r == w.c.w {
		return bw.Flush() == nil
	}
	return true
}

// commit writes the status line and header. first is the start of the
// body (for Content-Type sniffing); done reports that the handler has
// returned without writing a body.
func (w *response) commit(first []byte, done bool) {
	w.committed = true
	h := w.header
	code := w.status
	bodyAllowed := code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
	isHead := w.req.Method == http.MethodHead
	w.noBody = !bodyAllowed || isHead
	var cl []string
	var hasType, hasDate, hasEncoding bool
	if len(h) > 0 { // a relayed response's header is all in fields
		cl = h["Content-Length"]
		_, hasType = h["Content-Type"]
		_, hasDate = h["Date"]
		hasEncoding = len(h["Content-Encoding"]) > 0
	}
	for _, f := range w.fields {
		switch f.Name {
		case "Content-Length":
			cl = append(cl, f.Value)
		case "Content-Type":
			hasType = true
		case "Date":
			hasDate = true
		case "Content-Encoding":
			hasEncoding = true
		}
	}
	if len(cl) == 1 {
		if n, err := strconv.ParseInt(cl[0], 10, 64); err == nil && n >= 0 {
			w.contentLength = n
		}
	}
	if len(h) > 0 {
		if v := h["Connection"]; len(v) > 0 && httpbytes.Listed(v, "close") {
			w.closeAfter = true
		}
	}
	sniffed := ""
	if !hasType && bodyAllowed && len(first) > 0 && !hasEncoding {
		sniffed = http.DetectContentType(first)
	}
	zeroLength := false
	switch {
	case w.noBody:
	case w.contentLength >= 0:
	case done:
		// Nothing was written: say so, and keep the connection.
		w.contentLength = 0
		zeroLength = true
	case w.req.ProtoMinor >= 1:
		w.chunked = true
	default:
		w.closeAfter = true // HTTP/1.0: the body runs until close
	}
	if w.c.l.loop.closing.Load() {
		w.closeAfter = true
	}

	// Appended in the writer's free space and written once (see
	// upstream's writeRequest).
	bw := w.c.bw
	b := bw.AvailableBuffer()
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if text := http.StatusText(code); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	b = append(b, "\r\n"...)
	if len(h) > 0 {
		for name, values := range h {
			for _, v := range values {
				b = appendField(b, name, v)
			}
		}
	}
	for _, f := range w.fields {
		// Checked by package upstream's reader (see HeadWriter).
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	if sniffed != "" {
		b = appendField(b, "Content-Type", sniffed)
	}
	if zeroLength {
		b = append(b, "Content-Length: 0\r\n"...)
	}
	if !hasDate {
		b = append(b, "Date: "...)
		b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
		b = append(b, "\r\n"...)
	}
	if w.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	if w.closeAfter {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	_, _ = bw.Write(b)
}

// appendField appends one header line, unless the loop frames the
// response itself with that field or the name could split the response.
// CR and LF in the value become spaces, as net/http does, so that no value
// can end the header early.
func appendField(b []byte, name, value string) []byte {
	switch name {
	case "Connection", "Transfer-Encoding":
		return b
	}
	if !httpbytes.ValidToken(name) {
		return b // as net/http: never a header that could split the response
	}
	b = append(b, name...)
	b = append(b, ": "...)
	start := len(b)
	b = append(b, value...)
	for i := start; i < len(b); i++ {
		if b[i] == '\r' || b[i] == '\n' {
			b[i] = ' '
		}
	}
	return append(b, "\r\n"...)
}
