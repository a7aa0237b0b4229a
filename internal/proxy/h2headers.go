package proxy

import (
	"errors"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/elbow-lb/elbow/internal/proxy/httpbytes"
)

// Reading a client's header blocks: a HEADERS frame and the CONTINUATION
// frames that follow it, decoded with the connection's hpack decoder into
// one field slice kept for the connection's life. It does what
// golang.org/x/net/http2's Framer does when ReadMetaHeaders is set
// (frame.go, readMetaFrame), the same checks with the same errors, without
// the fifteen allocations that costs per request (a MetaHeadersFrame, a
// closure and its captured variables, the field slice grown from nothing).

// h2HeaderBlock is one decoded header block. Its fields are valid until
// the next block is read.
type h2HeaderBlock struct {
	streamID  uint32
	endStream bool
	// fields are the block's fields in order, its pseudo-fields (the
	// first npseudo) before the rest (checked).
	fields  []hpack.HeaderField
	npseudo int
	// truncated: the block was past SETTINGS_MAX_HEADER_LIST_SIZE, and
	// fields holds what came before.
	truncated bool
}

// pseudo returns a pseudo-field's value ("method" for ":method"), "" when
// absent.
func (b *h2HeaderBlock) pseudo(name string) string {
	for _, hf := range b.fields[:b.npseudo] {
		if hf.Name[1:] == name {
			return hf.Value
		}
	}
	return ""
}

// regular returns the fields that are not pseudo-fields.
func (b *h2HeaderBlock) regular() []hpack.HeaderField { return b.fields[b.npseudo:] }

// h2HeaderReader decodes header blocks for one connection.
type h2HeaderReader struct {
	dec *hpack.Decoder
	blk h2HeaderBlock
	// Per block: the emit callback's state.
	invalid                error // a field that makes the request malformed
	sawRegular             bool
	remain, trailersRemain uint32 // what the header list may still hold
	limit                  uint32 // SETTINGS_MAX_HEADER_LIST_SIZE offered
}

var (
	errH2PseudoAfterRegular = errors.New("http2: pseudo header field after regular")
	errH2PseudoInvalid      = errors.New("http2: invalid or duplicate request pseudo-header field")
)

func newH2HeaderReader(limit uint32) *h2HeaderReader {
	r := &h2HeaderReader{limit: limit, blk: h2HeaderBlock{fields: make([]hpack.HeaderField, 0, 16)}}
	// The emit callback is set once: a method value made per block would
	// be an allocation per request.
	r.dec = hpack.NewDecoder(4096, r.emit)
	r.dec.SetMaxStringLength(int(limit))
	return r
}

// emit takes one decoded field (hpack's callback): RFC 9113 section 8.2's
// rules on names and values, section 8.3's on pseudo-fields, and the list
// size bound, as x/net's readMetaFrame applies them.
func (r *h2HeaderReader) emit(hf hpack.HeaderField) {
	if !httpbytes.ValidValue(hf.Value) {
		// The value is not in the error: it may be a secret.
		r.invalid = errors.New("http2: invalid header field value for " + quoteName(hf.Name))
	}
	if strings.HasPrefix(hf.Name, ":") {
		if r.sawRegular {
			r.invalid = errH2PseudoAfterRegular
		}
	} else {
		r.sawRegular = true
		if !validWireName(hf.Name) {
			r.invalid = errors.New("http2: invalid header field name " + quoteName(hf.Name))
		}
	}
	if r.invalid != nil {
		r.dec.SetEmitEnabled(false)
		return
	}
	remain, size := &r.remain, hf.Size()
	if hf.Name == "trailer" {
		// x/net's accounting: each name a trailer announces is counted
		// as a field of its own.
		remain = &r.trailersRemain
		n := uint32(strings.Count(hf.Value, ",") + 1)
		size = uint32(len(hf.Value)) - n + 1 + n*hpack.HeaderField{}.Size()
	}
	if size > *remain {
		r.dec.SetEmitEnabled(false)
		r.blk.truncated = true
		r.remain, r.trailersRemain = 0, 0
		return
	}
	*remain -= size
	r.blk.fields = append(r.blk.fields, hf)
	if hf.IsPseudo() {
		r.blk.npseudo++
	}
}

// quoteName quotes a field name for an error, cut short when it is long.
func quoteName(name string) string {
	if len(name) > 64 {
		name = name[:64] + "..."
	}
	return `"` + name + `"`
}

// validWireName: a token (RFC 9110 section 5.1) without capitals (RFC
// 9113 section 8.2.1).
func validWireName(name string) bool {
	return httpbytes.ValidToken(name) && strings.IndexFunc(name, func(r rune) bool { return 'A' <= r && r <= 'Z' }) < 0
}

// read decodes the block that f begins, reading its CONTINUATION frames
// from fr. Its errors are x/net's: ConnectionError for what breaks the
// connection (the hpack state, a list far past its bound), StreamError for
// a malformed request.
func (r *h2HeaderReader) read(fr *http2.Framer, f *http2.HeadersFrame) (*h2HeaderBlock, error) {
	b := &r.blk
	b.streamID, b.endStream = f.StreamID, f.StreamEnded()
	b.fields, b.npseudo, b.truncated = b.fields[:0], 0, false
	if cap(b.fields) > 256 {
		// Not kept pinning a block far larger than the usual one.
		b.fields = make([]hpack.HeaderField, 0, 16)
	}
	r.invalid, r.sawRegular = nil, false
	r.remain, r.trailersRemain = r.limit, r.limit
	r.dec.SetEmitEnabled(true)
	frag, ended := f.HeaderBlockFragment(), f.HeadersEnded()
	for {
		// Far past the bound, or anything after a malformed field (its
		// size no longer counted): the connection ends rather than
		// decode what would be thrown away (CVE-2023-45288).
		if int64(len(frag)) > 2*int64(r.remain+r.trailersRemain) || r.invalid != nil {
			return nil, http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if _, err := r.dec.Write(frag); err != nil {
			return nil, http2.ConnectionError(http2.ErrCodeCompression)
		}
		if ended {
			break
		}
		next, err := fr.ReadFrame()
		if err != nil {
			return nil, err
		}
		// The Framer returns nothing else here: it checks that
		// CONTINUATION frames follow, on the same stream.
		cf := next.(*http2.ContinuationFrame)
		frag, ended = cf.HeaderBlockFragment(), cf.HeadersEnded()
	}
	if err := r.dec.Close(); err != nil {
		return nil, http2.ConnectionError(http2.ErrCodeCompression)
	}
	if r.invalid != nil {
		return nil, http2.StreamError{StreamID: b.streamID, Code: http2.ErrCodeProtocol, Cause: r.invalid}
	}
	if err := b.checkPseudos(); err != nil {
		return nil, http2.StreamError{StreamID: b.streamID, Code: http2.ErrCodeProtocol, Cause: err}
	}
	return b, nil
}

// checkPseudos: only a request's pseudo-fields, each once (RFC 9113
// section 8.3); not :protocol, as extended CONNECT (RFC 8441) is not
// offered. Which a request needs is newRequest's (trailers have none).
func (b *h2HeaderBlock) checkPseudos() error {
	pf := b.fields[:b.npseudo]
	for i, hf := range pf {
		switch hf.Name {
		case ":method", ":path", ":scheme", ":authority":
		default:
			return errH2PseudoInvalid
		}
		for _, prev := range pf[:i] {
			if prev.Name == hf.Name {
				return errH2PseudoInvalid
			}
		}
	}
	return nil
}
