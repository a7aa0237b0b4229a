package diagnose

import (
	"context"
	"strings"
	"testing"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// Flask tests run each app with gunicorn on 127.0.0.45-47.

const flaskPublicHost = "www.example.com"

// requireFlask needs Debian's python3-flask and gunicorn, and more modules
// with their packages.
func requireFlask(t *testing.T, more ...string) string {
	return requirePython(t, append([]string{"flask", "python3-flask", "gunicorn", "gunicorn"}, more...)...)
}

// TestFlaskTalismanRedirect: Flask-Talisman's force_https answers the check
// of /healthz, the app's health route, with 302 to https. The diagnosis
// names Talisman and its per-view exemption on /healthz, and does not move
// the check to /health (issue 20).
func TestFlaskTalismanRedirect(t *testing.T) {
	python := requireFlask(t, "flask_talisman", "python3-flask-talisman")
	const ip = "127.0.0.45"
	tgt, logs := startPython(t, python, ip, gunicornApp("talisman_app"))
	s := settings("/healthz", "200")
	r, d := probeAndDiagnose(t, tgt, s, flaskPublicHost, logs)
	if r.StatusCode != 302 {
		t.Fatalf("check of /healthz: %d %s, want Talisman's 302", r.StatusCode, r.Reason)
	}
	assertDiagnosis(t, d, CaseHTTPSRedirect, Flask,
		"Flask-Talisman (force_https=True, its default)",
		"302 to https://"+tgt.Addr()+"/healthz",
		"With X-Forwarded-Proto: https the redirect does not happen",
	)
	if loc := d.Evidence.HealthCheck.Location; loc != "https://"+tgt.Addr()+"/healthz" {
		t.Errorf("evidence Location %q", loc)
	}
	if csp := d.Evidence.HealthCheck.Header.Get("Content-Security-Policy"); csp != talismanDefaultCSP {
		t.Errorf("evidence lacks Talisman's header: Content-Security-Policy %q", csp)
	}
	first := d.Fixes[0]
	if !strings.Contains(first.Title, "@talisman(force_https=False)") ||
		!strings.Contains(first.Detail, "@app.route(\"/healthz\")\n@talisman(force_https=False)\ndef healthz():") {
		t.Errorf("first fix is not Talisman's per-view exemption of /healthz:\n%s\n%s", first.Title, first.Detail)
	}
	// /healthz is already the health route: no fix moves the check.
	for _, x := range d.Fixes {
		if strings.Contains(x.Detail, "{path: /health}") || strings.Contains(x.Detail, "HealthCheckPath: /health") {
			t.Errorf("fix %q moves the check to /health although /healthz is the app's health route:\n%s", x.Title, x.Detail)
		}
	}
	if last := d.Fixes[len(d.Fixes)-1]; !strings.Contains(last.Title, "matcher to 200-302") {
		t.Errorf("the matcher must be the last resort; last fix: %q", last.Title)
	}

	// The offered fix, applied, makes the same check pass; other pages are
	// still redirected.
	tgt, _ = startPython(t, python, ip, gunicornApp("talisman_app"), "EXEMPT_HEALTHZ=1")
	if r := (healthcheck.HTTPProber{}).Probe(context.Background(), tgt, s); !r.Passed() {
		t.Errorf("/healthz with @talisman(force_https=False): %d %s, want 200", r.StatusCode, r.Reason)
	}
	if r := (healthcheck.HTTPProber{}).Probe(context.Background(), tgt, settings("/", "200")); r.StatusCode != 302 {
		t.Errorf("/ with the exemption on /healthz only: %d, want Talisman's 302", r.StatusCode)
	}
}

// TestFlaskServerName: Flask 2.2 with SERVER_NAME = the public name answers
// 404 to any other Host, and Werkzeug warns on stderr; the diagnosis quotes
// that line and says SERVER_NAME.
func TestFlaskServerName(t *testing.T) {
	python := requireFlask(t)
	const ip = "127.0.0.46"
	tgt, logs := startPython(t, python, ip, gunicornApp("servername_app"), "PUBLIC_HOST="+flaskPublicHost)
	r, d := probeAndDiagnose(t, tgt, settings("/health", "200"), flaskPublicHost, logs)
	if r.StatusCode != 404 {
		t.Fatalf("check: %d %s, want 404", r.StatusCode, r.Reason)
	}
	want := "UserWarning: Current server name '" + tgt.Addr() + "' doesn't match configured server name '" + flaskPublicHost + "'"
	assertDiagnosis(t, d, CaseFlaskServerName, Flask, "SERVER_NAME ("+flaskPublicHost+")", want, "Users' requests carry the public name")
	if l := d.Evidence.InstanceLogs; l == nil || l.AppLog == nil || l.AppLog.Kind != LogFlaskServerName || !strings.Contains(l.AppLog.Line, want) {
		t.Errorf("evidence must quote Werkzeug's warning %q: %+v", want, l)
	}
	if !strings.Contains(d.Fixes[0].Title, "SERVER_NAME") || !strings.Contains(d.Fixes[0].Detail, `request.path == "/health"`) {
		t.Errorf("first fix: %q\n%s", d.Fixes[0].Title, d.Fixes[0].Detail)
	}
}

// TestFlaskOwnRedirect: without Talisman, the app's before_request hook
// redirects; the fix skips the health route in that hook and names ProxyFix.
func TestFlaskOwnRedirect(t *testing.T) {
	python := requireFlask(t)
	const ip = "127.0.0.47"
	tgt, logs := startPython(t, python, ip, gunicornApp("redirect_app"))
	r, d := probeAndDiagnose(t, tgt, settings("/healthz", "200"), flaskPublicHost, logs)
	if r.StatusCode != 301 {
		t.Fatalf("check: %d %s, want 301", r.StatusCode, r.Reason)
	}
	assertDiagnosis(t, d, CaseHTTPSRedirect, Flask, "before_request hook", "ProxyFix(app.wsgi_app, x_proto=1)",
		`if request.path == "/healthz":`, "keep that path")
	if strings.Contains(d.Why, "Talisman") || strings.Contains(strings.ToLower(d.Fixes[0].Detail), "talisman") {
		t.Errorf("no Talisman here, but the diagnosis blames it:\n%s\n%s", d.Why, d.Fixes[0].Detail)
	}
}

// TestFlaskServerNameFromLogAlone: with a public Host the app does not
// serve either (both 404), Werkzeug's warning alone decides the case.
func TestFlaskServerNameFromLogAlone(t *testing.T) {
	python := requireFlask(t)
	const ip = "127.0.0.46"
	tgt, logs := startPython(t, python, ip, gunicornApp("servername_app"), "PUBLIC_HOST="+flaskPublicHost)
	_, d := probeAndDiagnose(t, tgt, settings("/health", "200"), "shop.example.org", logs)
	if u := d.Evidence.AsUser; u == nil || u.StatusCode != 404 {
		t.Fatalf("the user-like request with another name must get 404 too: %+v", u)
	}
	assertDiagnosis(t, d, CaseFlaskServerName, Flask, "SERVER_NAME ("+flaskPublicHost+")")
}

// TestFlaskHostAllowList: a before_request allow-list refuses the IP Host
// with 400 and logs it; the diagnosis quotes the line and offers the hook's
// exemption and the IP from the metadata service, in Flask's terms.
func TestFlaskHostAllowList(t *testing.T) {
	python := requireFlask(t)
	const ip = "127.0.0.47"
	tgt, logs := startPython(t, python, ip, gunicornApp("allowlist_app"), "PUBLIC_HOST="+flaskPublicHost)
	r, d := probeAndDiagnose(t, tgt, settings("/health", "200"), flaskPublicHost, logs)
	if r.StatusCode != 400 {
		t.Fatalf("check: %d %s, want 400", r.StatusCode, r.Reason)
	}
	assertDiagnosis(t, d, CaseHostValidation, Flask, "Refused Host header "+tgt.Addr(),
		"@app.before_request", `if request.path == "/health":`, "ALLOWED_HOSTS.add(_ip)")
	if l := d.Evidence.InstanceLogs; l == nil || l.AppLog == nil || !strings.Contains(l.AppLog.Line, "Refused Host header "+tgt.Addr()) {
		t.Errorf("evidence must quote the app's line: %+v", l)
	}
}
