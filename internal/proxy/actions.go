package proxy

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/elbow-lb/elbow/internal/config"
)

func (l *Listener) compileAction(a config.Action, groups Groups) (*action, error) {
	switch a.Type {
	case "forward", "":
		out := &action{kind: actionForward, name: "forward", allPlain: true}
		for _, wg := range a.TargetGroups() {
			g := groups[wg.Name]
			if g == nil {
				return nil, fmt.Errorf("forward: target group %q does not exist", wg.Name)
			}
			fw := l.p.forwarder(g)
			out.allPlain = out.allPlain && fw.plain
			out.forwards = append(out.forwards, fw)
			out.weights = append(out.weights, *wg.Weight)
			out.totalWeight += *wg.Weight
		}
		return out, nil
	case "redirect":
		if a.Redirect == nil {
			return nil, fmt.Errorf("redirect: no redirect block")
		}
		code := http.StatusMovedPermanently
		if a.Redirect.StatusCode == "HTTP_302" {
			code = http.StatusFound
		}
		return &action{kind: actionRedirect, name: "redirect", redirect: *a.Redirect, redirectCode: code}, nil
	case "fixed-response":
		f := a.FixedResponse
		if f == nil {
			return nil, fmt.Errorf("fixed-response: no fixed_response block")
		}
		code, err := strconv.Atoi(f.StatusCode)
		if err != nil {
			return nil, fmt.Errorf("fixed-response: status code %q: %w", f.StatusCode, err)
		}
		ct := f.ContentType
		if ct == "" {
			ct = "text/plain"
		}
		return &action{kind: actionFixedResponse, name: "fixed-response", status: code,
			contentType: []string{ct + "; charset=utf-8"}, body: []byte(f.MessageBody),
			bodyLength: []string{strconv.Itoa(len(f.MessageBody))}}, nil
	}
	return nil, fmt.Errorf("action type %q is not forward, redirect or fixed-response", a.Type)
}

// pickForwarder chooses a target group of a forward by weight; nil when
// every weight is 0.
func (a *action) pickForwarder() *forwarder {
	if len(a.forwards) == 1 {
		if a.totalWeight == 0 {
			return nil
		}
		return a.forwards[0]
	}
	if a.totalWeight == 0 {
		return nil
	}
	r := rand.IntN(a.totalWeight)
	for i, w := range a.weights {
		if r -= w; r < 0 {
			return a.forwards[i]
		}
	}
	return nil
}

func (a *action) serveFixed(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = a.contentType
	h["Content-Length"] = a.bodyLength
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// redirectURL builds the Location of a redirect action. Components left
// empty keep the request's own: #{protocol}, #{host}, #{port}, /#{path},
// #{query} (ALB user guide, "Listener rules", redirect actions). #{path} has no leading slash and #{query} no
// question mark, so that the canonical "/#{path}" and "#{query}" round-trip.
func (l *Listener) redirectURL(rd *config.RedirectAction, r *http.Request) string {
	proto := strings.ToLower(l.protocol)
	host := strings.ToLower(hostOnly(r.Host))
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	query := r.URL.RawQuery
	expand := func(tmpl, dflt string) string {
		if tmpl == "" {
			tmpl = dflt
		}
		if !strings.Contains(tmpl, "#{") {
			return tmpl
		}
		return strings.NewReplacer("#{protocol}", proto, "#{host}", host, "#{port}", l.port, "#{path}", path, "#{query}", query).Replace(tmpl)
	}
	scheme := strings.ToLower(expand(rd.Protocol, "#{protocol}"))
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(expand(rd.Host, "#{host}"))
	b.WriteByte(':')
	b.WriteString(expand(rd.Port, "#{port}"))
	p := expand(rd.Path, "/#{path}")
	if !strings.HasPrefix(p, "/") {
		b.WriteByte('/')
	}
	b.WriteString(p)
	if q := expand(rd.Query, "#{query}"); q != "" {
		b.WriteByte('?')
		b.WriteString(q)
	}
	return b.String()
}

// hostOnly strips the port from a Host header value.
func hostOnly(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		if _, err := strconv.Atoi(host[i+1:]); err == nil {
			return strings.TrimSuffix(strings.TrimPrefix(host[:i], "["), "]")
		}
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}
