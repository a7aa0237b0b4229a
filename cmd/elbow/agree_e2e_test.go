package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// agreeCase is one framework app run under elbow up for
// TestDiagnosisAgreesEverywhere.
type agreeCase struct {
	name       string
	command    string // instances.command; $HOST and $PORT are the instance's
	env        string // instances.env, as a YAML flow mapping
	publicHost string // load_balancer.public_host, "" for none
	path, code string // the health check path and the code it gets
	wantCase   string
	appLine    string // a piece of the app's own log line the evidence quotes, "" when none
}

// TestDiagnosisAgreesEverywhere runs framework apps under elbow up and finds
// the same case and the same evidence in elbow up's printed diagnosis, the
// console's targets, elbow targets and elbow check (given the instance's
// log folder): the Rails 6.1 app of the issue (production, config.hosts, no
// public_host: Rails' own "Blocked host" line decides), a Flask app with
// Talisman, a FastAPI app with TrustedHostMiddleware, an Express host check.
func TestDiagnosisAgreesEverywhere(t *testing.T) {
	t.Parallel()
	testdata := filepath.Join(testutil.RepoRoot(t), "internal", "diagnose", "testdata")
	root := t.TempDir()
	cases := []agreeCase{
		{name: "rails", command: `rackup -E production -s webrick -o "$HOST" -p "$PORT" ` + filepath.Join(testdata, "rails", "config.ru"),
			env:  fmt.Sprintf("{RAILS_ENV: production, ELBOW_RAILS_ROOT: %s, ELBOW_RAILS_HOSTS: mydomain.com}", root),
			path: "/", code: "403", wantCase: "rails-host-authorization", appLine: "Blocked host: 127.0.0.2"},
		{name: "flask-talisman", command: `/usr/bin/python3 -m gunicorn --bind "$HOST:$PORT" --chdir ` + filepath.Join(testdata, "flask") + " talisman_app:app",
			env: "{PYTHONDONTWRITEBYTECODE: '1'}", publicHost: "www.example.com", path: "/healthz", code: "302", wantCase: "https-redirect"},
		{name: "starlette", command: `/usr/bin/python3 -m uvicorn --app-dir ` + filepath.Join(testdata, "fastapi") + ` trustedhost_app:app --host "$HOST" --port "$PORT"`,
			env: "{PUBLIC_HOST: www.example.com, PYTHONDONTWRITEBYTECODE: '1'}", publicHost: "www.example.com", path: "/", code: "400", wantCase: "starlette-trusted-host"},
		{name: "express", command: "node " + filepath.Join(testdata, "express", "app.js"),
			env: "{NODE_PATH: /usr/share/nodejs, NODE_ENV: production, GUARD: host, PUBLIC_HOST: www.example.com}", publicHost: "www.example.com",
			path: "/", code: "403", wantCase: "host-validation", appLine: "Invalid Host header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			requireAgreeApp(t, c.name)
			agree(t, c, root)
		})
	}
}

func requireAgreeApp(t *testing.T, name string) {
	t.Helper()
	check := map[string][]string{
		"rails":          {"ruby", "-e", `require "rails"; require "action_controller/railtie"; require "webrick"`},
		"flask-talisman": {"/usr/bin/python3", "-c", "import flask_talisman, gunicorn"},
		"starlette":      {"/usr/bin/python3", "-c", "import fastapi, uvicorn"},
		"express":        {"node", "-e", "require('/usr/share/nodejs/express')"},
	}[name]
	testutil.RequireProgram(t, check[0])
	cmd := exec.Command(check[0], check[1:]...)
	cmd.Env = append(os.Environ(), "NODE_PATH=/usr/share/nodejs") // Debian's node-* modules, as the instance gets it
	if out, err := cmd.CombinedOutput(); err != nil {
		testutil.Missing(t, name, string(out))
	}
}

func agree(t *testing.T, c agreeCase, root string) {
	lb := ""
	if c.publicHost != "" {
		lb = "load_balancer: {public_host: " + c.publicHost + "}\n"
	}
	p := startUp(t, fmt.Sprintf(`name: agree-%s
instances:
  command: %s
  dir: %s
  port: %d
  min: 1
  env: %s
  metadata_options: {port: %d}
%starget_groups:
  - name: web
    health_check: {path: %s, interval: 5, timeout: 4, healthy_threshold: 2, unhealthy_threshold: 2}
listeners: [{protocol: HTTP, port: %d, default_action: {target_group: web}}]
console: {address: 127.0.0.1:0}
`, c.name, c.command, root, freePort(t), c.env, freePort(t), lb, c.path, freePort(t)))
	p.waitFor(t, `is up`, 30*time.Second)
	p.waitFor(t, `in web: unhealthy \(Target\.ResponseCodeMismatch: Health checks failed with these codes: \[`+c.code+`\]\)`, 60*time.Second)
	printed := p.waitFor(t, `Diagnosis for i-[0-9a-f]+ \(127\.0\.0\.2:\d+\): `, 30*time.Second)
	console := regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, time.Second))[1]
	type diagnosis struct {
		Case, Summary string
		Evidence      struct {
			InstanceLogs *struct {
				Dir    string
				AppLog *struct{ Line, Kind string } // the latest such line: later checks log later ones

			}
		}
	}
	var doc struct {
		TargetHealthDescriptions []struct {
			Target struct {
				Id   string
				Port int
			} //nolint:revive // AWS's spelling
			Diagnosis *diagnosis
		}
	}
	getJSON(t, console+"/api/v1/target-groups/web/targets", &doc)
	if len(doc.TargetHealthDescriptions) != 1 || doc.TargetHealthDescriptions[0].Diagnosis == nil {
		t.Fatalf("console: %+v", doc)
	}
	fromConsole := doc.TargetHealthDescriptions[0].Diagnosis
	logs := fromConsole.Evidence.InstanceLogs
	if fromConsole.Case != c.wantCase {
		t.Fatalf("the console's diagnosis is %s, want %s: %+v", fromConsole.Case, c.wantCase, fromConsole)
	}
	if c.appLine != "" && (logs == nil || logs.AppLog == nil || !strings.Contains(logs.AppLog.Line, c.appLine)) {
		t.Fatalf("the console's diagnosis does not quote the app's own line %q: %+v", c.appLine, logs)
	}
	if !strings.Contains(printed, fromConsole.Summary) {
		t.Errorf("elbow up printed %q, the console says %q", printed, fromConsole.Summary)
	}

	targets := exec.Command(os.Args[0], "targets", "web", "--console", console)
	targets.Env = append(os.Environ(), "ELBOW_TEST_AS_MAIN=1")
	out, _ := targets.CombinedOutput()
	if !strings.Contains(string(out), "diagnosis: "+fromConsole.Summary[:40]) {
		t.Errorf("elbow targets does not show the console's diagnosis %q:\n%s", fromConsole.Summary, out)
	}

	port := doc.TargetHealthDescriptions[0].Target.Port
	args := []string{"check", fmt.Sprintf("http://127.0.0.2:%d%s", port, c.path), "--json"}
	if logs != nil {
		args = append(args, "--logs", logs.Dir)
	}
	if c.publicHost != "" {
		args = append(args, "--host", c.publicHost)
	}
	check := exec.Command(os.Args[0], args...)
	check.Env = append(os.Environ(), "ELBOW_TEST_AS_MAIN=1")
	out, _ = check.Output()
	var checked struct{ Diagnosis *diagnosis }
	if err := json.Unmarshal(out, &checked); err != nil || checked.Diagnosis == nil {
		t.Fatalf("elbow check --json: %v\n%s", err, out)
	}
	cl := checked.Diagnosis.Evidence.InstanceLogs
	if checked.Diagnosis.Case != fromConsole.Case || (c.appLine != "" && (cl == nil || cl.AppLog == nil || cl.AppLog.Kind != logs.AppLog.Kind || !strings.Contains(cl.AppLog.Line, c.appLine))) {
		t.Errorf("elbow check says %+v %+v, the console %s %+v", checked.Diagnosis, cl, fromConsole.Case, logs)
	}
}
