package console

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/diagnose"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/elbow-lb/elbow/internal/targetgroup"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// env is a real environment on loopback: two app servers (one answers 200,
// the other 400, as Django does for a Host not in ALLOWED_HOSTS), a target
// group "probed" checking them, a target group "web" with the Beanstalk
// defaults and no targets, a real monitor, and the console serving them.
type env struct {
	mon     *monitor.Monitor
	probed  *targetgroup.Group
	web     *targetgroup.Group
	good    healthcheck.Target
	bad     healthcheck.Target
	console *Console
	url     string
}

func hostPort(t *testing.T, rawURL string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(strings.TrimPrefix(rawURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return host, p
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	app := func(code int) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			_, _ = io.WriteString(w, http.StatusText(code))
		}))
		t.Cleanup(s.Close)
		return s
	}
	goodSrv, badSrv := app(http.StatusOK), app(http.StatusBadRequest)
	e := &env{}
	ip, port := hostPort(t, goodSrv.URL)
	e.good = healthcheck.Target{ID: "i-0000000000000good", IP: ip, Port: port}
	ip, port = hostPort(t, badSrv.URL)
	e.bad = healthcheck.Target{ID: "i-00000000000000bad", IP: ip, Port: port}

	rules := config.DefaultEnhancedHealth
	rules.TransitionEvaluations = 1
	e.mon = monitor.New(monitor.Options{EnvironmentName: "elbow-env", Rules: rules,
		Logger: slog.New(slog.DiscardHandler)})
	launched := time.Now().Add(-time.Hour) // past the launch grace
	e.mon.AddInstance(e.good.ID, launched, nil)
	e.mon.AddInstance(e.bad.ID, launched, nil)
	e.mon.SetCapacity(1, 2)

	tg := config.DefaultTargetGroup
	tg.Name, tg.Port = "probed", port
	var err error
	e.probed, err = targetgroup.New(tg, targetgroup.Options{
		Reporters: []healthcheck.Reporter{e.mon}, Observers: []healthcheck.ResultObserver{e.mon},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Probe fast, so that the 400 target crosses the unhealthy threshold in
	// a fraction of a second; the settings are the checker's to trust.
	fast := e.probed.HealthCheck()
	// The timeout may exceed the interval here (the checker never probes a
	// target twice at once): 40 ms timed out under load (a second go build).
	fast.Interval, fast.Timeout, fast.UnhealthyThreshold = 50*time.Millisecond, 5*time.Second, 2
	e.probed.ModifyHealthCheck(fast)
	tg.Name = "web"
	if e.web, err = targetgroup.New(tg, targetgroup.Options{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go e.probed.Run(ctx)
	e.probed.Register(e.good)
	e.probed.Register(e.bad)
	waitFor(t, "the 400 target to turn unhealthy and the 200 one healthy", func() bool {
		return e.probed.Health(e.bad).State == healthcheck.StateUnhealthy &&
			e.probed.Health(e.good).State == healthcheck.StateHealthy
	})
	e.mon.Evaluate(time.Now())

	if o.Health == nil {
		o.Health = e.mon
	}
	if o.TargetGroups == nil {
		o.TargetGroups = Groups(e.web, e.probed)
	}
	e.console = New(o)
	e.url = serve(t, e.console)
	return e
}

// serve runs c on a loopback port until the test ends and returns its URL.
func serve(t *testing.T, c *Console) string { return testutil.Serve(t, c.Serve) }

// waitFor waits up to 10 s for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, cond, what)
}

// fetch GETs path and decodes the JSON body into a generic value, so that
// the tests check the field names on the wire, not Go's.
func fetch(t *testing.T, method, url string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, url, err, body)
	}
	return resp.StatusCode, resp.Header, v
}

// path walks a decoded JSON value: "A.B.0.C".
func path(t *testing.T, v any, p string) any {
	t.Helper()
	for _, k := range strings.Split(p, ".") {
		switch x := v.(type) {
		case map[string]any:
			val, ok := x[k]
			if !ok {
				t.Fatalf("%s: no field %q in %v", p, k, x)
			}
			v = val
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(x) {
				t.Fatalf("%s: no element %q in list of %d", p, k, len(x))
			}
			v = x[i]
		default:
			t.Fatalf("%s: cannot index %T with %q", p, v, k)
		}
	}
	return v
}

func TestTargetHealthOfRealTargets(t *testing.T) {
	var diagnosed []string
	e := newEnv(t, Options{Diagnose: func(_ context.Context, group string, tg healthcheck.Target, h healthcheck.TargetHealth) (diagnose.Diagnosis, bool) {
		diagnosed = append(diagnosed, group+"/"+tg.ID)
		return diagnose.Diagnosis{Case: "test-case", Summary: "the app answered " + h.Description}, true
	}})
	code, hdr, v := fetch(t, http.MethodGet, e.url+"/api/v1/target-groups/probed/targets")
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, v)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if acao := hdr.Get("Access-Control-Allow-Origin"); acao != "" {
		t.Errorf("Access-Control-Allow-Origin %q: the console must not allow other origins", acao)
	}
	list := path(t, v, "TargetHealthDescriptions").([]any)
	if len(list) != 2 {
		t.Fatalf("%d targets, want 2: %v", len(list), list)
	}
	// Registration order: good, then bad.
	want := []struct {
		id, state, reason, description string
		port                           int
	}{
		{e.good.ID, "healthy", "", "", e.good.Port},
		{e.bad.ID, "unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [400]", e.bad.Port},
	}
	for i, w := range want {
		d := list[i]
		if got := path(t, d, "Target.Id"); got != w.id {
			t.Errorf("target %d Id %v, want %s", i, got, w.id)
		}
		if got := path(t, d, "Target.Port"); got != float64(w.port) {
			t.Errorf("target %d Port %v, want %d", i, got, w.port)
		}
		if got := path(t, d, "HealthCheckPort"); got != strconv.Itoa(w.port) {
			t.Errorf("target %d HealthCheckPort %v, want %q (a string, as AWS)", i, got, strconv.Itoa(w.port))
		}
		th := path(t, d, "TargetHealth").(map[string]any)
		if th["State"] != w.state {
			t.Errorf("target %d State %v, want %s", i, th["State"], w.state)
		}
		if w.reason == "" {
			if _, ok := th["Reason"]; ok {
				t.Errorf("healthy target has a Reason: %v", th)
			}
			if _, ok := d.(map[string]any)["Diagnosis"]; ok {
				t.Errorf("healthy target has a Diagnosis: %v", d)
			}
			continue
		}
		if th["Reason"] != w.reason || th["Description"] != w.description {
			t.Errorf("target %d TargetHealth %v, want %s / %s", i, th, w.reason, w.description)
		}
		if got := path(t, d, "Diagnosis.Summary"); got != "the app answered "+w.description {
			t.Errorf("Diagnosis.Summary %v", got)
		}
		if got := path(t, d, "Diagnosis.Case"); got != "test-case" {
			t.Errorf("Diagnosis.Case %v", got)
		}
	}
	if len(diagnosed) != 1 || diagnosed[0] != "probed/"+e.bad.ID {
		t.Errorf("diagnoser called for %v, want only the unhealthy target", diagnosed)
	}
	if _, ok := path(t, list[0], "Target").(map[string]any)["IP"]; ok {
		t.Error("Target carries an IP field; DescribeTargetHealth has only Id and Port")
	}
}

func TestTargetGroups(t *testing.T) {
	e := newEnv(t, Options{})
	code, _, v := fetch(t, http.MethodGet, e.url+"/api/v1/target-groups")
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, v)
	}
	groups := path(t, v, "TargetGroups").([]any)
	if len(groups) != 2 {
		t.Fatalf("%d groups: %v", len(groups), groups)
	}
	web := groups[0].(map[string]any)
	// The Elastic Beanstalk process defaults (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html, aws:elasticbeanstalk:environment:process:default).
	wantWeb := map[string]any{
		"TargetGroupName": "web", "Protocol": "HTTP", "Port": float64(e.bad.Port),
		"HealthCheckEnabled": true, "HealthCheckProtocol": "HTTP", "HealthCheckPort": "traffic-port",
		"HealthCheckPath": "/", "HealthCheckIntervalSeconds": float64(15), "HealthCheckTimeoutSeconds": float64(5),
		"HealthyThresholdCount": float64(3), "UnhealthyThresholdCount": float64(5),
		"Matcher": map[string]any{"HttpCode": "200"}, "HealthyHostCount": float64(0), "UnhealthyHostCount": float64(0),
		"DeregistrationDelay": float64(20),
	}
	for k, want := range wantWeb {
		got, ok := web[k]
		if !ok {
			t.Errorf("web: no field %s", k)
			continue
		}
		if gj, wj := mustJSON(t, got), mustJSON(t, want); gj != wj {
			t.Errorf("web.%s = %s, want %s", k, gj, wj)
		}
	}
	if len(web) != len(wantWeb) {
		t.Errorf("web has %d fields, want %d: %v", len(web), len(wantWeb), web)
	}
	probed := groups[1].(map[string]any)
	if probed["TargetGroupName"] != "probed" || probed["HealthyHostCount"] != float64(1) || probed["UnhealthyHostCount"] != float64(1) {
		t.Errorf("probed: %v, want 1 healthy and 1 unhealthy", probed)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEnvironmentAndInstances(t *testing.T) {
	e := newEnv(t, Options{Instance: func(id string) (InstanceInfo, bool) {
		return InstanceInfo{InstanceType: "t3.micro", AvailabilityZone: "us-west-2a"}, id == "i-0000000000000good"
	}})

	code, _, v := fetch(t, http.MethodGet, e.url+"/api/v1/environment")
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, v)
	}
	// Every DescribeEnvironmentHealth field, with AWS's names (Elastic Beanstalk API reference, DescribeEnvironmentHealth).
	for _, f := range []string{"EnvironmentName", "HealthStatus", "Status", "Color", "Causes", "ApplicationMetrics.Duration",
		"ApplicationMetrics.RequestCount", "ApplicationMetrics.StatusCodes.Status4xx", "ApplicationMetrics.Latency.P99",
		"InstancesHealth.Ok", "InstancesHealth.Severe", "InstancesHealth.NoData", "RefreshedAt"} {
		path(t, v, f)
	}
	want := e.mon.EnvironmentHealth()
	if v["EnvironmentName"] != "elbow-env" || v["HealthStatus"] != string(want.HealthStatus) || v["Color"] != string(want.Color) {
		t.Errorf("environment %v, want the monitor's %+v", v, want)
	}
	if want.HealthStatus == monitor.StatusOk || want.HealthStatus == monitor.StatusPending {
		t.Errorf("environment is %s with one of two targets unhealthy", want.HealthStatus)
	}
	if !strings.Contains(mustJSON(t, v["Causes"]), "ELB health is failing or not available for 1 out of 2 instances.") {
		t.Errorf("Causes %v lack the ELB health cause", v["Causes"])
	}
	if path(t, v, "InstancesHealth.Severe") != float64(1) {
		t.Errorf("InstancesHealth %v, want one Severe", v["InstancesHealth"])
	}

	code, _, v = fetch(t, http.MethodGet, e.url+"/api/v1/instances")
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, v)
	}
	path(t, v, "RefreshedAt")
	list := path(t, v, "InstanceHealthList").([]any)
	if len(list) != 2 {
		t.Fatalf("%d instances", len(list))
	}
	good, bad := list[0].(map[string]any), list[1].(map[string]any)
	if good["InstanceId"] != e.good.ID || good["InstanceType"] != "t3.micro" || good["AvailabilityZone"] != "us-west-2a" {
		t.Errorf("good instance %v: want its id, type and zone from Options.Instance", good)
	}
	if _, ok := bad["InstanceType"]; ok {
		t.Errorf("bad instance has an InstanceType though Options.Instance does not know it: %v", bad)
	}
	if bad["HealthStatus"] != "Severe" || bad["Color"] != "Red" {
		t.Errorf("bad instance %v, want Severe / Red", bad)
	}
	for _, f := range []string{"Causes", "LaunchedAt", "ApplicationMetrics.RequestCount", "ApplicationMetrics.StatusCodes.Status4xx"} {
		path(t, bad, f)
	}
}

// fakeHealth serves fixed documents and events.
type fakeHealth struct {
	env    monitor.EnvironmentHealth
	inst   monitor.InstancesHealth
	events []monitor.Event
}

func (f *fakeHealth) EnvironmentHealth() monitor.EnvironmentHealth { return f.env }
func (f *fakeHealth) InstancesHealth() monitor.InstancesHealth     { return f.inst }
func (f *fakeHealth) Events(since time.Time) []monitor.Event {
	var out []monitor.Event
	for _, e := range f.events {
		if e.EventDate.After(since) {
			out = append(out, e)
		}
	}
	return out
}

func TestEventsNewestFirstAndSince(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := &fakeHealth{events: []monitor.Event{
		{EventDate: t0, EnvironmentName: "e", Severity: "WARN", Message: "Environment health has transitioned from Ok to Severe."},
		{EventDate: t0.Add(time.Minute), EnvironmentName: "e", InstanceId: "i-1", Severity: "INFO", Message: "second"},
		{EventDate: t0.Add(2 * time.Minute), EnvironmentName: "e", Severity: "INFO", Message: "Environment health has transitioned from Severe to Ok."},
	}}
	url := serve(t, New(Options{Health: h}))
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"Environment health has transitioned from Severe to Ok.", "second", "Environment health has transitioned from Ok to Severe."}},
		{"?since=2026-03-01T12:00:30Z", []string{"Environment health has transitioned from Severe to Ok.", "second"}},
		{"?since=2026-03-01T13:00:30%2B01:00", []string{"Environment health has transitioned from Severe to Ok.", "second"}},
		{"?since=2026-03-01T12:05:00Z", nil},
	} {
		code, _, v := fetch(t, http.MethodGet, url+"/api/v1/events"+tc.query)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d: %v", tc.query, code, v)
		}
		events := path(t, v, "Events").([]any)
		var got []string
		for _, e := range events {
			got = append(got, e.(map[string]any)["Message"].(string))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q: events %q, want %q", tc.query, got, tc.want)
		}
		if events == nil {
			t.Errorf("%q: Events is null, want []", tc.query)
		}
	}
	_, _, v := fetch(t, http.MethodGet, url+"/api/v1/events")
	first := path(t, v, "Events.1").(map[string]any)
	for _, f := range []string{"EventDate", "EnvironmentName", "InstanceId", "Severity", "Message"} {
		if _, ok := first[f]; !ok {
			t.Errorf("event lacks %s: %v", f, first)
		}
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t, Options{})
	noHealth := serve(t, New(Options{}))
	for _, tc := range []struct {
		method, url string
		status      int
		code, msg   string
	}{
		{"GET", e.url + "/api/v1/target-groups/nope/targets", 404, "TargetGroupNotFound", `One or more target groups not found: "nope"`},
		{"GET", e.url + "/api/v1/nothing", 404, "NotFound", "/api/v1/nothing"},
		{"GET", e.url + "/nothing", 404, "NotFound", "no such resource"},
		{"GET", e.url + "/api/v1/events?since=yesterday", 400, "InvalidParameterValue", `"yesterday" is not an RFC 3339 time`},
		{"GET", e.url + "/api/v1/events?sinse=2026-01-01T00:00:00Z", 400, "InvalidParameterValue", `unknown parameter "sinse"`},
		{"GET", e.url + "/api/v1/environment?x=1", 400, "InvalidParameterValue", `unknown parameter "x"`},
		{"POST", e.url + "/api/v1/environment", 405, "MethodNotAllowed", "method POST is not allowed"},
		{"DELETE", e.url + "/api/v1/target-groups/probed/targets", 405, "MethodNotAllowed", "use GET"},
		{"PUT", e.url + "/metrics", 405, "MethodNotAllowed", "use GET"},
		{"GET", noHealth + "/api/v1/environment", 503, "HealthUnavailable", "not available"},
	} {
		code, hdr, v := fetch(t, tc.method, tc.url)
		if code != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.url, code, tc.status)
		}
		gotCode, _ := path(t, v, "Error.Code").(string)
		gotMsg, _ := path(t, v, "Error.Message").(string)
		if gotCode != tc.code || !strings.Contains(gotMsg, tc.msg) {
			t.Errorf("%s %s: error %s %q, want %s containing %q", tc.method, tc.url, gotCode, gotMsg, tc.code, tc.msg)
		}
		if tc.status == 405 && hdr.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", tc.method, tc.url, hdr.Get("Allow"))
		}
	}
}

func TestRefusesRebindingHost(t *testing.T) {
	e := newEnv(t, Options{})
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"evil.example.com", false},
		{"evil.example.com:8099", false},
		{"localhost:8099", true},
		{"127.0.0.1:8099", true},
		{"[::1]:8099", true},
	} {
		req, _ := http.NewRequest(http.MethodGet, e.url+"/api/v1/environment", nil)
		req.Host = tc.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if (resp.StatusCode == http.StatusOK) != tc.ok {
			t.Errorf("Host %s: status %d", tc.host, resp.StatusCode)
		}
	}
	rec := httptest.NewRecorder()
	New(Options{AllowAnyHost: true, Health: e.mon}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://console.internal/api/v1/environment", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("AllowAnyHost: status %d", rec.Code)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	slow := &slowHealth{fakeHealth: &fakeHealth{}, entered: entered, release: release}
	c := New(Options{Health: slow})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, ln) }()
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/environment")
		if err != nil {
			got <- -1
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	<-entered
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if code := <-got; code != http.StatusOK {
		t.Errorf("request in flight at shutdown got %d, want 200", code)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still listening after shutdown")
	}
}

type slowHealth struct {
	*fakeHealth
	entered chan struct{}
	release chan struct{}
}

func (s *slowHealth) EnvironmentHealth() monitor.EnvironmentHealth {
	close(s.entered)
	<-s.release
	return s.fakeHealth.EnvironmentHealth()
}

func TestListenAndServeReportsBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = New(Options{}).ListenAndServe(context.Background(), ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("ListenAndServe on a busy address: %v", err)
	}
}

func TestInstanceLog(t *testing.T) {
	c := New(Options{Logs: func(id string, n int) ([]string, string, bool) {
		if id != "i-0123456789abcdef0" {
			return nil, "", false
		}
		lines := []string{"one", "two", "three"}
		return lines[max(0, len(lines)-n):], "/var/log/x.log", true
	}})
	srv := httptest.NewServer(c)
	defer srv.Close()
	cases := []struct {
		path string
		code int
		body string
	}{
		{"/api/v1/instances/i-0123456789abcdef0/log?lines=2", 200, `{"InstanceId":"i-0123456789abcdef0","Lines":["two","three"],"LogFile":"/var/log/x.log"}`},
		{"/api/v1/instances/i-0123456789abcdef0/log", 200, `{"InstanceId":"i-0123456789abcdef0","Lines":["one","two","three"],"LogFile":"/var/log/x.log"}`},
		{"/api/v1/instances/i-nope/log", 404, `{"Error":{"Code":"InvalidInstanceID.NotFound","Message":"no instance \"i-nope\" in this environment"}}`},
		{"/api/v1/instances/i-0123456789abcdef0/log?lines=0", 400, `{"Error":{"Code":"InvalidParameterValue","Message":"parameter lines \"0\" is not allowed: give a number of lines between 1 and 1000"}}`},
	}
	for _, tc := range cases {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var compact bytes.Buffer
		json.Compact(&compact, b)
		if resp.StatusCode != tc.code || compact.String() != tc.body {
			t.Errorf("%s: %d %s, want %d %s", tc.path, resp.StatusCode, compact.String(), tc.code, tc.body)
		}
	}
}
