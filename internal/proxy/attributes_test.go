package proxy

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/proxy/desync"
)

// TestSetAttributesLive: the desync mitigation mode and
// drop_invalid_header_fields change on a running proxy (as
// ModifyLoadBalancerAttributes changes them on AWS), on every path,
// including connections opened before the change.
func TestSetAttributesLive(t *testing.T) {
	everyPath(t, func(t *testing.T, base Options, protocol string) {
		st := startSeenTarget(t)
		l := rulesProxy(t, base, protocol, st)
		exercise(t, l)
		before := dialListener(t, l) // open before the change
		before.send("GET /warm HTTP/1.1\r\nHost: h\r\n\r\n")
		before.read("GET")
		if err := l.p.SetAttributes(Attributes{DesyncMode: desync.Strictest}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*rawConn{before, dialListener(t, l)} {
			c.send(strings.Replace(smuggle, "%s", "/echo", 1))
			if res, _ := c.read("POST"); res.StatusCode != 400 {
				t.Fatalf("strictest set live: a request with both framings got %d, want 400", res.StatusCode)
			}
		}
		if err := l.p.SetAttributes(Attributes{DesyncMode: desync.Defensive}); err != nil {
			t.Fatal(err)
		}
		c := dialListener(t, l)
		c.send(strings.Replace(smuggle, "%s", "/echo", 1))
		if res, _ := c.read("POST"); res.StatusCode != 200 {
			t.Fatalf("defensive again: got %d, want 200", res.StatusCode)
		}
	})
}

func TestSetAttributesDropInvalidHeaderFieldsLive(t *testing.T) {
	eachHTTPPath(t, func(t *testing.T, base Options) {
		seen := make(chan string, 4)
		b := startBackend(t, "127.0.0.2", "echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var names []string
			for name := range r.Header {
				names = append(names, name)
			}
			sort.Strings(names)
			seen <- strings.Join(names, ",")
		}))
		p := startProxy(t, base, Groups{"web": newTG(t, "web", nil, b)}, config.Listener{DefaultAction: forwardTo("web")})
		c := client()
		send := func() string {
			req, _ := http.NewRequest("GET", "http://"+p.Listeners()[0].Addr()+"/", nil)
			req.Header["X_Forwarded_For"] = []string{"6.6.6.6"}
			if r := do(t, c, req); r.code != 200 {
				t.Fatalf("got %d", r.code)
			}
			return <-seen
		}
		if names := send(); !strings.Contains(strings.ToLower(names), "x_forwarded_for") {
			t.Fatalf("off: the target saw %s, want X_Forwarded_For passed", names)
		}
		if err := p.SetAttributes(Attributes{DropInvalidHeaderFields: true}); err != nil {
			t.Fatal(err)
		}
		if names := send(); strings.Contains(strings.ToLower(names), "x_forwarded_for") { // same keep-alive connection
			t.Fatalf("on, set live: the target saw %s", names)
		}
	})
}

// TestSetAttributesAccessLogLive: enabling access logs opens the file and
// logs the requests that follow; a new path switches to it; disabling
// stops the entries; a path that cannot be opened is an error and changes
// nothing.
func TestSetAttributesAccessLogLive(t *testing.T) {
	eachHTTPPath(t, func(t *testing.T, base Options) {
		dir := t.TempDir()
		first, second := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
		p := startProxy(t, base, Groups{}, config.Listener{DefaultAction: fixed("200", "ok")})
		c := client()
		url := "http://" + p.Listeners()[0].Addr()
		get(t, c, url+"/before")
		if err := p.SetAttributes(Attributes{AccessLogs: true, AccessLogPath: first}); err != nil {
			t.Fatal(err)
		}
		get(t, c, url+"/one")
		if err := p.SetAttributes(Attributes{AccessLogs: true, AccessLogPath: filepath.Join(dir, "missing", "x.log")}); err == nil ||
			!strings.Contains(err.Error(), "missing") {
			t.Fatalf("a path that cannot be opened: err %v, want an error naming it", err)
		}
		get(t, c, url+"/two") // still to the first file
		if err := p.SetAttributes(Attributes{AccessLogs: true, AccessLogPath: second}); err != nil {
			t.Fatal(err)
		}
		get(t, c, url+"/three")
		if err := p.SetAttributes(Attributes{}); err != nil {
			t.Fatal(err)
		}
		get(t, c, url+"/four")
		_ = p.Shutdown(t.Context())
		a, _ := os.ReadFile(first)
		b, _ := os.ReadFile(second)
		for _, w := range []struct {
			log       []byte
			has, hasn []string
		}{{a, []string{"/one", "/two"}, []string{"/before", "/three", "/four"}}, {b, []string{"/three"}, []string{"/two", "/four"}}} {
			for _, s := range w.has {
				if !strings.Contains(string(w.log), s) {
					t.Errorf("log %q lacks %s", w.log, s)
				}
			}
			for _, s := range w.hasn {
				if strings.Contains(string(w.log), s) {
					t.Errorf("log %q has %s", w.log, s)
				}
			}
		}
	})
}

// TestSetAttributesIdleTimeoutLive: on the connection loop a shorter idle
// timeout cuts a client idle after it, on a connection opened before the
// change too (its next idle wait); on HTTP and on HTTPS (HTTP/1.1 over TLS
// is served by the loop too: net/http's server kept the timeout it was
// built with).
func TestSetAttributesIdleTimeoutLive(t *testing.T) {
	for _, protocol := range []string{"HTTP", "HTTPS"} {
		t.Run(protocol, func(t *testing.T) { testSetAttributesIdleTimeoutLive(t, protocol) })
	}
}

func testSetAttributesIdleTimeoutLive(t *testing.T, protocol string) {
	p := startProxy(t, Options{}, Groups{}, config.Listener{Protocol: protocol, DefaultAction: fixed("200", "ok")})
	l := p.Listeners()[0]
	before := dialListener(t, l)
	if err := p.SetAttributes(Attributes{IdleTimeout: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		c := before
		if i == 1 {
			c = dialListener(t, l) // opened after the change
		}
		c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		c.read("GET")
		start := time.Now()
		_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.br.ReadByte(); err != io.EOF {
			t.Fatalf("idle client: read %v, want EOF (cut by the 300 ms idle timeout)", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("cut after %v", d)
		}
	}
}
