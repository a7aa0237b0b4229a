package diagnose

import (
	"context"
	"strings"
	"testing"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// FastAPI tests run each app with uvicorn on 127.0.0.48-49.

const fastapiPublicHost = "api.example.com"

func requireFastAPI(t *testing.T) string {
	return requirePython(t, "fastapi", "python3-fastapi", "uvicorn", "python3-uvicorn")
}

// TestStarletteTrustedHost: TrustedHostMiddleware answers the check 400
// "Invalid host header"; the fixes are allowed_hosts with the IP from the
// metadata service, then a health route outside the middleware.
func TestStarletteTrustedHost(t *testing.T) {
	python := requireFastAPI(t)
	const ip = "127.0.0.48"
	tgt, logs := startPython(t, python, ip, uvicornApp("trustedhost_app"), "PUBLIC_HOST="+fastapiPublicHost)
	s := settings("/health", "200")
	r, d := probeAndDiagnose(t, tgt, s, fastapiPublicHost, logs)
	if r.StatusCode != 400 {
		t.Fatalf("check: %d %s, want 400", r.StatusCode, r.Reason)
	}
	assertDiagnosis(t, d, CaseStarletteTrustedHost, Starlette,
		"TrustedHostMiddleware", `"Invalid host header"`, "Users' requests carry your public name and pass",
		"TrustedHostMiddlewareExceptHealth", "keep that path")
	if b := d.Evidence.HealthCheck.Body; b != "Invalid host header" {
		t.Errorf("evidence body %q, want Starlette's", b)
	}
	if u := d.Evidence.AsUser; u == nil || u.StatusCode != 200 {
		t.Errorf("a user's request (Host %s) must get 200: %+v", fastapiPublicHost, u)
	}
	if !strings.Contains(d.Fixes[0].Title, "allowed_hosts") || !strings.Contains(d.Fixes[0].Detail, "allowed_hosts.append(_ip)") ||
		!strings.Contains(d.Fixes[0].Detail, "AWS_EC2_METADATA_SERVICE_ENDPOINT") {
		t.Errorf("first fix: %q\n%s", d.Fixes[0].Title, d.Fixes[0].Detail)
	}

	// The offered fix, applied, makes the same check pass.
	imds := testutil.FakeIMDS(t, ip, ip)
	tgt, _ = startPython(t, python, ip, uvicornApp("trustedhost_app"), "PUBLIC_HOST="+fastapiPublicHost,
		"ALLOW_INSTANCE_IP=1", "AWS_EC2_METADATA_SERVICE_ENDPOINT="+imds)
	if r := (healthcheck.HTTPProber{}).Probe(context.Background(), tgt, s); !r.Passed() {
		t.Errorf("with the IP in allowed_hosts: %d %s %q, want 200", r.StatusCode, r.Reason, r.Body)
	}
}

// TestStarletteHTTPSRedirect: HTTPSRedirectMiddleware answers the check 307;
// the fix is a subclass letting the health path through.
func TestStarletteHTTPSRedirect(t *testing.T) {
	python := requireFastAPI(t)
	const ip = "127.0.0.49"
	tgt, logs := startPython(t, python, ip, uvicornApp("httpsredirect_app"))
	s := settings("/health", "200")
	r, d := probeAndDiagnose(t, tgt, s, fastapiPublicHost, logs)
	if r.StatusCode != 307 {
		t.Fatalf("check: %d %s, want 307", r.StatusCode, r.Reason)
	}
	assertDiagnosis(t, d, CaseHTTPSRedirect, Starlette,
		"HTTPSRedirectMiddleware", "307 to https://"+tgt.Addr()+"/health",
		"--forwarded-allow-ips", "keep that path")
	if !strings.Contains(d.Fixes[0].Detail, "class HTTPSRedirectMiddlewareExceptHealth(HTTPSRedirectMiddleware):") ||
		!strings.Contains(d.Fixes[0].Detail, `scope["path"] == "/health"`) {
		t.Errorf("first fix: %q\n%s", d.Fixes[0].Title, d.Fixes[0].Detail)
	}
	if last := d.Fixes[len(d.Fixes)-1]; !strings.Contains(last.Title, "matcher to 200-307") {
		t.Errorf("the matcher must be the last resort; last fix: %q", last.Title)
	}

	tgt, _ = startPython(t, python, ip, uvicornApp("httpsredirect_app"), "EXEMPT_HEALTH=1")
	if r := (healthcheck.HTTPProber{}).Probe(context.Background(), tgt, s); !r.Passed() {
		t.Errorf("with the exemption: %d %s, want 200", r.StatusCode, r.Reason)
	}
}
