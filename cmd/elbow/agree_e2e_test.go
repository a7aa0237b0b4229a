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

// TestDiagnosisAgreesEverywhere runs the Rails 6.1 app (production,
// config.hosts) under elbow up with no public_host, and finds the same case
// and the same evidence (Rails' own "Blocked host" line) in elbow up's
// printed diagnosis, the console's targets, elbow targets and elbow check
// (given the instance's log folder).
func TestDiagnosisAgreesEverywhere(t *testing.T) {
	t.Parallel()
	testutil.RequireProgram(t, "ruby")
	rackup := testutil.RequireProgram(t, "rackup")
	if out, err := exec.Command("ruby", "-e", `require "rails"; require "action_controller/railtie"; require "webrick"`).CombinedOutput(); err != nil {
		testutil.Missing(t, "ruby-rails", "apt-get install -y ruby-rails ruby-webrick: "+string(out))
	}
	configRU := filepath.Join(testutil.RepoRoot(t), "internal", "diagnose", "testdata", "rails", "config.ru")
	root := t.TempDir()
	p := startUp(t, fmt.Sprintf(`name: rails-app
instances:
  command: %s -E production -s webrick -o "$HOST" -p "$PORT" %s
  dir: %s
  port: %d
  min: 1
  env: {RAILS_ENV: production, ELBOW_RAILS_ROOT: %s, ELBOW_RAILS_HOSTS: mydomain.com}
target_groups:
  - name: web
    health_check: {path: /, interval: 5, timeout: 4, healthy_threshold: 2, unhealthy_threshold: 2}
listeners: [{protocol: HTTP, port: %d, default_action: {target_group: web}}]
console: {address: 127.0.0.1:0}
`, rackup, configRU, root, freePort(t), root, freePort(t)))
	p.waitFor(t, `is up`, 30*time.Second)
	p.waitFor(t, `in web: unhealthy \(Target\.ResponseCodeMismatch: Health checks failed with these codes: \[403\]\)`, 60*time.Second)
	printed := p.waitFor(t, `Diagnosis for i-[0-9a-f]+ \(127\.0\.0\.2:\d+\): `, 30*time.Second)
	console := regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, time.Second))[1]

	type diagnosis struct {
		Case, Summary string
		Evidence      struct {
			InstanceLogs *struct {
				Dir    string
				AppLog *struct{ Line, Kind string }
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
	if fromConsole.Case != "rails-host-authorization" || logs == nil || logs.AppLog == nil ||
		logs.AppLog.Kind != "rails-blocked-host" || !strings.Contains(logs.AppLog.Line, "Blocked host: 127.0.0.2") {
		t.Fatalf("the console's diagnosis is not Rails' host authorization with Rails' own line: %+v %+v", fromConsole, logs)
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
	check := exec.Command(os.Args[0], "check", fmt.Sprintf("http://127.0.0.2:%d/", port), "--json", "--logs", logs.Dir)
	check.Env = append(os.Environ(), "ELBOW_TEST_AS_MAIN=1")
	out, _ = check.Output()
	var checked struct{ Diagnosis *diagnosis }
	if err := json.Unmarshal(out, &checked); err != nil || checked.Diagnosis == nil {
		t.Fatalf("elbow check --json: %v\n%s", err, out)
	}
	cl := checked.Diagnosis.Evidence.InstanceLogs
	if checked.Diagnosis.Case != fromConsole.Case || cl == nil || cl.AppLog == nil || !strings.Contains(cl.AppLog.Line, "Blocked host: 127.0.0.2") {
		t.Errorf("elbow check says %+v, the console %s with %q", checked.Diagnosis, fromConsole.Case, logs.AppLog.Line)
	}
}
