package proxy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/elbow-lb/elbow/internal/config"
)

// h2Raw is an HTTP/2 client on a real TLS connection that writes and reads
// frames itself, to send what a well-behaved client would not.
type h2Raw struct {
	t    testing.TB
	nc   *tls.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
	// streams holds responses read while waiting for another's.
	streams map[uint32]*h2Resp
}

// dialH2 connects to an HTTPS listener offering only h2, sends the
// preface and settings, and waits for the listener's SETTINGS.
func dialH2(t testing.TB, l *Listener, settings ...http2.Setting) *h2Raw {
	t.Helper()
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", l.Addr(),
		&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := nc.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN %q; want h2", p)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := &h2Raw{t: t, nc: nc, fr: http2.NewFramer(nc, nc)}
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	c.enc = hpack.NewEncoder(&c.hbuf)
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	c.next(func(f http2.Frame) bool { sf, ok := f.(*http2.SettingsFrame); return ok && !sf.IsAck() })
	return c
}

// block encodes name, value pairs as a header block.
func (c *h2Raw) block(fields ...string) []byte {
	c.hbuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		_ = c.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return append([]byte(nil), c.hbuf.Bytes()...)
}

// get is a request's header fields: GET path over https.
func get2(path string, extra ...string) []string {
	return append([]string{":method", "GET", ":scheme", "https", ":authority", "h", ":path", path}, extra...)
}

// headers opens stream id with the fields.
func (c *h2Raw) headers(id uint32, end bool, fields ...string) {
	c.t.Helper()
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block(fields...),
		EndStream: end, EndHeaders: true}); err != nil {
		c.t.Fatal(err)
	}
}

// next reads frames until want accepts one (acknowledging the listener's
// SETTINGS on the way) and returns it; it fails the test on an error.
func (c *h2Raw) next(want func(http2.Frame) bool) http2.Frame {
	c.t.Helper()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.t.Fatalf("reading frames: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			_ = c.fr.WriteSettingsAck()
		}
		if want(f) {
			return f
		}
	}
}

// h2Resp is what came for one stream.
type h2Resp struct {
	status int
	body   bytes.Buffer
	reset  http2.ErrCode
	done   bool
}

// response reads frames until stream id's response is whole, keeping
// other streams' frames for later, and returns its status and body, or the
// code of a RST_STREAM (status 0).
func (c *h2Raw) response(id uint32) (status int, body string, reset http2.ErrCode) {
	c.t.Helper()
	if c.streams == nil {
		c.streams = map[uint32]*h2Resp{}
	}
	for {
		if r := c.streams[id]; r != nil && r.done {
			delete(c.streams, id)
			return r.status, r.body.String(), r.reset
		}
		f := c.next(func(f http2.Frame) bool { return f.Header().StreamID != 0 })
		sid := f.Header().StreamID
		r := c.streams[sid]
		if r == nil {
			r = &h2Resp{}
			c.streams[sid] = r
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			if s := f.PseudoValue("status"); s != "" && s[0] != '1' {
				r.status = atoi(s)
			}
			r.done = f.StreamEnded()
		case *http2.DataFrame:
			r.body.Write(f.Data())
			if len(f.Data()) > 0 {
				_ = c.fr.WriteWindowUpdate(0, uint32(len(f.Data())))
				_ = c.fr.WriteWindowUpdate(sid, uint32(len(f.Data())))
			}
			r.done = f.StreamEnded()
		case *http2.RSTStreamFrame:
			r.status, r.reset, r.done = 0, f.ErrCode, true
		}
	}
}

// goneAway reads until the listener's GOAWAY and returns its code; the
// connection must close after it.
func (c *h2Raw) goneAway() http2.ErrCode {
	c.t.Helper()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.t.Fatalf("connection ended without GOAWAY: %v", err)
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			return ga.ErrCode
		}
	}
}

// closed reports whether the listener closed the connection (reading on
// until then).
func (c *h2Raw) closed() bool {
	for {
		_, err := c.fr.ReadFrame()
		if err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, ch := range s {
		n = n*10 + int(ch-'0')
	}
	return n
}

// h2Client is golang.org/x/net/http2's client, one connection, for a
// listener's self-signed certificate.
func h2Client() *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http2.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

// h2Proxy is an HTTPS listener forwarding to one target serving h.
func h2Proxy(t *testing.T, o Options, h http.Handler) *Listener {
	t.Helper()
	a := startBackend(t, "127.0.0.2", "a", h)
	p := startProxy(t, o, Groups{"g": newTG(t, "g", nil, a)},
		config.Listener{Protocol: "HTTPS", DefaultAction: forwardTo("g")})
	return p.Listeners()[0]
}
