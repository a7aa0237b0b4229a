package diagnose

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// debianNodePath is where Debian's node-* packages install their modules.
const debianNodePath = "/usr/share/nodejs"

// startExpressApp runs testdata/express/app.js on ip with the middleware
// guard (app.js names them) in front of its routes, as Express apps run in
// production: NODE_ENV=production node app.js.
func startExpressApp(t *testing.T, ip, guard, publicHost string) loggedApp {
	t.Helper()
	node := testutil.RequireProgram(t, "node")
	env := append(os.Environ(), "NODE_PATH="+debianNodePath, "NODE_ENV=production")
	check := exec.Command(node, "-e", "require('express')")
	check.Env = env
	if out, err := check.CombinedOutput(); err != nil {
		testutil.Missing(t, "node-express", "apt-get install -y node-express: "+strings.TrimSpace(string(out)))
	}
	port := testutil.FreePort(t, ip)
	cmd := exec.Command(node, filepath.Join("testdata", "express", "app.js"))
	cmd.Env = append(env, "HOST="+ip, "PORT="+strconv.Itoa(port), "GUARD="+guard, "PUBLIC_HOST="+publicHost)
	return startLoggedApp(t, cmd, ip, port)
}

// TestExpressHostCheck: a host check in front of the routes answers the
// health check's IP Host 403 "Invalid Host header" and logs it; the user's
// Host is served. The case is host validation, named as Express's, quoting
// the app's line, with the health route before the host check first.
func TestExpressHostCheck(t *testing.T) {
	const ip, public = "127.0.0.50", "shop.example.com"
	app := startExpressApp(t, ip, "host", public)
	r, d := checkAndDiagnoseApp(t, app, settings("/", "200"), public)
	if r.StatusCode != 403 || !strings.Contains(string(r.Body), "Invalid Host header") {
		t.Fatalf("the check got %d %q, want the host check's 403", r.StatusCode, r.Body)
	}
	assertDiagnosis(t, d, CaseHostValidation, Express, "Host: "+app.target.Addr(), "answers 403")
	assertAppLog(t, d, LogHostMentioned, "Invalid Host header: "+app.target.Addr())
	assertFirstFix(t, d, "app.get('/health'", "before the host")
	if d.Evidence.AsUser == nil || d.Evidence.AsUser.StatusCode != 200 {
		t.Errorf("the user-like request (Host %s) must be served: %+v", public, d.Evidence.AsUser)
	}
}

// TestExpressRedirectOnForwardedProto: a redirect on X-Forwarded-Proto sends
// the health check, which carries none, to HTTPS with 301 while users
// through the HTTPS listener are served. The fix is Express's: trust proxy
// and the health route before the redirect; then the matcher, then the
// redirect at the load balancer.
func TestExpressRedirectOnForwardedProto(t *testing.T) {
	const ip, public = "127.0.0.51", "shop.example.com"
	app := startExpressApp(t, ip, "proto", public)
	r, d := checkAndDiagnoseApp(t, app, settings("/", "200"), public)
	if r.StatusCode != 301 {
		t.Fatalf("the check got %d, want the redirect's 301", r.StatusCode)
	}
	assertDiagnosis(t, d, CaseHTTPSRedirect, Express,
		"to https://"+app.target.Addr()+"/",
		"With X-Forwarded-Proto: https the redirect does not happen")
	assertFirstFix(t, d, "app.set('trust proxy'", "app.get('/health'", "before the redirect")
	assertFixOrder(t, d, "trust proxy", "at the load balancer", "matcher")
}

// TestExpressRedirectOnReqSecure: req.secure without trust proxy never reads
// X-Forwarded-Proto, so users are redirected too: the diagnosis warns of
// the loop and the first fix sets trust proxy.
func TestExpressRedirectOnReqSecure(t *testing.T) {
	const ip, public = "127.0.0.52", "shop.example.com"
	app := startExpressApp(t, ip, "secure", public)
	r, d := checkAndDiagnoseApp(t, app, settings("/", "200"), public)
	if r.StatusCode != 302 {
		t.Fatalf("the check got %d, want the redirect's 302", r.StatusCode)
	}
	assertDiagnosis(t, d, CaseHTTPSRedirect, Express, "in a loop", "req.secure")
	assertFirstFix(t, d, "app.set('trust proxy'")
}

// assertFixOrder checks that the fixes come in the order of the phrases,
// each found in a fix's title.
func assertFixOrder(t *testing.T, d Diagnosis, phrases ...string) {
	t.Helper()
	i := 0
	for _, f := range d.Fixes {
		if i < len(phrases) && strings.Contains(f.Title, phrases[i]) {
			i++
		}
	}
	if i < len(phrases) {
		var titles []string
		for _, f := range d.Fixes {
			titles = append(titles, f.Title)
		}
		t.Errorf("fixes not in the order %q:\n%s", phrases, strings.Join(titles, "\n"))
	}
}
