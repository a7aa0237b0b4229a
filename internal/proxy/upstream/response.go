package upstream

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"
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
// and walked per response.
type HeadWriter interface {
	WriteHead(status int, fields []Field)
}

// WriteHead gives w the status and header fields: through WriteHead when w
// is a HeadWriter, else into its header map and WriteHeader.
func WriteHead(w http.ResponseWriter, status int, fields []Field) {
	if hw, ok := w.(HeadWriter); ok {
		hw.WriteHead(status, fields)
		return
	}
	h := w.Header()
	// One backing array for the single values, as net/http's reader does.
	vals := make([]string, len(fields))
	for i, f := range fields {
		if prior := h[f.Name]; prior != nil {
			h[f.Name] = append(prior, f.Value)
			continue
		}
		vals[i] = f.Value
		h[f.Name] = vals[i : i+1 : i+1]
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
	cn.head = cn.head[:0]
	cn.fields = cn.fields[:0]
	for {
		line, err := cn.br.ReadSlice('\n')
		if len(line) > 0 {
			cn.readAny = true
		}
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return 0, false, errMalformed
			}
			return 0, false, err
		}
		if len(cn.head)+len(line) > maxHeaderBytes {
			return 0, false, errMalformed
		}
		cn.head = append(cn.head, line...)
		if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
			break
		}
	}
	s := string(cn.head)
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
	for len(s) > 0 {
		end := strings.IndexByte(s, '\n')
		line := trimCR(s[:end])
		s = s[end+1:]
		if line == "" {
			break
		}
		colon := strings.IndexByte(line, ':')
		// As net/http's reader (a 502 on the other data paths too): a
		// name of token characters, a value without control characters.
		if colon <= 0 || !validName(line[:colon]) {
			return 0, false, errMalformed
		}
		key := line[:colon]
		if !isCanonical(key) {
			key = http.CanonicalHeaderKey(key)
		}
		value := strings.TrimSpace(line[colon+1:])
		if !validValue(value) {
			return 0, false, errMalformed
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

func trimCR(s string) string {
	if len(s) > 0 && s[len(s)-1] == '\r' {
		return s[:len(s)-1]
	}
	return s
}

// validName reports whether s is a field name: token characters only
// (RFC 9110 section 5.1).
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validValue reports whether s holds no control character but HTAB (RFC
// 9110 section 5.5), as net/textproto checks.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
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

// extendDeadline gives the next read the idle timeout. Setting a deadline
// costs a runtime timer update, so it is renewed only when it has run down
// by more than a tenth of the timeout (at most a second): the effective
// timeout lies within that slack below IdleTimeout.
func (c *Client) extendDeadline(cn *conn) {
	if c.IdleTimeout <= 0 {
		return
	}
	c.extendDeadlineAt(cn, time.Now())
}

// extendDeadlineAt is extendDeadline with the caller's clock reading.
func (c *Client) extendDeadlineAt(cn *conn, now time.Time) {
	if c.IdleTimeout <= 0 {
		return
	}
	if cn.deadline.Sub(now) >= c.IdleTimeout-min(time.Second, c.IdleTimeout/10) {
		return
	}
	cn.deadline = now.Add(c.IdleTimeout)
	_ = cn.nc.SetReadDeadline(cn.deadline)
}
