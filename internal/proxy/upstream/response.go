package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/elbow-lb/elbow/internal/proxy/httpbytes"
)

// maxHeaderBytes bounds a response header; the ALB answers 502 above 32 KiB.
const maxHeaderBytes = 32 << 10

var errMalformed = errors.New("malformed response")

type framing int

const (
	bodyNone framing = iota
	bodyLength
	bodyChunked
	bodyUntilClose
)

// Field is one header field of a target's response, as relayed: its name
// in canonical form, its value trimmed.
type Field struct{ Name, Value string }

// HeadWriter is a ResponseWriter that takes the target's response header as
// fields, in the target's order, rather than through its header map: the
// data path's client loop writes them straight out, without a map filled
// and walked per response. The fields are checked as net/http's reader
// checks them (token names, values without control characters but HTAB,
// no hop-by-hop field), so that they can be written out as they are. Their
// strings share the bytes of the target connection's buffer, read in
// place: they are valid only during the call, and a HeadWriter keeps copies
// (CopyFields).
type HeadWriter interface {
	WriteHead(status int, fields []Field)
}

// WriteHead gives w the status and header fields: through WriteHead when w
// is a HeadWriter, else (copied) into its header map and WriteHeader.
func WriteHead(w http.ResponseWriter, status int, fields []Field) {
	if hw, ok := w.(HeadWriter); ok {
		hw.WriteHead(status, fields)
		return
	}
	h := w.Header()
	// The map keeps the strings: copied, into one string for them all,
	// and one backing array for the single values, as net/http's reader
	// does.
	n := 0
	for _, f := range fields {
		n += len(f.Name) + len(f.Value)
	}
	all := make([]byte, 0, n)
	for _, f := range fields {
		all = append(all, f.Name...)
		all = append(all, f.Value...)
	}
	s := unsafe.String(unsafe.SliceData(all), len(all))
	vals := make([]string, len(fields))
	for i, f := range fields {
		name := s[:len(f.Name)]
		value := s[len(f.Name) : len(f.Name)+len(f.Value)]
		s = s[len(f.Name)+len(f.Value):]
		if prior := h[name]; prior != nil {
			h[name] = append(prior, value)
			continue
		}
		vals[i] = value
		h[name] = vals[i : i+1 : i+1]
	}
	w.WriteHeader(status)
}

// readHeader reads the response header (skipping 1xx interim responses)
// into cn.fields, and sets the body framing. keep reports whether the
// connection may be reused after the body.
func (cn *conn) readHeader(method string) (status int, keep bool, err error) {
	for range 8 {
		status, keep, err = cn.readOneHeader(method)
		if err != nil || status >= 200 {
			return status, keep, err
		}
		// An interim response: its fields are not the final ones, and the
		// next read starts them again.
	}
	return 0, false, errors.New("too many interim responses")
}

func (cn *conn) readOneHeader(method string) (int, bool, error) {
	cn.fields = cn.fields[:0]
	head, inBuffer, err := cn.readHead()
	if err != nil {
		return 0, false, err
	}
	// The fields' strings are the head's bytes, not copies (see
	// HeadWriter); the reader's buffer is let go of only after parsing.
	if inBuffer {
		defer cn.br.Discard(len(head))
	}
	s := head
	end := strings.IndexByte(s, '\n')
	statusLine := trimCR(s[:end])
	s = s[end+1:]
	if len(statusLine) < 12 || !strings.HasPrefix(statusLine, "HTTP/1.") || statusLine[8] != ' ' ||
		(len(statusLine) > 12 && statusLine[12] != ' ') {
		return 0, false, errMalformed
	}
	status, err := strconv.Atoi(statusLine[9:12])
	if err != nil || status < 100 || status > 599 || status == http.StatusSwitchingProtocols {
		return 0, false, errMalformed
	}
	keep := statusLine[7] == '1'
	var contentLength, transferEncoding, connection string
	for {
		name, value, rest, ok := nextField(s)
		if !ok {
			return 0, false, errMalformed
		}
		s = rest
		if name == "" {
			break // the empty line
		}
		key := name
		if !isCanonical(key) {
			key = http.CanonicalHeaderKey(key)
		}
		switch key {
		case "Content-Length":
			// One length, relayed once: a differing repeat is ambiguous
			// framing (a 502, as from net/http's transport).
			if contentLength != "" {
				if value != contentLength {
					return 0, false, errMalformed
				}
				continue
			}
			contentLength = value
		case "Transfer-Encoding":
			// One Transfer-Encoding, and only chunked, as net/http and
			// nginx accept: anything else (gzip, chunked; two fields) is
			// a 502, never a body relayed with its coding lost. HTTP/1.0
			// has no Transfer-Encoding: ignored there, as net/http does.
			if statusLine[7] != '1' {
				continue
			}
			if transferEncoding != "" || !strings.EqualFold(value, "chunked") {
				return 0, false, errMalformed
			}
			transferEncoding = value
			continue
		case "Connection":
			connection = value
			continue
		}
		if isHop(key) {
			continue
		}
		cn.fields = append(cn.fields, Field{Name: key, Value: value})
	}
	if connection != "" {
		for _, tok := range strings.Split(connection, ",") {
			tok = strings.TrimSpace(tok)
			switch {
			case strings.EqualFold(tok, "close"):
				keep = false
			case strings.EqualFold(tok, "keep-alive"):
				keep = true
			default:
				cn.dropField(http.CanonicalHeaderKey(tok))
			}
		}
	}
	switch {
	case method == http.MethodHead || status < 200 || status == http.StatusNoContent || status == http.StatusNotModified:
		cn.framing = bodyNone
	case transferEncoding != "" && statusLine[7] == '1':
		cn.framing = bodyChunked
		cn.dropField("Content-Length")
	case contentLength != "":
		n, err := strconv.ParseInt(contentLength, 10, 64)
		if err != nil || n < 0 || contentLength[0] == '+' {
			return 0, false, errMalformed
		}
		cn.framing, cn.remaining = bodyLength, n
	default:
		cn.framing, keep = bodyUntilClose, false
	}
	return status, keep, nil
}

// CopyFields appends fields to dst with their names and values copied into
// buf, one array for them all (buf's, when large enough: a HeadWriter
// reuses it from response to response), and returns both; the array must
// not be written again while the copies are in use.
func CopyFields(dst []Field, buf []byte, fields []Field) ([]Field, []byte) {
	n := 0
	for _, f := range fields {
		n += len(f.Name) + len(f.Value)
	}
	if cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	buf = buf[:0]
	for _, f := range fields {
		buf = append(buf, f.Name...)
		buf = append(buf, f.Value...)
	}
	off := 0
	for _, f := range fields {
		var c Field
		if len(f.Name) > 0 {
			c.Name = unsafe.String(&buf[off], len(f.Name))
		}
		off += len(f.Name)
		if len(f.Value) > 0 {
			c.Value = unsafe.String(&buf[off], len(f.Value))
		}
		off += len(f.Value)
		dst = append(dst, c)
	}
	return dst, buf
}

// readHead returns the response head through its empty line. A head that
// arrived whole, as it almost always does, is returned where it lies in
// the reader's buffer (inBuffer), unconsumed: the caller discards it when
// done. Otherwise it is read line by line into cn.head. Either way the
// string shares the bytes: valid until the reader or cn.head is used again.
func (cn *conn) readHead() (head string, inBuffer bool, err error) {
	if _, err := cn.br.Peek(1); err != nil {
		return "", false, err
	}
	cn.readAny = true
	buf, _ := cn.br.Peek(cn.br.Buffered())
	if n := headLength(buf); n > 0 {
		return unsafe.String(&buf[0], n), true, nil
	}
	cn.head = cn.head[:0]
	for {
		line, err := cn.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return "", false, errMalformed
			}
			return "", false, err
		}
		if len(cn.head)+len(line) > maxHeaderBytes {
			return "", false, errMalformed
		}
		cn.head = append(cn.head, line...)
		if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
			return unsafe.String(&cn.head[0], len(cn.head)), false, nil
		}
	}
}

// headLength is the length of the head at the start of b through its empty
// line (CRLF or bare LF), 0 when b does not hold it all.
func headLength(b []byte) int {
	i := 0
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		j += i
		// The line b[i:j] is empty: LF alone, or CR LF.
		if j == i || j == i+1 && b[i] == '\r' {
			return j + 1
		}
		i = j + 1
	}
}

// nextField splits the first header line off s: its name and value (value
// without surrounding blanks), checked in the one pass as net/http's
// reader checks them (a 502 on the other data paths too): a name of token
// characters, a value without control characters but HTAB. The empty line
// gives an empty name; ok is false for a malformed line.
func nextField(s string) (name, value, rest string, ok bool) {
	i := 0
	for i < len(s) && httpbytes.IsTokenChar(s[i]) {
		i++
	}
	if i == len(s) {
		return "", "", "", false
	}
	if i == 0 {
		// The empty line, or a line that starts badly.
		switch {
		case s[0] == '\n':
			return "", "", s[1:], true
		case s[0] == '\r' && len(s) > 1 && s[1] == '\n':
			return "", "", s[2:], true
		}
		return "", "", "", false
	}
	if s[i] != ':' {
		return "", "", "", false
	}
	name = s[:i]
	i++
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	start, last := i, i // value is s[start:last]
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			return name, s[start:last], s[i+1:], true
		case c == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				return name, s[start:last], s[i+2:], true
			}
			return "", "", "", false
		case c < ' ' && c != '\t' || c == 0x7f:
			return "", "", "", false
		case c != ' ' && c != '\t':
			last = i + 1
		}
	}
	return "", "", "", false
}

func trimCR(s string) string {
	if len(s) > 0 && s[len(s)-1] == '\r' {
		return s[:len(s)-1]
	}
	return s
}

// isCanonical reports whether key is already in canonical MIME form
// (Content-Length), so that it can be used without a copy.
func isCanonical(key string) bool {
	upper := true
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case upper && 'a' <= c && c <= 'z', !upper && 'A' <= c && c <= 'Z':
			return false
		case c == ' ' || c >= 0x80:
			return false
		}
		upper = c == '-'
	}
	return true
}

// copyBody relays the response body by its framing.
func (c *Client) copyBody(cn *conn, w http.ResponseWriter, _ string, _ int) error {
	switch cn.framing {
	case bodyNone:
		return nil
	case bodyLength:
		for n := cn.remaining; n > 0; {
			if cn.br.Buffered() == 0 {
				c.extendDeadline(cn)
				if _, err := cn.br.Peek(1); err != nil {
					return err
				}
			}
			k := min(int64(cn.br.Buffered()), n)
			b, _ := cn.br.Peek(int(k))
			if _, err := w.Write(b); err != nil {
				return err
			}
			_, _ = cn.br.Discard(int(k))
			n -= k
		}
		return nil
	case bodyChunked:
		if err := c.stream(cn, w, httputil.NewChunkedReader(cn.br)); err != nil {
			return err
		}
		// The trailer section ends with an empty line; trailers are dropped.
		for range 64 {
			line, err := cn.br.ReadSlice('\n')
			if err != nil {
				return err
			}
			if len(line) <= 2 && strings.TrimSpace(string(line)) == "" {
				return nil
			}
		}
		return errMalformed
	default:
		return c.stream(cn, w, cn.br)
	}
}

type reader interface{ Read([]byte) (int, error) }

// stream copies a body of unknown length, flushing each piece so that
// streamed responses (server-sent events) reach the client at once.
func (c *Client) stream(cn *conn, w http.ResponseWriter, r reader) error {
	buf := c.getBuf()
	defer c.bufs.Put(buf)
	flusher, _ := w.(http.Flusher)
	for {
		c.extendDeadline(cn)
		n, err := r.Read(buf[:])
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func (c *Client) getBuf() *[32 << 10]byte {
	if b, ok := c.bufs.Get().(*[32 << 10]byte); ok {
		return b
	}
	return new([32 << 10]byte)
}

// extendDeadline gives the next read the idle timeout
// (monotime.IdleDeadline's rule).
func (c *Client) extendDeadline(cn *conn) {
	if c.idleTimeout() <= 0 {
		return
	}
	c.extendDeadlineAt(cn, time.Now())
}

// extendDeadlineAt is extendDeadline with the caller's clock reading.
func (c *Client) extendDeadlineAt(cn *conn, now time.Time) {
	if idle := c.idleTimeout(); idle > 0 && cn.deadline.Renew(now, idle) {
		_ = cn.nc.SetReadDeadline(cn.deadline.At)
	}
}

// dropField removes every field named name (canonical).
func (cn *conn) dropField(name string) {
	kept := cn.fields[:0]
	for _, f := range cn.fields {
		if f.Name != name {
			kept = append(kept, f)
		}
	}
	clear(cn.fields[len(kept):])
	cn.fields = kept
}
