package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// TestCommandsSendCredentials: against a console with credentials, the
// commands fail saying what to set when they have none, are refused with
// wrong ones, and succeed with them from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY or from elbow.yaml in the working directory; the
// PATCH of modify-target-group is sent again whole with them.
func TestCommandsSendCredentials(t *testing.T) {
	const id, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tg := config.DefaultTargetGroup
	tg.Name, tg.Port = "web", 8000
	g, err := targetgroup.New(tg, targetgroup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	url := startConsole(t, console.New(console.Options{
		Health:       sampleHealth(),
		TargetGroups: console.Groups(g),
		ModifyHealthCheck: func(_ string, hc config.HealthCheck, _ *int) error {
			s, err := hc.Settings("HTTP1")
			if err == nil {
				g.ModifyHealthCheck(s)
			}
			return err
		},
		Credentials: &console.Credentials{AccessKeyID: id, SecretAccessKey: secret},
	}))
	t.Chdir(t.TempDir())
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")

	_, err = elbow(t, "targets", "--console", url)
	want := "the console at " + url + " requires credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to the access key id and secret of its console.credentials, or run from the directory of its elbow.yaml"
	if err == nil || err.Error() != want {
		t.Errorf("without credentials: %v\nwant %s", err, want)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
	if _, err = elbow(t, "health", "--console", url); err == nil || !strings.Contains(err.Error(), "UnrecognizedClientException") {
		t.Errorf("with a wrong secret: %v, want UnrecognizedClientException", err)
	}

	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	if out, err := elbow(t, "health", "--console", url); err != nil || !strings.Contains(out, "elbow-env") {
		t.Errorf("with credentials from the environment: %v\n%s", err, out)
	}
	if _, err := elbow(t, "modify-target-group", "web", "--console", url, "--matcher", "200-301"); err != nil || g.HealthCheck().Matcher.String() != "200-301" {
		t.Errorf("modify with credentials: %v, matcher %s", err, g.HealthCheck().Matcher)
	}

	// From elbow.yaml, its secret from the variable it names.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("ELBOW_TEST_CONSOLE_SECRET", secret)
	yaml := "instances:\n  sample_app: true\nconsole:\n  credentials:\n    access_key_id: " + id + "\n    secret_access_key_env: ELBOW_TEST_CONSOLE_SECRET\n"
	if err := os.WriteFile(filepath.Join(".", "elbow.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := elbow(t, "targets", "--console", url); err != nil || !strings.Contains(out, "web") {
		t.Errorf("with credentials from elbow.yaml: %v\n%s", err, out)
	}
}

// TestUpRefusesExposedConsole: `elbow up` with the console on 0.0.0.0 and no
// credentials stops at validation, before anything is started or bound,
// and `elbow validate` says why and what to set.
func TestUpRefusesExposedConsole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "elbow.yaml")
	if err := os.WriteFile(path, []byte("instances:\n  sample_app: true\nconsole:\n  address: 0.0.0.0:8099\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := path + `:4: console.address: "0.0.0.0:8099" listens beyond loopback, where any machine that reaches it could change the environment: ` +
		"set console.credentials (access_key_id, and secret_access_key_env naming the variable that holds the secret), or listen on 127.0.0.1"
	code, stdout, stderr := runCLI(t, "up", "-c", path)
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("up: exit %d, stdout %q, stderr %q\nwant exit 1, nothing on stdout, stderr %q", code, stdout, stderr, want)
	}
	code, _, stderr = runCLI(t, "validate", "-c", path)
	if code != 1 || !strings.HasPrefix(stderr, want+"\n") {
		t.Errorf("validate: exit %d, stderr %q", code, stderr)
	}
}
