package proxy

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The request side of an HTTP/2 stream: its header block made into the
// http.Request every path serves, under RFC 9113 section 8's rules.

// connectionSpecific are the fields RFC 9113 section 8.2.2 makes a
// request malformed with (te too, unless it is "trailers").
var connectionSpecific = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true}

// newRequest builds the stream's request from its header block, checking
// it as RFC 9113 section 8.3 asks (the Framer checked names, values and
// the pseudo-fields' order and kinds); false when it is malformed.
func (c *h2Conn) newRequest(st *h2Stream, f *h2HeaderBlock) bool {
	method, scheme := f.pseudo("method"), f.pseudo("scheme")
	path, authority := f.pseudo("path"), f.pseudo("authority")
	if method == "" {
		return false
	}
	u := &st.url
	target := path
	if method == http.MethodConnect {
		if path != "" || scheme != "" || authority == "" {
			return false
		}
		u.Host, target = authority, authority
	} else {
		if scheme == "" || path == "" {
			return false
		}
		switch {
		case path == "*" && method == http.MethodOptions:
			u.Path = "*"
		case path[0] != '/':
			return false
		case plainTarget(path):
			u.Path, u.RawQuery, u.ForceQuery = path, "", false
			if i := strings.IndexByte(path, '?'); i >= 0 {
				u.Path, u.RawQuery = path[:i], path[i+1:]
				u.ForceQuery = u.RawQuery == ""
			}
		default:
			parsed, err := url.ParseRequestURI(path)
			if err != nil {
				return false
			}
			u = parsed
		}
	}
	fields := f.regular()
	h := st.reqHeader // a recycled stream's, cleared
	if h == nil {
		h = make(http.Header, len(fields))
		st.reqHeader = h
	}
	// One backing array for the values: each name's first value is a
	// one-element slice of it (a second value for a name copies out).
	if cap(st.values) < len(fields) {
		st.values = make([]string, len(fields))
	}
	values := st.values[:len(fields)]
	var cookies []string
	host := authority
	for _, hf := range fields {
		switch {
		case connectionSpecific[hf.Name]:
			return false
		case hf.Name == "te" && hf.Value != "trailers":
			return false
		case hf.Name == "cookie":
			// RFC 9113 section 8.2.3: split cookies are joined for
			// HTTP/1.1.
			cookies = append(cookies, hf.Value)
			continue
		case hf.Name == "host":
			if host == "" {
				host = hf.Value
			}
		case hf.Name == "content-length":
			n, err := strconv.ParseInt(hf.Value, 10, 64)
			if err != nil || n < 0 || hf.Value[0] == '+' || st.declared >= 0 && n != st.declared {
				return false
			}
			st.declared = n
		}
		k := http.CanonicalHeaderKey(hf.Name)
		if vv, ok := h[k]; ok {
			h[k] = append(vv, hf.Value)
		} else {
			i := len(h)
			values[i] = hf.Value
			h[k] = values[i : i+1 : i+1]
		}
	}
	if len(cookies) > 0 {
		h["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	// On the stack: WithContext below makes the one copy that is kept,
	// in the stream.
	r := http.Request{Method: method, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2, Header: h, Host: host,
		RequestURI: target, RemoteAddr: c.remoteAddr, TLS: c.tlsState, Body: http.NoBody}
	if f.endStream {
		if st.declared > 0 {
			return false
		}
		st.bodyDone = true
	} else {
		r.ContentLength = st.declared
		r.Body = (*h2Body)(st)
	}
	st.head = method == http.MethodHead
	st.expect.Store(!st.bodyDone && len(h["Expect"]) == 1 && strings.EqualFold(h["Expect"][0], "100-continue"))
	// Under the connection's values alone, not its cancellation: a
	// child of a cancellable context costs registering and removing per
	// request; close cancels every stream's itself.
	st.ctx, st.cancel = context.WithCancel(c.values)
	st.reqVal = *r.WithContext(st.ctx)
	st.req = &st.reqVal
	if st.header == nil {
		st.header = make(http.Header, 8)
	}
	return true
}
