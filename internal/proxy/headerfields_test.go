package proxy

import (
	"crypto/tls"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

// TestDropInvalidHeaderFields: with the ALB attribute on, a header whose name
// holds an underscore (which CGI and WSGI read as a hyphen) never reaches the
// target nor routing; off, as on AWS by default, it passes.
func TestDropInvalidHeaderFields(t *testing.T) {
	eachHTTPPath(t, func(t *testing.T, base Options) {
		for _, drop := range []bool{false, true} {
			seen := make(chan []string, 1)
			b := startBackend(t, "127.0.0.2", "echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var names []string
				for name := range r.Header {
					names = append(names, name)
				}
				sort.Strings(names)
				seen <- names
			}))
			g := newTG(t, "web", nil, b)
			o := base
			o.DropInvalidHeaderFields = drop
			rule := config.Rule{Priority: 1, Conditions: []config.Condition{{HTTPHeader: &config.HTTPHeaderCondition{HTTPHeaderName: "X_Route", Values: []string{"yes"}}}},
				Action: fixed("418", "routed on an invalid header")}
			p := startProxy(t, o, Groups{"web": g}, config.Listener{Port: 0, DefaultAction: forwardTo("web"), Rules: []config.Rule{rule}})
			url := "http://" + p.Listeners()[0].Addr() + "/"

			req, _ := http.NewRequest("GET", url, nil)
			req.Header["X_Forwarded_For"] = []string{"6.6.6.6"}
			req.Header["X-Kept"] = []string{"1"}
			r := do(t, client(), req)
			names := strings.Join(<-seen, ",")
			if got := strings.Contains(strings.ToLower(names), "x_forwarded_for"); got == drop {
				t.Errorf("drop=%v: the target saw headers %s", drop, names)
			}
			if !strings.Contains(names, "X-Kept") || r.code != 200 {
				t.Errorf("drop=%v: valid header lost or request failed: %d %s", drop, r.code, names)
			}

			req, _ = http.NewRequest("GET", url, nil)
			req.Header["X_Route"] = []string{"yes"}
			r = do(t, client(), req)
			if routed := r.code == 418; routed == drop {
				t.Errorf("drop=%v: routing on the invalid header gave %d", drop, r.code)
			}
			if r.code != 418 {
				<-seen
			}
		}
	})
}

// TestAppendField: a response header line the loop writes can never end
// the header early or carry the loop's own framing fields.
func TestAppendField(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"X-A", "plain", "X-A: plain\r\n"},
		{"X-A", "a\rb\nc", "X-A: a b c\r\n"},
		{"Bad Name", "v", ""},
		{"X-A\r\nX-Injected", "v", ""},
		{"", "v", ""},
		{"Connection", "close", ""},
		{"Transfer-Encoding", "chunked", ""},
	} {
		if got := string(appendField([]byte(nil), tc.name, tc.value)); got != tc.want {
			t.Errorf("appendField(%q, %q) = %q; want %q", tc.name, tc.value, got, tc.want)
		}
	}
}

// TestAccessLogTLSFields: an HTTPS request's ssl_cipher and ssl_protocol as
// the ALB logs them: OpenSSL's cipher names ("ECDHE-ECDSA-AES128-GCM-SHA256
// TLSv1.2"), TLS 1.3's under their one name.
func TestAccessLogTLSFields(t *testing.T) {
	a := startBackend(t, "127.0.0.2", "a", named("a"))
	g := newTG(t, "web", nil, a)
	log := &syncBuffer{}
	p := startProxy(t, Options{AccessLog: log}, Groups{"web": g},
		config.Listener{Protocol: "HTTPS", Address: "127.0.0.1", DefaultAction: forwardTo("web")})
	url := p.Listeners()[0].URL()
	for _, tc := range []struct {
		conf *tls.Config
		want string
	}{
		{&tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, " ECDHE-ECDSA-AES128-GCM-SHA256 TLSv1.2 "},
		{&tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, " ECDHE-ECDSA-CHACHA20-POLY1305 TLSv1.2 "},
		{&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}, " TLS_AES_128_GCM_SHA256 TLSv1.3 "},
	} {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc.conf}}
		res, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		c.CloseIdleConnections()
		eventually(t, 2*time.Second, func() bool { return strings.Contains(log.String(), tc.want) }, "the access-log line")
		if !strings.Contains(log.String(), tc.want) {
			t.Errorf("access log lacks %q:\n%s", tc.want, log.String())
		}
	}
}
