package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// djangoYAML is examples/django's environment with short checks, so that the
// scenario's steps take seconds: interval 5, unhealthy threshold 2.
func djangoYAML(t *testing.T, allowInstanceIP, matcher string, appPort, imdsPort, httpsPort int) string {
	dir := filepath.Join(testutil.RepoRoot(t), "examples", "django")
	return fmt.Sprintf(`name: django-shop
instances:
  command: /usr/bin/python3 manage.py runserver --noreload "$HOST:$PORT"
  dir: %s
  port: %d
  min: 2
  env:
    ALLOW_INSTANCE_IP: "%s"
    PYTHONDONTWRITEBYTECODE: "1"
  metadata_options:
    port: %d
load_balancer:
  public_host: www.example.com
target_groups:
  - name: web
    deregistration_delay: 1
    health_check:
      path: /
      interval: 5
      timeout: 2
      healthy_threshold: 2
      unhealthy_threshold: 2
      matcher: "%s"
listeners:
  - protocol: HTTPS
    port: %d
    default_action:
      target_group: web
console:
  address: 127.0.0.1:0
`, dir, appPort, allowInstanceIP, imdsPort, matcher, httpsPort)
}

func requireDjango(t *testing.T) {
	python := testutil.RequireProgram(t, testutil.SystemPython)
	if out, err := exec.Command(python, "-c", "import django").CombinedOutput(); err != nil {
		testutil.Missing(t, "python3-django", "apt-get install -y python3-django: "+string(out))
	}
}

// TestReferenceScenario runs examples/django/README.md's story with the real Django
// app behind `elbow up`, each instance reading its IP from its own metadata
// service: [400], then [301], then healthy with the matcher 200-301, and a
// user's request through the HTTPS listener reaches Django and gets 200.
func TestReferenceScenario(t *testing.T) {
	t.Parallel()
	requireDjango(t)
	type step struct {
		name, allowIP, matcher string
		want                   string
		diagnosisCase          string
	}
	steps := []step{
		{"1 ALLOWED_HOSTS rejects the instance IP", "0", "200",
			`in web: unhealthy \(Target\.ResponseCodeMismatch: Health checks failed with these codes: \[400\]\)`, "django-allowed-hosts"},
		{"2 the IP from the metadata service is allowed; SECURE_SSL_REDIRECT answers", "1", "200",
			`in web: unhealthy \(Target\.ResponseCodeMismatch: Health checks failed with these codes: \[301\]\)`, "https-redirect"},
		{"3 the matcher accepts 200-301", "1", "200-301", `in web: healthy$`, ""},
	}
	diagnosis := map[string]string{
		"1 ALLOWED_HOSTS rejects the instance IP":                                    "ALLOWED_HOSTS",
		"2 the IP from the metadata service is allowed; SECURE_SSL_REDIRECT answers": "redirect",
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			https := freePort(t)
			p := startUp(t, djangoYAML(t, st.allowIP, st.matcher, freePort(t), freePort(t), https))
			p.waitFor(t, `is up`, 30*time.Second)
			p.waitForN(t, st.want, 2, 40*time.Second) // both instances
			if want, ok := diagnosis[st.name]; ok {
				line := p.waitForN(t, `Diagnosis for i-`, 2, 20*time.Second) // one per instance
				if !strings.Contains(line, want) {
					t.Errorf("diagnosis %q does not mention %q", line, want)
				}
				// The console serves the whole diagnosis beside the target
				// health, with the user's request (the public host) as evidence.
				consoleURL := regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, time.Second))[1]
				var doc struct {
					TargetHealthDescriptions []struct {
						Diagnosis *struct {
							Case     string
							Evidence struct{ AsUser *struct{ StatusCode int } }
						}
					}
				}
				getJSON(t, consoleURL+"/api/v1/target-groups/web/targets", &doc)
				for _, d := range doc.TargetHealthDescriptions {
					if d.Diagnosis == nil || d.Diagnosis.Case != st.diagnosisCase {
						t.Errorf("console diagnosis %+v, want case %s", d.Diagnosis, st.diagnosisCase)
					} else if u := d.Diagnosis.Evidence.AsUser; u == nil || u.StatusCode != 200 {
						t.Errorf("the user's request (Host: www.example.com, X-Forwarded-Proto: https) should get 200: %+v", u)
					}
				}
				return
			}
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "www.example.com"}}} //nolint:gosec // self-signed listener
			req, _ := http.NewRequest("GET", fmt.Sprintf("https://127.0.0.1:%d/", https), nil)
			req.Host = "www.example.com"
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("a user's request through the HTTPS listener: %d %s", resp.StatusCode, body)
			}
		})
	}
}
