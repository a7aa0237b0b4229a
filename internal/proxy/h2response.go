package proxy

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/elbow-lb/elbow/internal/proxy/upstream"
)

// The response side of an HTTP/2 stream: h2Stream as the handler's
// http.ResponseWriter (and upstream.HeadWriter, http.Flusher, the
// deadlines http.ResponseController sets), writing HEADERS and DATA
// frames within the client's flow-control windows (RFC 9113 section 5.2).

// hasClose reports whether the handler asked for the connection to close
// (a refusal): over HTTP/2 that is a GOAWAY.
func hasClose(h http.Header) bool {
	for _, v := range h["Connection"] {
		if strings.EqualFold(v, "close") {
			return true
		}
	}
	return false
}

func (st *h2Stream) Header() http.Header { return st.header }

func (st *h2Stream) WriteHeader(code int) {
	if st.status != 0 {
		return
	}
	if code >= 100 && code < 200 {
		if code == http.StatusSwitchingProtocols {
			return // no such thing in HTTP/2 (RFC 9113 section 8.6)
		}
		st.c.wmu.Lock()
		if st.sendFieldsLocked(code, st.header, nil, false) == nil {
			_ = st.c.flushLocked()
		}
		st.c.wmu.Unlock()
		return
	}
	st.status = code
}

func (st *h2Stream) Write(p []byte) (int, error) {
	if st.status == 0 {
		st.status = http.StatusOK
	}
	if st.head || st.ended {
		return len(p), nil
	}
	n := len(p)
	for len(p) > 0 {
		if st.pooled == nil {
			st.pooled = h2Pends.Get().(*[h2PendSize]byte)
			st.pend = st.pooled[:0]
		}
		k := copy(st.pend[len(st.pend):cap(st.pend)], p)
		st.pend = st.pend[:len(st.pend)+k]
		p = p[k:]
		if len(st.pend) == cap(st.pend) {
			if err := st.writeData(st.pend, false); err != nil {
				return n - len(p), err
			}
			st.pend = st.pend[:0]
		}
	}
	return n, nil
}

// WriteHead takes a target's status and header fields (upstream.HeadWriter):
// they are encoded at once, without a header map. A response that cannot
// have a body ends with its HEADERS frame.
func (st *h2Stream) WriteHead(code int, fields []upstream.Field) {
	if st.status != 0 || code < 200 || code > 999 {
		return
	}
	st.status = code
	end := st.head || code == http.StatusNoContent || code == http.StatusNotModified
	for _, f := range fields {
		if len(f.Name) == len("content-length") && strings.EqualFold(f.Name, "content-length") && f.Value == "0" {
			end = true
		}
	}
	c := st.c
	c.wmu.Lock()
	if st.sendFieldsLocked(code, st.header, fields, end) == errStreamClosed {
		end = true // nothing more goes out on it
	}
	st.headersSent, st.ended, st.sentKeys = true, end, len(st.header)
	c.wmu.Unlock()
}

// scratch lends the trace id's buffer (scratchWriter).
func (st *h2Stream) scratch() []byte { return st.traceBuf[:0] }

// Flush sends what the handler wrote so far (streamed responses).
func (st *h2Stream) Flush() {
	if st.status == 0 {
		st.status = http.StatusOK
	}
	if st.writeData(st.pend, false) == nil {
		st.pend = st.pend[:0]
		st.c.wmu.Lock()
		_ = st.c.flushLocked()
		st.c.wmu.Unlock()
	}
}

// SetReadDeadline bounds each wait for the request body (the idle
// timeout, through http.ResponseController).
func (st *h2Stream) SetReadDeadline(t time.Time) error {
	st.c.mu.Lock()
	st.readBy = t
	st.c.mu.Unlock()
	return nil
}

// SetWriteDeadline bounds each wait for the client's window.
func (st *h2Stream) SetWriteDeadline(t time.Time) error {
	st.c.mu.Lock()
	st.writeBy = t
	st.c.mu.Unlock()
	return nil
}

// writeData sends the header when not yet sent, then p as DATA frames
// within the client's windows and frame size; end sets END_STREAM on the
// last (on the HEADERS frame when there is no body).
func (st *h2Stream) writeData(p []byte, end bool) error {
	c := st.c
	if !st.headersSent {
		c.wmu.Lock()
		st.headersSent = true // under wmu: see h2Body.Read
		st.sentKeys = len(st.header)
		err := st.sendFieldsLocked(st.status, st.header, nil, end && len(p) == 0)
		c.wmu.Unlock()
		if err != nil || len(p) == 0 {
			return err
		}
	} else if len(p) == 0 && !end {
		return nil
	}
	for first := true; len(p) > 0 || first && end; first = false {
		c.mu.Lock()
		for len(p) > 0 && !st.reset && (c.sendWindow <= 0 || st.sendWindow <= 0) {
			// The client must see what is buffered to grant more.
			c.mu.Unlock()
			c.wmu.Lock()
			_ = c.flushLocked()
			c.wmu.Unlock()
			c.mu.Lock()
			if st.reset || c.sendWindow > 0 && st.sendWindow > 0 {
				break
			}
			if !c.wait(st.writeBy) {
				st.resetLocked(http2.ErrCodeCancel)
			}
		}
		if st.reset {
			c.mu.Unlock()
			return errStreamClosed
		}
		n := int64(len(p))
		n = min(n, c.sendWindow, st.sendWindow, int64(c.maxFrame))
		c.sendWindow -= n
		st.sendWindow -= n
		c.mu.Unlock()
		c.wmu.Lock()
		err := c.fr.WriteData(st.id, end && n == int64(len(p)), p[:n])
		if err == nil {
			err = c.werr
		}
		c.wmu.Unlock()
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// sendFieldsLocked sends the stream's header (or trailer) block unless
// the stream was reset: once it is, by the client or by the reader (a
// malformed body, RFC 9113 section 8.1.1), no frame but that reset may go
// out on it. A handler that had its body cut off by the reset must not
// answer on the stream (it did: a 460 raced the reader's RST_STREAM
// PROTOCOL_ERROR). The check is made under wmu, before the block is
// encoded, so the hpack state stays the client's; a reset after it sends
// its RST_STREAM after this block. wmu is held.
func (st *h2Stream) sendFieldsLocked(status int, h http.Header, fields []upstream.Field, end bool) error {
	c := st.c
	c.mu.Lock()
	gone := st.reset
	c.mu.Unlock()
	if gone {
		return errStreamClosed
	}
	c.writeFieldsLocked(st.id, status, h, fields, end)
	return c.werr
}

// writeHeadersLocked sends a response header block (HEADERS, and
// CONTINUATION frames past the client's frame size); wmu is held.
func (c *h2Conn) writeHeadersLocked(id uint32, status int, h http.Header, end bool) {
	c.writeFieldsLocked(id, status, h, nil, end)
}

// writeFieldsLocked is writeHeadersLocked with a target's fields besides
// the header map. Their values are the target connection's bytes, valid
// during the call only: they go out never indexed (RFC 7541 section
// 6.2.3), so that hpack's dynamic table keeps no reference to them.
func (c *h2Conn) writeFieldsLocked(id uint32, status int, h http.Header, fields []upstream.Field, end bool) {
	c.hbuf.b = c.hbuf.b[:0]
	if status != 0 { // 0: a trailer block (writeTrailers)
		_ = c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: statusText(status)})
	}
	for k, vv := range h {
		lk := c.lowerName(k)
		if connectionSpecific[lk] {
			continue // RFC 9113 section 8.2.2
		}
		for _, v := range vv {
			_ = c.henc.WriteField(hpack.HeaderField{Name: lk, Value: v})
		}
	}
	for _, f := range fields {
		lk := c.lowerName(f.Name)
		if connectionSpecific[lk] {
			continue
		}
		_ = c.henc.WriteField(hpack.HeaderField{Name: lk, Value: f.Value, Sensitive: true})
	}
	c.mu.Lock()
	max := c.maxFrame
	c.mu.Unlock()
	block := c.hbuf.b
	first := block[:min(len(block), max)]
	block = block[len(first):]
	_ = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(block) == 0})
	for len(block) > 0 {
		part := block[:min(len(block), max)]
		block = block[len(part):]
		_ = c.fr.WriteContinuation(id, len(block) == 0, part)
	}
}

// trailers are the response's trailer fields, as net/http's handlers set
// them (and httputil.ReverseProxy copies a target's): the names the
// "Trailer" header declared, given values after the header went out, and
// any name set with http.TrailerPrefix. nil when there are none.
func (st *h2Stream) trailers() http.Header {
	declared := st.header["Trailer"]
	if len(declared) == 0 && len(st.header) <= st.sentKeys {
		return nil // the common case, without a scan of the header
	}
	var out http.Header
	add := func(k string, vv []string) {
		if len(vv) == 0 || connectionSpecific[strings.ToLower(k)] || k == "Trailer" {
			return
		}
		if out == nil {
			out = http.Header{}
		}
		out[k] = vv
	}
	for _, v := range declared {
		for k := range strings.SplitSeq(v, ",") {
			if k = http.CanonicalHeaderKey(strings.TrimSpace(k)); k != "" {
				add(k, st.header[k])
			}
		}
	}
	for k, vv := range st.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			add(http.CanonicalHeaderKey(name), vv)
		}
	}
	return out
}

// writeTrailers ends the stream with a trailer block (RFC 9113 section
// 8.1): a HEADERS frame with END_STREAM, after the header and the data.
func (st *h2Stream) writeTrailers(tr http.Header) error {
	if err := st.writeData(st.pend, false); err != nil {
		return err
	}
	c := st.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return st.sendFieldsLocked(0, tr, nil, true)
}

// lowerName is a header name as HTTP/2 sends it; the strings are kept
// (the hpack encoder's table refers to them), at most 1,000 per connection.
func (c *h2Conn) lowerName(k string) string {
	if v, ok := c.lower[k]; ok {
		return v
	}
	v := strings.ToLower(k)
	if len(c.lower) < 1000 {
		// k may be a target's bytes, valid only during the call.
		c.lower[strings.Clone(k)] = v
	}
	if v == k {
		v = strings.Clone(k)
	}
	return v
}

var statusTexts [600]string

func init() {
	for i := 100; i < len(statusTexts); i++ {
		statusTexts[i] = strconv.Itoa(i)
	}
}

func statusText(code int) string {
	if code >= 100 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}
