package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/awsapi/arn"
	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

func TestRulesMatchByPriority(t *testing.T) { eachHTTPPath(t, testRulesMatchByPriority) }

func testRulesMatchByPriority(t *testing.T, base Options) {
	api := startBackend(t, "127.0.0.2", "api", named("api"))
	web := startBackend(t, "127.0.0.3", "web", named("web"))
	groups := Groups{"api": newTG(t, "api", nil, api), "web": newTG(t, "web", nil, web)}
	rules := []config.Rule{
		// Listed out of order: priority decides, not position.
		{Priority: 20, Conditions: []config.Condition{{PathPattern: []string{"/api/*"}}}, Action: forwardTo("api")},
		{Priority: 10, Conditions: []config.Condition{{PathPattern: []string{"/api/admin*"}}}, Action: fixed("403", "admin is closed")},
		{Priority: 30, Conditions: []config.Condition{{HostHeader: []string{"*.Example.com"}}}, Action: fixed("200", "host")},
		{Priority: 40, Conditions: []config.Condition{{HTTPRequestMethod: []string{"DELETE"}}}, Action: fixed("405", "method")},
		{Priority: 50, Conditions: []config.Condition{{HTTPHeader: &config.HTTPHeaderCondition{HTTPHeaderName: "x-canary", Values: []string{"yes", "tr?e"}}}}, Action: fixed("200", "header")},
		{Priority: 60, Conditions: []config.Condition{{QueryString: []config.QueryStringPair{{Key: "version", Value: "v2*"}}}}, Action: fixed("200", "query")},
		{Priority: 70, Conditions: []config.Condition{{QueryString: []config.QueryStringPair{{Value: "anykey"}}}}, Action: fixed("200", "query any key")},
		{Priority: 80, Conditions: []config.Condition{{SourceIP: []string{"127.0.0.9/32"}}}, Action: fixed("200", "source 9")},
		{Priority: 90, Conditions: []config.Condition{{SourceIP: []string{"127.0.0.0/8"}}, {PathPattern: []string{"/local?"}}}, Action: fixed("200", "source and path")},
		{Priority: 100, Conditions: []config.Condition{{PathPattern: []string{"/Case"}}}, Action: fixed("200", "case")},
	}
	p := startProxy(t, fastPath(base, Options{}), groups, config.Listener{DefaultAction: forwardTo("web"), Rules: rules})
	lbURL := p.Listeners()[0].URL()
	c := client()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}}
	from9 := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}

	for _, tc := range []struct {
		name, method, path, host string
		header                   http.Header
		c                        *http.Client
		code                     int
		body                     string
	}{
		{name: "default action", path: "/", code: 200, body: "web"},
		{name: "path pattern forwards", path: "/api/users", code: 200, body: "api"},
		{name: "lower priority number wins", path: "/api/admin/x", code: 403, body: "admin is closed"},
		{name: "host header is case-insensitive, port ignored", path: "/", host: "shop.EXAMPLE.com:8080", code: 200, body: "host"},
		{name: "host wildcard needs its dot", path: "/", host: "example.com", code: 200, body: "web"},
		{name: "method", method: "DELETE", path: "/", code: 405, body: "method"},
		{name: "header value wildcard ?", path: "/", header: http.Header{"X-Canary": {"TRUE"}}, code: 200, body: "header"},
		{name: "header mismatch", path: "/", header: http.Header{"X-Canary": {"no"}}, code: 200, body: "web"},
		{name: "query key and value", path: "/?version=v2.1", code: 200, body: "query"},
		{name: "query any key", path: "/?x=anykey", code: 200, body: "query any key"},
		{name: "query mismatch", path: "/?version=v1", code: 200, body: "web"},
		{name: "source ip", path: "/", c: from9, code: 200, body: "source 9"},
		{name: "all conditions of a rule", path: "/local1", code: 200, body: "source and path"},
		{name: "? is exactly one character", path: "/local12", code: 200, body: "web"},
		{name: "path is case-sensitive", path: "/case", code: 200, body: "web"},
		{name: "path excludes the query", path: "/Case?a=b", code: 200, body: "case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req, _ := http.NewRequest(method, lbURL+tc.path, nil)
			if tc.host != "" {
				req.Host = tc.host
			}
			for k, v := range tc.header {
				req.Header[k] = v
			}
			cl := c
			if tc.c != nil {
				cl = tc.c
			}
			got := do(t, cl, req)
			if got.code != tc.code || got.body != tc.body {
				t.Fatalf("%s %s: %d %q; want %d %q", method, tc.path, got.code, got.body, tc.code, tc.body)
			}
		})
	}
}

func TestActions(t *testing.T) { eachHTTPPath(t, testActions) }

func testActions(t *testing.T, base Options) {
	a := startBackend(t, "127.0.0.2", "a", named("a"))
	b := startBackend(t, "127.0.0.3", "b", named("b"))
	groups := Groups{"a": newTG(t, "a", nil, a), "b": newTG(t, "b", nil, b)}
	zero, three, one := 0, 3, 1
	rules := []config.Rule{
		{Priority: 1, Conditions: []config.Condition{{PathPattern: []string{"/weighted"}}},
			Action: config.Action{Type: "forward", Forward: &config.ForwardAction{TargetGroups: []config.WeightedTargetGroup{{Name: "a", Weight: &three}, {Name: "b", Weight: &one}}}}},
		{Priority: 2, Conditions: []config.Condition{{PathPattern: []string{"/zero"}}},
			Action: config.Action{Type: "forward", Forward: &config.ForwardAction{TargetGroups: []config.WeightedTargetGroup{{Name: "a", Weight: &zero}, {Name: "b", Weight: &one}}}}},
		{Priority: 3, Conditions: []config.Condition{{PathPattern: []string{"/moved/*"}}},
			Action: config.Action{Type: "redirect", Redirect: &config.RedirectAction{Host: "new.example.com", Path: "/new/#{path}", Query: "from=#{host}&#{query}", StatusCode: "HTTP_302"}}},
		{Priority: 4, Conditions: []config.Condition{{PathPattern: []string{"/teapot"}}},
			Action: config.Action{Type: "fixed-response", FixedResponse: &config.FixedResponseAction{StatusCode: "503", ContentType: "application/json", MessageBody: `{"down":true}`}}},
	}
	p := startProxy(t, fastPath(base, Options{}), groups, config.Listener{DefaultAction: forwardTo("a"), Rules: rules})
	lbURL := p.Listeners()[0].URL()
	port := portOf(t, p.Listeners()[0].Addr())
	c := client()

	t.Run("forward by weight", func(t *testing.T) {
		n := map[string]int{}
		for range 400 {
			n[get(t, c, lbURL+"/weighted").body]++
		}
		if n["a"] < 240 || n["a"] > 360 || n["a"]+n["b"] != 400 {
			t.Fatalf("weights 3:1 gave %v", n)
		}
		for range 50 {
			if got := get(t, c, lbURL+"/zero").body; got != "b" {
				t.Fatalf("weight 0 group got a request")
			}
		}
	})
	t.Run("redirect 302 with placeholders", func(t *testing.T) {
		got := get(t, c, lbURL+"/moved/x/y?k=v")
		want := "http://new.example.com:" + port + "/new/moved/x/y?from=127.0.0.1&k=v"
		if got.code != 302 || got.header.Get("Location") != want {
			t.Fatalf("got %d Location %q; want 302 %q", got.code, got.header.Get("Location"), want)
		}
	})
	t.Run("fixed response", func(t *testing.T) {
		got := get(t, c, lbURL+"/teapot")
		if got.code != 503 || got.body != `{"down":true}` || !strings.HasPrefix(got.header.Get("Content-Type"), "application/json") {
			t.Fatalf("got %d %q %q", got.code, got.header.Get("Content-Type"), got.body)
		}
	})
}

// TestHTTPToHTTPSRedirect is the canonical redirect of the ALB user guide ("Redirect actions"),
// with the HTTPS listener's port, followed to an HTTP/2 answer.
func TestHTTPToHTTPSRedirect(t *testing.T) {
	a := startBackend(t, "127.0.0.2", "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("X-Forwarded-Proto")+" "+r.URL.RequestURI())
	}))
	groups := Groups{"a": newTG(t, "a", nil, a)}
	p := newProxy(Options{})
	https, err := p.NewListener(config.Listener{Protocol: "HTTPS", Address: "127.0.0.1", Port: 0, DefaultAction: forwardTo("a")}, groups)
	if err != nil {
		t.Fatal(err)
	}
	p.listeners = append(p.listeners, https)
	if err := https.bind(); err != nil {
		t.Fatal(err)
	}
	redirect := config.Action{Type: "redirect", Redirect: &config.RedirectAction{
		Protocol: "HTTPS", Port: https.port, Host: "#{host}", Path: "/#{path}", Query: "#{query}", StatusCode: "HTTP_301"}}
	http1, err := p.NewListener(config.Listener{Protocol: "HTTP", Address: "127.0.0.1", DefaultAction: redirect}, groups)
	if err != nil {
		t.Fatal(err)
	}
	p.listeners = append(p.listeners, http1)
	if err := http1.bind(); err != nil {
		t.Fatal(err)
	}
	go https.run()
	go http1.run()
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })

	c := client()
	got := get(t, c, http1.URL()+"/a/b?x=1&y=2")
	want := "https://127.0.0.1:" + https.port + "/a/b?x=1&y=2"
	if got.code != 301 || got.header.Get("Location") != want {
		t.Fatalf("got %d %q; want 301 %q", got.code, got.header.Get("Location"), want)
	}
	h2 := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := h2.Get(want)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.ProtoMajor != 2 || string(body) != "https /a/b?x=1&y=2" {
		t.Fatalf("HTTPS answer: %s %q; want HTTP/2 and the target's body", res.Proto, body)
	}
	fp := https.CertificateFingerprint()
	if !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(fp) || fingerprint(&tls.Certificate{Certificate: [][]byte{res.TLS.PeerCertificates[0].Raw}}) != fp {
		t.Fatalf("fingerprint %q does not match the certificate served", fp)
	}
}

func TestForwardedHeaders(t *testing.T) { eachHTTPPath(t, testForwardedHeaders) }

func testForwardedHeaders(t *testing.T, base Options) {
	seen := make(chan *http.Request, 1)
	a := startBackend(t, "127.0.0.2", "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen <- r }))
	groups := Groups{"a": newTG(t, "a", nil, a)}
	p := startProxy(t, fastPath(base, Options{}), groups, config.Listener{DefaultAction: forwardTo("a")})
	l := p.Listeners()[0]
	port := portOf(t, l.Addr())
	root := regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`)
	for _, tc := range []struct {
		name         string
		header       http.Header
		xff          string
		trace        *regexp.Regexp
		host, wantHo string
	}{
		{name: "fresh", xff: "127.0.0.1", trace: root, host: "App.Example.com", wantHo: "app.example.com"},
		{name: "client X-Forwarded-For kept and appended, others replaced",
			header: http.Header{"X-Forwarded-For": {"203.0.113.7, 10.0.0.1"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Port": {"443"}},
			xff:    "203.0.113.7, 10.0.0.1, 127.0.0.1", trace: root},
		{name: "Self added before a client's Root",
			header: http.Header{"X-Amzn-Trace-Id": {"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}},
			xff:    "127.0.0.1", trace: regexp.MustCompile(`^Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1$`)},
		{name: "Self replaced",
			header: http.Header{"X-Amzn-Trace-Id": {"Self=1-00000000-000000000000000000000000;Root=1-5759e988-bd862e3fe1be46a994272793"}},
			xff:    "127.0.0.1", trace: regexp.MustCompile(`^Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=1-5759e988-bd862e3fe1be46a994272793$`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, l.URL()+"/x", nil)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			before := time.Now().Unix()
			got := do(t, client(), req)
			r := <-seen
			if got.code != 200 {
				t.Fatalf("status %d", got.code)
			}
			h := r.Header
			if h.Get("X-Forwarded-For") != tc.xff || h.Get("X-Forwarded-Proto") != "http" || h.Get("X-Forwarded-Port") != port {
				t.Fatalf("X-Forwarded-For %q Proto %q Port %q; want %q http %s", h.Get("X-Forwarded-For"), h.Get("X-Forwarded-Proto"), h.Get("X-Forwarded-Port"), tc.xff, port)
			}
			trace := h.Get("X-Amzn-Trace-Id")
			if !tc.trace.MatchString(trace) {
				t.Fatalf("X-Amzn-Trace-Id %q does not match %s", trace, tc.trace)
			}
			if epoch := trace[strings.Index(trace, "1-")+2:][:8]; epoch < formatHex(before) {
				t.Fatalf("trace epoch %s is before the request (%x)", epoch, before)
			}
			if tc.wantHo != "" && r.Host != tc.wantHo {
				t.Fatalf("Host %q; want %q", r.Host, tc.wantHo)
			}
		})
	}
}

func formatHex(v int64) string { return string(appendHex(nil, uint64(v), 8)) }

func TestLoadBalancerErrors(t *testing.T) { eachHTTPPath(t, testLoadBalancerErrors) }

func testLoadBalancerErrors(t *testing.T, base Options) {
	// malformed answers garbage instead of an HTTP response.
	malformed, err := net.Listen("tcp", "127.0.0.4:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = malformed.Close() })
	go func() {
		for {
			conn, err := malformed.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = bufio.NewReader(conn).ReadString('\n')
				_, _ = io.WriteString(conn, "this is not HTTP\r\n\r\n")
			}()
		}
	}()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := startBackend(t, "127.0.0.5", "slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	refused := closedTarget(t, "127.0.0.3", "refused")

	groups := Groups{
		"refused":   newTG(t, "refused", nil),
		"malformed": newTG(t, "malformed", nil),
		"empty":     newTG(t, "empty", nil),
		"slow":      newTG(t, "slow", nil, slow),
	}
	groups["refused"].Register(refused)
	mt := healthcheck.Target{ID: "malformed", IP: "127.0.0.4", Port: malformed.Addr().(*net.TCPAddr).Port}
	groups["malformed"].Register(mt)
	rules := []config.Rule{}
	for i, name := range []string{"refused", "malformed", "empty", "slow"} {
		rules = append(rules, config.Rule{Priority: i + 1, Conditions: []config.Condition{{PathPattern: []string{"/" + name}}}, Action: forwardTo(name)})
	}
	log := &syncBuffer{}
	p := startProxy(t, fastPath(base, Options{IdleTimeout: 200 * time.Millisecond, AccessLog: log}), groups, config.Listener{DefaultAction: fixed("404", "no"), Rules: rules})
	lbURL := p.Listeners()[0].URL()
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/refused", 502}, {"/malformed", 502}, {"/empty", 503}, {"/slow", 504},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got := get(t, client(), lbURL+tc.path)
			if got.code != tc.code || got.header.Get("Server") != "awselb/2.0" || !strings.Contains(got.body, "<h1>"+strconv.Itoa(tc.code)) {
				t.Fatalf("got %d %q %q; want the load balancer's own %d", got.code, got.header.Get("Server"), got.body, tc.code)
			}
		})
	}
	_ = p.Shutdown(context.Background()) // flushes the log
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("access log has %d lines; want 4:\n%s", len(lines), log.String())
	}
	for i, want := range []string{" 502 - ", " 502 - ", " 503 - ", " 504 - "} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q lacks %q", i, lines[i], want)
		}
	}
}

func TestFailOpenAndHealthyOnly(t *testing.T) { eachHTTPPath(t, testFailOpenAndHealthyOnly) }

func testFailOpenAndHealthyOnly(t *testing.T, base Options) {
	a := startBackend(t, "127.0.0.2", "a", named("a"))
	b := startBackend(t, "127.0.0.3", "b", named("b"))
	g := newTG(t, "g", nil, a, b)
	p := startProxy(t, fastPath(base, Options{}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
	url := p.Listeners()[0].URL()
	c := client()
	spread := func() map[string]int {
		n := map[string]int{}
		for range 20 {
			r := get(t, c, url)
			if r.code != 200 {
				t.Fatalf("status %d", r.code)
			}
			n[r.body]++
		}
		return n
	}
	bad := healthcheck.Health(healthcheck.StateUnhealthy, healthcheck.ReasonResponseCodeMismatch)
	g.SetHealth(a.target, bad)
	if n := spread(); n["a"] != 0 || n["b"] != 20 {
		t.Fatalf("a unhealthy: %v; want all to b", n)
	}
	g.SetHealth(b.target, bad)
	if n := spread(); n["a"] != 10 || n["b"] != 10 {
		t.Fatalf("both unhealthy: %v; want fail open, 10 each", n)
	}
}

// TestRealHealthChecksRoute: the group's own checker probes a real target
// and the proxy routes by its verdict.
func TestRealHealthChecksRoute(t *testing.T) { eachHTTPPath(t, testRealHealthChecksRoute) }

func testRealHealthChecksRoute(t *testing.T, base Options) {
	var sick atomic.Bool
	a := startBackend(t, "127.0.0.2", "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == healthcheck.UserAgent && sick.Load() {
			w.WriteHeader(500)
		}
		_, _ = io.WriteString(w, "a")
	}))
	b := startBackend(t, "127.0.0.3", "b", named("b"))
	g := newTG(t, "g", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	sick.Store(true)
	g.Register(a.target)
	g.Register(b.target)
	eventually(t, 5*time.Second, func() bool { return g.Health(b.target).State == healthcheck.StateHealthy }, "b to turn healthy")
	p := startProxy(t, fastPath(base, Options{}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
	for range 10 {
		if got := get(t, client(), p.Listeners()[0].URL()).body; got != "b" {
			t.Fatalf("request went to %q while a is not healthy (%v)", got, g.Health(a.target))
		}
	}
}

func TestDrainingFinishesInFlight(t *testing.T) { eachHTTPPath(t, testDrainingFinishesInFlight) }

func testDrainingFinishesInFlight(t *testing.T, base Options) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	a := startBackend(t, "127.0.0.2", "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "a")
	}))
	b := startBackend(t, "127.0.0.3", "b", named("b"))
	g := newTG(t, "g", nil, a)
	g.SetDeregistrationDelay(time.Hour)
	p := startProxy(t, fastPath(base, Options{}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
	url := p.Listeners()[0].URL()
	slow := make(chan reply, 1)
	go func() {
		res, err := client().Get(url + "/slow")
		if err != nil {
			slow <- reply{code: -1, body: err.Error()}
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		slow <- reply{code: res.StatusCode, body: string(body)}
	}()
	<-entered
	g.Register(b.target)
	g.SetHealth(b.target, healthcheck.TargetHealth{State: healthcheck.StateHealthy})
	done := g.Deregister(a.target)
	for range 10 {
		if got := get(t, client(), url).body; got != "b" {
			t.Fatalf("a new request went to %q while a drains", got)
		}
	}
	select {
	case <-done:
		t.Fatal("deregistration complete while a request is in flight")
	default:
	}
	close(release)
	if got := <-slow; got.code != 200 || got.body != "a" {
		t.Fatalf("in-flight request: %d %q; want 200 from a", got.code, got.body)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("deregistration not complete after the in-flight request ended")
	}
	if h := g.Health(a.target); h.State != healthcheck.StateDraining {
		t.Fatalf("a is %v before the delay ended; want draining", h)
	}
}

// TestDeregistrationDelayCutsInFlight: when the deregistration delay runs
// out with requests still in flight, the ALB ends them: a 502 for one
// without a response yet ("deregistration delay elapsed mid-request"), a
// cut connection for one whose response had begun.
func TestDeregistrationDelayCutsInFlight(t *testing.T) {
	eachHTTPPath(t, testDeregistrationDelayCutsInFlight)
}

func testDeregistrationDelayCutsInFlight(t *testing.T, base Options) {
	entered := make(chan struct{}, 2)
	release := make(chan struct{})
	defer close(release)
	a := startBackend(t, "127.0.0.2", "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/begun" {
			// Half of it, more than any buffer on the way holds back.
			w.Header().Set("Content-Length", strconv.Itoa(128<<10))
			_, _ = io.WriteString(w, strings.Repeat("h", 64<<10))
			w.(http.Flusher).Flush()
		}
		entered <- struct{}{}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		_, _ = io.WriteString(w, "late")
	}))
	g := newTG(t, "g", nil, a)
	g.SetDeregistrationDelay(300 * time.Millisecond)
	p := startProxy(t, fastPath(base, Options{}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
	url := p.Listeners()[0].URL()
	results := make(chan reply, 2)
	for _, path := range []string{"/waiting", "/begun"} {
		go func() {
			res, err := client().Get(url + path)
			if err != nil {
				results <- reply{code: -1, body: path + ": " + err.Error()}
				return
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				results <- reply{code: -2, body: path + ": " + strconv.Itoa(len(body)) + " bytes"}
				return
			}
			results <- reply{code: res.StatusCode, body: path + ": " + string(body)}
		}()
	}
	<-entered
	<-entered
	start := time.Now()
	g.Deregister(a.target)
	got := map[int]string{}
	for range 2 {
		select {
		case r := <-results:
			got[r.code] = r.body
		case <-time.After(5 * time.Second):
			t.Fatalf("requests still in flight 5 s after a 300 ms deregistration delay; got %v", got)
		}
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("in-flight requests ended %v after deregistration; want after the 300 ms delay", d)
	}
	if !strings.HasPrefix(got[502], "/waiting") {
		t.Errorf("the request without a response: %v; want a 502", got)
	}
	if got[-2] == "" || got[-2] == "/begun: 131072 bytes" {
		t.Errorf("the request whose response had begun: %v; want its body cut short", got)
	}
}

func TestLeastOutstandingUnderSkewedLatency(t *testing.T) {
	eachHTTPPath(t, testLeastOutstandingUnderSkewedLatency)
}

func testLeastOutstandingUnderSkewedLatency(t *testing.T, base Options) {
	slow := startBackend(t, "127.0.0.2", "slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		_, _ = io.WriteString(w, "slow")
	}))
	fast := startBackend(t, "127.0.0.3", "fast", named("fast"))
	for _, tc := range []struct {
		alg          string
		minFastShare float64
		maxFastShare float64
	}{
		{"least_outstanding_requests", 0.8, 1},
		{"round_robin", 0.45, 0.55},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			g := newTG(t, "g", func(tg *config.TargetGroup) { tg.LoadBalancingAlgorithmType = tc.alg }, slow, fast)
			p := startProxy(t, fastPath(base, Options{}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
			url := p.Listeners()[0].URL()
			c := client()
			var mu sync.Mutex
			n := map[string]int{}
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 25 {
						got := get(t, c, url)
						mu.Lock()
						n[got.body]++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			share := float64(n["fast"]) / float64(n["fast"]+n["slow"])
			if share < tc.minFastShare || share > tc.maxFastShare {
				t.Fatalf("%s: fast got %.2f of %v; want between %.2f and %.2f", tc.alg, share, n, tc.minFastShare, tc.maxFastShare)
			}
		})
	}
}

// TestRetryOnKilledTarget: one of three targets crashes and comes back
// under load; its health checks have not noticed yet, so requests are still
// routed to it, and each one whose connection is refused is retried on
// another target. Clients see no error.
func TestRetryOnKilledTarget(t *testing.T) { eachHTTPPath(t, testRetryOnKilledTarget) }

func testRetryOnKilledTarget(t *testing.T, base Options) {
	var bs []*backend
	for i, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		bs = append(bs, startBackend(t, ip, "t"+strconv.Itoa(i), named("t"+strconv.Itoa(i))))
	}
	g := newTG(t, "g", nil, bs...)
	p := startProxy(t, fastPath(base, Options{}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
	url := p.Listeners()[0].URL()
	c := client()
	var errs, oks atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := 0; i < 5000; i++ { // bounded
				select {
				case <-stop:
					return
				default:
				}
				res, err := c.Get(url)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				if err != nil || res.StatusCode != 200 {
					errs.Add(1)
					if err == nil {
						err = errStatus(res.StatusCode)
					}
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				oks.Add(1)
			}
		})
	}
	waitFor := func(n int64) {
		eventually(t, 5*time.Second, func() bool { return oks.Load() >= n }, "answered requests")
	}
	waitFor(200)
	bs[1].stop()
	before := oks.Load()
	waitFor(before + 300)
	bs[1].restart()
	before = oks.Load()
	waitFor(before + 300)
	close(stop)
	wg.Wait()
	if errs.Load() != 0 {
		t.Fatalf("%d client errors (first: %v) with %d successes", errs.Load(), firstErr.Load(), oks.Load())
	}
	if oks.Load() < 800 {
		t.Fatalf("only %d requests done", oks.Load())
	}
}

type errStatus int

func (e errStatus) Error() string { return "status " + strconv.Itoa(int(e)) }

func TestGracefulShutdownCutsNoRequest(t *testing.T) {
	eachHTTPPath(t, testGracefulShutdownCutsNoRequest)
}

func testGracefulShutdownCutsNoRequest(t *testing.T, base Options) {
	entered := make(chan struct{}, 16)
	a := startBackend(t, "127.0.0.2", "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		time.Sleep(150 * time.Millisecond)
		_, _ = io.WriteString(w, "done")
	}))
	g := newTG(t, "g", nil, a)
	p := startProxy(t, fastPath(base, Options{}), Groups{"g": g}, config.Listener{DefaultAction: forwardTo("g")})
	url := p.Listeners()[0].URL()
	results := make(chan string, 4)
	for range 4 {
		go func() {
			res, err := client().Get(url)
			if err != nil {
				results <- err.Error()
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			results <- string(b)
		}()
	}
	for range 4 {
		<-entered
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for range 4 {
		if got := <-results; got != "done" {
			t.Fatalf("request cut by shutdown: %s", got)
		}
	}
	if _, err := net.DialTimeout("tcp", p.Listeners()[0].Addr(), time.Second); err == nil {
		t.Fatal("listener still accepting after shutdown")
	}
}

func TestAccessLogAndRecorder(t *testing.T) { eachHTTPPath(t, testAccessLogAndRecorder) }

func testAccessLogAndRecorder(t *testing.T, base Options) {
	a := startBackend(t, "127.0.0.2", "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		_, _ = io.WriteString(w, "created")
	}))
	g := newTG(t, "web", nil, a)
	log := &syncBuffer{}
	rec := &recordSink{}
	p := startProxy(t, fastPath(base, Options{AccessLog: log, Recorder: rec, LoadBalancerName: "my-env", Region: "eu-west-1"}), Groups{"web": g},
		config.Listener{DefaultAction: forwardTo("web"), Rules: []config.Rule{
			{Priority: 7, Conditions: []config.Condition{{PathPattern: []string{"/fixed"}}}, Action: fixed("200", "ok")}}})
	url := p.Listeners()[0].URL()
	port := portOf(t, p.Listeners()[0].Addr())
	req, _ := http.NewRequest("GET", url+"/p?q=1", nil)
	req.Header.Set("User-Agent", `curl/8 "quoted"`)
	kept := client()
	if got := do(t, kept, req); got.code != 201 {
		t.Fatalf("status %d", got.code)
	}
	get(t, kept, url+"/fixed") // the same connection, kept alive
	get(t, client(), url+"/fixed")
	_ = p.Shutdown(context.Background())

	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("access log: %d lines; want 3:\n%s", len(lines), log.String())
	}
	// conn_trace_id: one per client connection, on each of its requests.
	var tids []string
	for _, l := range lines {
		f := regexp.MustCompile(`"(?:[^"\\]|\\.)*"|\S+`).FindAllString(l, -1)
		if len(f) < 30 || !regexp.MustCompile(`^TID_[0-9a-f]{32}$`).MatchString(f[29]) {
			t.Fatalf("conn_trace_id malformed in %s", l)
		}
		tids = append(tids, f[29])
	}
	if tids[0] != tids[1] || tids[1] == tids[2] {
		t.Errorf("conn_trace_ids %q; want the first two (one connection) equal, the third different", tids)
	}
	field := `"(?:[^"\\]|\\.)*"|\S+`
	fields := regexp.MustCompile(field).FindAllString(lines[0], -1)
	// 29 classic fields, conn_trace_id, and the three transform fields.
	if len(fields) != 33 {
		t.Fatalf("%d fields; want 33: %q", len(fields), fields)
	}
	want := map[int]string{
		0: "http", 2: "app/my-env/" + arn.ResourceID("my-env"), 4: a.target.Addr(), 8: "201", 9: "201",
		12: `"GET http://127.0.0.1:` + port + `/p?q=1 HTTP/1.1"`, 13: `"curl/8 \"quoted\""`, 14: "-", 15: "-",
		16: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/" + arn.ResourceID("web"),
		18: `"-"`, 19: `"-"`, 20: "0", 22: `"forward"`, 23: `"-"`, 24: `"-"`, 25: `"` + a.target.Addr() + `"`, 26: `"201"`,
	}
	for i, w := range want {
		if fields[i] != w {
			t.Errorf("field %d = %s; want %s", i, fields[i], w)
		}
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`).MatchString(fields[1]) ||
		!regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(fields[3]) ||
		!regexp.MustCompile(`^"Root=1-[0-9a-f]{8}-[0-9a-f]{24}"$`).MatchString(fields[17]) {
		t.Errorf("time %s client %s trace %s malformed", fields[1], fields[3], fields[17])
	}
	for i := 5; i <= 7; i++ {
		if !regexp.MustCompile(`^\d+\.\d{3}$`).MatchString(fields[i]) {
			t.Errorf("processing time field %d = %s", i, fields[i])
		}
	}
	// A fixed response's processing is all request processing: a
	// millisecond or so (more under -race on a busy machine), then 0 0.
	if !strings.Contains(lines[1], ` 7 `) || !strings.Contains(lines[1], `"fixed-response"`) ||
		!regexp.MustCompile(` - 0\.0\d\d 0\.000 0\.000 200 - `).MatchString(lines[1]) {
		t.Errorf("fixed-response line: %s", lines[1])
	}
	recs := rec.all()
	if len(recs) != 1 || recs[0].Target != a.target || recs[0].Group != "web" || recs[0].StatusCode != 201 ||
		recs[0].TargetStatusCode != 201 || recs[0].Latency <= 0 || recs[0].TargetLatency <= 0 {
		t.Fatalf("records %+v; want one 201 from a", recs)
	}
}

func TestReconfigureSwapsRoutesAtomically(t *testing.T) {
	eachHTTPPath(t, testReconfigureSwapsRoutesAtomically)
}

func testReconfigureSwapsRoutesAtomically(t *testing.T, base Options) {
	a := startBackend(t, "127.0.0.2", "a", named("a"))
	groups := Groups{"a": newTG(t, "a", nil, a)}
	cfg := &config.Config{Listeners: []config.Listener{{Protocol: "HTTP", Address: "127.0.0.1", DefaultAction: fixed("200", "old")}}}
	p := startProxy(t, fastPath(base, Options{}), groups, cfg.Listeners[0])
	url := p.Listeners()[0].URL()
	if got := get(t, client(), url).body; got != "old" {
		t.Fatalf("before: %q", got)
	}
	ctx := context.Background()
	cfg.Listeners[0].DefaultAction = forwardTo("a")
	if changes, err := p.Reconfigure(ctx, cfg, groups); err != nil || len(changes) != 0 {
		t.Fatalf("reconfigure: %v, changes %v; want the running listener kept", err, changes)
	}
	if got := get(t, client(), url).body; got != "a" {
		t.Fatalf("after Reconfigure: %q; want a", got)
	}
	cfg.Listeners[0].DefaultAction = forwardTo("missing")
	if _, err := p.Reconfigure(ctx, cfg, groups); err == nil || !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("Reconfigure to a missing group: %v", err)
	}
	if got := get(t, client(), url).body; got != "a" {
		t.Fatalf("a failed Reconfigure changed the routes: %q", got)
	}
}

// TestNewFromConfig builds the listeners of an environment from its config,
// with the access log file it names.
func TestNewFromConfig(t *testing.T) {
	a := startBackend(t, "127.0.0.2", "a", named("a"))
	path := t.TempDir() + "/access.log"
	cfg := &config.Config{Name: "env", Region: "us-east-2",
		LoadBalancer: config.LoadBalancer{Name: "env", IdleTimeout: 60, AccessLogs: config.AccessLogs{Enabled: true, Path: path}},
		Listeners: []config.Listener{
			{Protocol: "HTTP", Address: "127.0.0.1", DefaultAction: forwardTo("web")},
			{Protocol: "HTTPS", Address: "127.0.0.1", DefaultAction: forwardTo("web")},
		}}
	p, err := New(cfg, Groups{"web": newTG(t, "web", nil, a)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	ls := p.Listeners()
	if ls[0].CertificateFingerprint() != "" || ls[1].CertificateFingerprint() == "" {
		t.Fatalf("fingerprints %q %q; want none for HTTP, one for HTTPS", ls[0].CertificateFingerprint(), ls[1].CertificateFingerprint())
	}
	for _, l := range ls {
		if got := get(t, client(), l.URL()+"/"); got.code != 200 || got.body != "a" {
			t.Fatalf("%s: %d %q", l.URL(), got.code, got.body)
		}
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "http ") || !strings.HasPrefix(lines[1], "https ") ||
		!strings.Contains(lines[0], "targetgroup/web/") || !strings.Contains(lines[1], " app/env/") {
		t.Fatalf("access log:\n%s", b)
	}
}

// TestCutDuringRetries: a deregistration cut looks at every ReverseProxy
// request's target while retries move requests to other targets; under
// -race this proves the two do not touch the same memory unguarded.
func TestCutDuringRetries(t *testing.T) {
	a := startBackend(t, "127.0.0.2", "a", named("a"))
	tg := config.DefaultTargetGroup
	tg.Name = "g"
	g := newTGFor(t, tg, closedTarget(t, "127.0.0.3", "gone"), a.target)
	other := newTG(t, "other", nil, startBackend(t, "127.0.0.4", "b", named("b")))
	m := other.Pick(nil)
	m.Release()
	p := startProxy(t, Options{DisableFastPath: true}, Groups{"g": g, "other": other}, config.Listener{DefaultAction: forwardTo("g")})
	url := p.Listeners()[0].URL()
	stop := make(chan struct{})
	cutting := make(chan struct{})
	go func() {
		defer close(cutting)
		for {
			select {
			case <-stop:
				return
			default:
				p.cut(m)
			}
		}
	}()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			c := client()
			for range 20 {
				if got := get(t, c, url); got.code != 200 || got.body != "a" {
					t.Errorf("%d %q; want 200 from a (retried away from the closed target)", got.code, got.body)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-cutting
}
