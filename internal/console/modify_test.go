package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// redirectEnv is one real target that answers 301 to everything, as Django
// with SECURE_SSL_REDIRECT answers the plain-HTTP health check, in a real
// target group "web" with short settings, behind a console whose modifier
// applies changes to the group as Env.ModifyHealthCheck does.
type redirectEnv struct {
	group   *targetgroup.Group
	target  healthcheck.Target
	probes  chan healthcheck.Result
	url     string
	mu      sync.Mutex
	applied []config.HealthCheck
}

type probeChan chan healthcheck.Result

func (c probeChan) ObserveProbe(r healthcheck.Result) {
	select {
	case c <- r:
	default:
	}
}

func newRedirectEnv(t *testing.T) *redirectEnv {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
	t.Cleanup(app.Close)
	ip, port := hostPort(t, app.URL)
	e := &redirectEnv{target: healthcheck.Target{ID: "i-0000000000redirect", IP: ip, Port: port}, probes: make(chan healthcheck.Result, 16)}
	tg := config.DefaultTargetGroup
	tg.Name, tg.Port = "web", port
	tg.HealthCheck.Interval, tg.HealthCheck.Timeout = 5, 2
	tg.HealthCheck.HealthyThreshold, tg.HealthCheck.UnhealthyThreshold = 2, 2
	var err error
	e.group, err = targetgroup.New(tg, targetgroup.Options{
		Observers: []healthcheck.ResultObserver{probeChan(e.probes)}, FirstProbeJitter: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{
		Health:       &fakeHealth{env: monitor.EnvironmentHealth{EnvironmentName: "elbow-env"}},
		TargetGroups: Groups(e.group),
		ModifyHealthCheck: func(group string, hc config.HealthCheck, delay *int) error {
			if group != "web" {
				return fmt.Errorf("target group %q: %w", group, ErrTargetGroupNotFound)
			}
			s, err := hc.Settings(e.group.ProtocolVersion())
			if err != nil {
				return err
			}
			e.group.ModifyHealthCheck(s)
			if delay != nil {
				e.group.SetDeregistrationDelay(time.Duration(*delay) * time.Second)
			}
			e.mu.Lock()
			e.applied = append(e.applied, hc)
			e.mu.Unlock()
			return nil
		},
	})
	e.url = serve(t, c)
	return e
}

func (e *redirectEnv) calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.applied)
}

func patch(t *testing.T, url, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPatch, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	v := map[string]any{}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("PATCH %s: body is not a JSON object: %v\n%s", url, err, b)
	}
	return resp.StatusCode, v
}

// TestModifyMatcherAppliesFromNextProbe: the target fails with 301; after
// PATCH {"Matcher":{"HttpCode":"200-301"}} the very next probe passes with
// the same 301 and the target turns healthy; the answer shows the group's
// new settings with the others kept.
func TestModifyMatcherAppliesFromNextProbe(t *testing.T) {
	t.Parallel()
	e := newRedirectEnv(t)
	ctx := t.Context()
	go e.group.Run(ctx)
	e.group.Register(e.target)

	first := nextProbe(t, e.probes)
	if first.Passed() || first.StatusCode != http.StatusMovedPermanently || first.Reason != healthcheck.ReasonResponseCodeMismatch {
		t.Fatalf("first probe: code %d reason %q passed %v; want a 301 ResponseCodeMismatch", first.StatusCode, first.Reason, first.Passed())
	}

	code, v := patch(t, e.url+"/api/v1/target-groups/web", "application/json", `{"Matcher":{"HttpCode":"200-301"},"DeregistrationDelay":7}`)
	if code != http.StatusOK {
		t.Fatalf("PATCH: %d %v", code, v)
	}
	for p, want := range map[string]any{
		"TargetGroups.0.TargetGroupName":            "web",
		"TargetGroups.0.Matcher.HttpCode":           "200-301",
		"TargetGroups.0.HealthCheckIntervalSeconds": 5.0,
		"TargetGroups.0.HealthCheckTimeoutSeconds":  2.0,
		"TargetGroups.0.HealthyThresholdCount":      2.0,
		"TargetGroups.0.HealthCheckPath":            "/",
		"TargetGroups.0.HealthCheckPort":            "traffic-port",
		"TargetGroups.0.DeregistrationDelay":        7.0,
	} {
		if got := path(t, v, p); got != want {
			t.Errorf("%s = %v, want %v", p, got, want)
		}
	}
	if d := e.group.DeregistrationDelay(); d != 7*time.Second {
		t.Errorf("deregistration delay %v, want 7s", d)
	}

	next := nextProbe(t, e.probes)
	if !next.Passed() || next.StatusCode != http.StatusMovedPermanently {
		t.Fatalf("probe after the change: code %d reason %q; want a passing 301", next.StatusCode, next.Reason)
	}
	waitFor(t, "the target to turn healthy", func() bool {
		return e.group.Health(e.target).State == healthcheck.StateHealthy
	})

	// The change is an event of /api/v1/events, newest first.
	_, _, ev := fetch(t, http.MethodGet, e.url+"/api/v1/events")
	msg, _ := path(t, ev, "Events.0.Message").(string)
	for _, want := range []string{"Target group web modified", "Matcher 200 → 200-301", "DeregistrationDelay 7 s"} {
		if !strings.Contains(msg, want) {
			t.Errorf("event %q does not say %q", msg, want)
		}
	}
}

func nextProbe(t *testing.T, c <-chan healthcheck.Result) healthcheck.Result {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no probe within 10 s")
		return healthcheck.Result{}
	}
}

// TestModifyValidation: every rule of the config file's health_check block
// answers 400 ValidationError with the file's wording, each problem by
// field and all of them in the Message; nothing is applied.
func TestModifyValidation(t *testing.T) {
	t.Parallel()
	e := newRedirectEnv(t)
	cases := []struct {
		body string
		want map[string]string // field -> message
	}{
		{`{"HealthCheckIntervalSeconds":3}`, map[string]string{
			"HealthCheckIntervalSeconds": "3 is out of range: must be between 5 and 300 seconds"}},
		{`{"HealthCheckIntervalSeconds":2}`, map[string]string{
			"HealthCheckIntervalSeconds": "2 is out of range: must be between 5 and 300 seconds|Health check interval must be greater than the timeout. (interval 2, timeout 2)"}},
		{`{"HealthCheckIntervalSeconds":301}`, map[string]string{"HealthCheckIntervalSeconds": "301 is out of range: must be between 5 and 300 seconds"}},
		{`{"HealthCheckTimeoutSeconds":1}`, map[string]string{"HealthCheckTimeoutSeconds": "1 is out of range: must be between 2 and 120 seconds"}},
		{`{"HealthCheckTimeoutSeconds":5}`, map[string]string{"HealthCheckIntervalSeconds": "Health check interval must be greater than the timeout. (interval 5, timeout 5)"}},
		{`{"HealthyThresholdCount":11}`, map[string]string{"HealthyThresholdCount": "11 is out of range: must be between 2 and 10"}},
		{`{"UnhealthyThresholdCount":1}`, map[string]string{"UnhealthyThresholdCount": "1 is out of range: must be between 2 and 10"}},
		{`{"HealthCheckPath":""}`, map[string]string{"HealthCheckPath": `"" has 0 characters: a path has 1 to 1024`}},
		{`{"HealthCheckPath":"health"}`, map[string]string{"HealthCheckPath": `"health" must begin with /`}},
		{`{"HealthCheckPath":"/` + strings.Repeat("a", 1024) + `"}`, map[string]string{"HealthCheckPath": `"/` + strings.Repeat("a", 1024) + `" has 1025 characters: a path has 1 to 1024`}},
		{`{"HealthCheckPort":"0"}`, map[string]string{"HealthCheckPort": `"0" is not allowed: must be traffic-port or a port between 1 and 65535`}},
		{`{"HealthCheckPort":"http"}`, map[string]string{"HealthCheckPort": `"http" is not allowed: must be traffic-port or a port between 1 and 65535`}},
		{`{"HealthCheckProtocol":"TCP"}`, map[string]string{"HealthCheckProtocol": `"TCP" is not allowed: must be one of HTTP, HTTPS`}},
		{`{"Matcher":{"HttpCode":""}}`, map[string]string{"Matcher": "Health check matcher HTTP code cannot be empty (allowed: codes between 200 and 499 as 200, 200,202 or 200-299)"}},
		{`{"DeregistrationDelay":3601}`, map[string]string{"DeregistrationDelay": "3601 is out of range: must be between 0 and 3600 seconds"}},
		{`{"DeregistrationDelay":-1}`, map[string]string{"DeregistrationDelay": "-1 is out of range: must be between 0 and 3600 seconds"}},
		{`{"HealthyThresholdCount":1,"UnhealthyThresholdCount":11,"Matcher":{"HttpCode":""},"DeregistrationDelay":4000}`, map[string]string{
			"HealthyThresholdCount":   "1 is out of range: must be between 2 and 10",
			"UnhealthyThresholdCount": "11 is out of range: must be between 2 and 10",
			"Matcher":                 "Health check matcher HTTP code cannot be empty (allowed: codes between 200 and 499 as 200, 200,202 or 200-299)",
			"DeregistrationDelay":     "4000 is out of range: must be between 0 and 3600 seconds",
		}},
	}
	for _, tc := range cases {
		code, v := patch(t, e.url+"/api/v1/target-groups/web", "application/json", tc.body)
		if code != http.StatusBadRequest || path(t, v, "Error.Code") != "ValidationError" {
			t.Errorf("%.60s: %d %v, want 400 ValidationError", tc.body, code, v)
			continue
		}
		got := map[string]string{}
		for _, fe := range v["Errors"].([]any) {
			m := fe.(map[string]any)
			f := m["Field"].(string)
			if got[f] != "" {
				got[f] += "|"
			}
			got[f] += m["Message"].(string)
		}
		message := path(t, v, "Error.Message").(string)
		for f, want := range tc.want {
			if got[f] != want {
				t.Errorf("%.60s: %s: %q, want %q", tc.body, f, got[f], want)
			}
			for _, w := range strings.Split(want, "|") {
				if !strings.Contains(message, f+": "+w) {
					t.Errorf("%.60s: Message %q does not list %q", tc.body, message, f+": "+w)
				}
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%.60s: errors for %v, want only %v", tc.body, got, tc.want)
		}
	}
	// A matcher outside 200-499 has the file's words too: compare with the
	// file's own validation.
	code, v := patch(t, e.url+"/api/v1/target-groups/web", "application/json", `{"Matcher":{"HttpCode":"600"}}`)
	fileErrs := config.ValidateHealthCheck(func() config.HealthCheck { h := config.DefaultHealthCheck; h.Matcher = "600"; return h }(), "HTTP1")
	if code != http.StatusBadRequest || len(fileErrs) != 1 || path(t, v, "Errors.0.Message") != fileErrs[0].Msg {
		t.Errorf("matcher 600: %d %v; the file says %v", code, v, fileErrs)
	}
	if n := e.calls(); n != 0 {
		t.Errorf("%d invalid modifications were applied", n)
	}
	if m := e.group.HealthCheck().Matcher.String(); m != "200" {
		t.Errorf("matcher is %q after refused changes, want 200", m)
	}
}

// TestModifyRefusals: unknown group 404, wrong content type 415, unknown
// field or malformed JSON 400, wrong method 405; nothing applied.
func TestModifyRefusals(t *testing.T) {
	t.Parallel()
	e := newRedirectEnv(t)
	good := `{"Matcher":{"HttpCode":"200-301"}}`
	cases := []struct {
		name, path, ctype, body string
		code                    int
		errCode, msg            string
	}{
		{"unknown group", "/api/v1/target-groups/nope", "application/json", good, 404, "TargetGroupNotFound", `"nope"`},
		{"no content type", "/api/v1/target-groups/web", "", good, 415, "UnsupportedMediaType", "application/json"},
		{"form content type", "/api/v1/target-groups/web", "application/x-www-form-urlencoded", good, 415, "UnsupportedMediaType", "application/json"},
		{"text content type", "/api/v1/target-groups/web", "text/plain", good, 415, "UnsupportedMediaType", "application/json"},
		{"unknown field", "/api/v1/target-groups/web", "application/json", `{"HealthCheckIntervalSecond":10}`, 400, "ValidationError", `unknown field "HealthCheckIntervalSecond"`},
		{"unknown nested field", "/api/v1/target-groups/web", "application/json", `{"Matcher":{"Code":"0"}}`, 400, "ValidationError", `unknown field "Code"`},
		{"gRPC codes for an HTTP1 group", "/api/v1/target-groups/web", "application/json", `{"Matcher":{"GrpcCode":"0"}}`, 400, "ValidationError", "GrpcCode applies only to a target group with the protocol-version 'GRPC' (this one is 'HTTP1')"},
		{"wrong type", "/api/v1/target-groups/web", "application/json", `{"HealthCheckIntervalSeconds":"10"}`, 400, "ValidationError", "HealthCheckIntervalSeconds must be a JSON integer"},
		{"port as a number", "/api/v1/target-groups/web", "application/json", `{"HealthCheckPort":8080}`, 400, "ValidationError", "HealthCheckPort must be a JSON string"},
		{"malformed", "/api/v1/target-groups/web", "application/json", `{"Matcher":`, 400, "ValidationError", "not a valid modification"},
		{"empty", "/api/v1/target-groups/web", "application/json", ``, 400, "ValidationError", "empty"},
		{"two values", "/api/v1/target-groups/web", "application/json", good + good, 400, "ValidationError", "more than one JSON value"},
		{"unknown parameter", "/api/v1/target-groups/web?dry=1", "application/json", good, 400, "InvalidParameterValue", `"dry"`},
	}
	for _, tc := range cases {
		code, v := patch(t, e.url+tc.path, tc.ctype, tc.body)
		if code != tc.code || path(t, v, "Error.Code") != tc.errCode || !strings.Contains(path(t, v, "Error.Message").(string), tc.msg) {
			t.Errorf("%s: %d %v, want %d %s saying %q", tc.name, code, v, tc.code, tc.errCode, tc.msg)
		}
	}
	// A body too large to be settings.
	code, v := patch(t, e.url+"/api/v1/target-groups/web", "application/json", `{"HealthCheckPath":"/`+strings.Repeat("a", maxModifyBody)+`"}`)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(path(t, v, "Error.Message").(string), "larger than") {
		t.Errorf("large body: %d %v", code, v)
	}
	// PUT and DELETE are not PATCH; GET describes the one group.
	if code, hdr, _ := fetch(t, http.MethodDelete, e.url+"/api/v1/target-groups/web"); code != http.StatusMethodNotAllowed || hdr.Get("Allow") != "GET, PATCH" {
		t.Errorf("DELETE: %d Allow %q, want 405 GET, PATCH", code, hdr.Get("Allow"))
	}
	if code, _, v := fetch(t, http.MethodGet, e.url+"/api/v1/target-groups/web"); code != http.StatusOK || path(t, v, "TargetGroups.0.Matcher.HttpCode") != "200" {
		t.Errorf("GET one group: %d %v", code, v)
	}
	if n := e.calls(); n != 0 {
		t.Errorf("%d refused modifications were applied", n)
	}
}

// TestModifyBodyMessages: a body of the wrong shape or size is answered
// with the status and the words that say what to send instead.
func TestModifyBodyMessages(t *testing.T) {
	t.Parallel()
	e := newRedirectEnv(t)
	cases := []struct {
		name, body    string
		code          int
		errCode, want string
	}{
		{"array", `[1,2]`, 400, "ValidationError",
			`the body is a JSON array: send a JSON object of the settings to change, such as {"HealthCheckPath": "/health"}`},
		{"string", `"x"`, 400, "ValidationError",
			`the body is a JSON string: send a JSON object of the settings to change, such as {"HealthCheckPath": "/health"}`},
		{"matcher as a string", `{"Matcher":"200"}`, 400, "ValidationError", "field Matcher must be a JSON object, not string"},
		{"fraction", `{"HealthCheckIntervalSeconds":1.5}`, 400, "ValidationError", "field HealthCheckIntervalSeconds must be a JSON integer, not number 1.5"},
		{"too large", `{"HealthCheckPath":"/` + strings.Repeat("a", maxModifyBody) + `"}`, 413, "RequestEntityTooLarge",
			"the body is larger than 65536 bytes: send only the settings to change"},
		{"too large after a complete object", `{}` + strings.Repeat(" ", maxModifyBody), 413, "RequestEntityTooLarge",
			"the body is larger than 65536 bytes: send only the settings to change"},
	}
	for _, tc := range cases {
		code, v := patch(t, e.url+"/api/v1/target-groups/web", "application/json", tc.body)
		if code != tc.code || path(t, v, "Error.Code") != tc.errCode || path(t, v, "Error.Message") != tc.want {
			t.Errorf("%s: %d %v\nwant %d %s %q", tc.name, code, v, tc.code, tc.errCode, tc.want)
		}
	}
	if n := e.calls(); n != 0 {
		t.Errorf("%d refused modifications were applied", n)
	}
}

// TestModifyWithoutModifier: a console that cannot change groups says so.
func TestModifyWithoutModifier(t *testing.T) {
	t.Parallel()
	g, err := targetgroup.New(func() config.TargetGroup { tg := config.DefaultTargetGroup; tg.Name, tg.Port = "web", 80; return tg }(), targetgroup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, New(Options{TargetGroups: Groups(g)}))
	if code, v := patch(t, url+"/api/v1/target-groups/web", "application/json", `{}`); code != http.StatusServiceUnavailable {
		t.Errorf("PATCH without a modifier: %d %v, want 503", code, v)
	}
}

// TestModifyGroupRemovedMeanwhile: the modifier's ErrTargetGroupNotFound
// (a reload removed the group) is a 404, another failure a 500.
func TestModifyGroupRemovedMeanwhile(t *testing.T) {
	t.Parallel()
	g, err := targetgroup.New(func() config.TargetGroup { tg := config.DefaultTargetGroup; tg.Name, tg.Port = "web", 80; return tg }(), targetgroup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fail := ErrTargetGroupNotFound
	url := serve(t, New(Options{TargetGroups: Groups(g), ModifyHealthCheck: func(string, config.HealthCheck, *int) error { return fail }}))
	if code, v := patch(t, url+"/api/v1/target-groups/web", "application/json", `{}`); code != http.StatusNotFound || path(t, v, "Error.Code") != "TargetGroupNotFound" {
		t.Errorf("removed group: %d %v", code, v)
	}
	fail = errors.New("disk on fire")
	if code, v := patch(t, url+"/api/v1/target-groups/web", "application/json", `{}`); code != http.StatusInternalServerError {
		t.Errorf("failing modifier: %d %v", code, v)
	}
}

// TestHistoryRing: the history keeps the last historyPoints samples, oldest
// first, and /api/v1/history serves them.
func TestHistoryRing(t *testing.T) {
	t.Parallel()
	h := newHistory(3)
	if got := h.all(); len(got) != 0 {
		t.Fatalf("empty ring: %v", got)
	}
	base := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	for i := range 5 {
		h.add(apiv1.HistoryPoint{Time: base.Add(time.Duration(i) * 10 * time.Second), RequestCount: i})
	}
	got := h.all()
	if len(got) != 3 || got[0].RequestCount != 2 || got[2].RequestCount != 4 {
		t.Errorf("ring after 5 adds to 3 slots: %+v", got)
	}

	e := newEnv(t, Options{HistoryInterval: 20 * time.Millisecond})
	waitFor(t, "two history samples", func() bool { return len(e.console.history.all()) >= 2 })
	code, _, v := fetch(t, http.MethodGet, e.url+"/api/v1/history")
	if code != http.StatusOK {
		t.Fatalf("history: %d %v", code, v)
	}
	points := v["Points"].([]any)
	if len(points) < 2 {
		t.Fatalf("history has %d points", len(points))
	}
	p := points[0].(map[string]any)
	for _, f := range []string{"Time", "RequestCount", "StatusCodes", "P99", "P50", "HealthStatus"} {
		if _, ok := p[f]; !ok {
			t.Errorf("history point has no %s: %v", f, p)
		}
	}
	if path(t, p, "HealthStatus") == "" {
		t.Errorf("history point without a status: %v", p)
	}
	if n := len(newHistory(historyPoints).points); n != 90 {
		t.Errorf("the console keeps %d points, want 90 (15 min of 10 s)", n)
	}
}

// TestDashboardServed: the page, its script and style come from the binary,
// with a policy that allows no inline script and no other origin; the
// script never writes API data as HTML.
func TestDashboardServed(t *testing.T) {
	t.Parallel()
	url := serve(t, New(Options{}))
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `<script src="/ui/app.js"`},
		{"/ui/app.js", "text/javascript", "window.__loadId"},
		{"/ui/style.css", "text/css", ".color-Green"},
	} {
		resp, err := http.Get(url + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) || !bytes.Contains(body, []byte(tc.contains)) {
			t.Errorf("%s: %d %q, want 200 %s containing %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.ctype, tc.contains)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", tc.path, csp)
		}
		if tc.path == "/ui/app.js" && bytes.Contains(body, []byte("innerHTML")) {
			t.Errorf("app.js uses innerHTML")
		}
	}
	for _, p := range []string{"/ui/nope.js", "/nope"} {
		resp, err := http.Get(url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
}
