package proxy

// chunkScanner follows a chunked body exactly as net/http's chunked reader
// reads it (net/http/internal/chunked.go): a size line of 1-16 hex digits,
// optional trailing whitespace and ;extensions, ended by CRLF with no other
// CR; the data; CRLF. A last chunk must be followed by CRLF at once: a body
// with trailer fields is not passed (net/http would parse them with a
// lenient header reader), so its request breaks off.
type chunkScanner struct {
	phase     uint8 // 0 size line, 1 data, 2 CR after data, 3 LF after data, 4 CR after last chunk, 5 LF after last chunk
	line      int   // bytes of the size line seen
	size      uint64
	digits    int
	sawSpace  bool
	inExt     bool
	remaining uint64
}

// maxChunkLine is net/http's limit on a chunk size line.
const maxChunkLine = 4096

// scan consumes from data what belongs to the body: n bytes; end when the
// body is complete; ok false when the framing is invalid (n bytes before
// the fault may still be released).
func (s *chunkScanner) scan(data []byte) (n int, end, ok bool) {
	for n < len(data) {
		c := data[n]
		switch s.phase {
		case 0:
			s.line++
			if s.line > maxChunkLine {
				return n, false, false
			}
			switch {
			case c == '\r':
				if s.digits == 0 {
					return n, false, false
				}
				s.phase = 6
			case c == '\n':
				return n, false, false // bare LF: net/http refuses it
			case s.inExt:
			case c == ';':
				if s.sawSpace {
					return n, false, false // net/http trims only trailing whitespace
				}
				s.inExt = true
			case c == ' ' || c == '\t':
				s.sawSpace = true
			case s.sawSpace:
				return n, false, false // "5 x": net/http reads "5 x" as the size
			default:
				d, isHex := hexDigit(c)
				if !isHex || s.digits == 16 {
					return n, false, false
				}
				s.size = s.size<<4 | uint64(d)
				s.digits++
			}
			n++
		case 6: // LF ending the size line
			if c != '\n' {
				return n, false, false
			}
			n++
			if s.size == 0 {
				s.phase = 4
			} else {
				s.phase, s.remaining = 1, s.size
			}
		case 1:
			take := uint64(len(data) - n)
			take = min(take, s.remaining)
			n += int(take)
			if s.remaining -= take; s.remaining == 0 {
				s.phase = 2
			}
		case 2, 4:
			if c != '\r' {
				return n, false, false
			}
			n++
			s.phase++
		case 3, 5:
			if c != '\n' {
				return n, false, false
			}
			n++
			if s.phase == 5 {
				return n, true, true
			}
			*s = chunkScanner{}
		}
	}
	return n, false, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
