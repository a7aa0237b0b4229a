package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// modifiableConsole serves a real target group "web" with the Beanstalk
// defaults behind a console that applies changes to it.
func modifiableConsole(t *testing.T) (*targetgroup.Group, string) {
	t.Helper()
	tg := config.DefaultTargetGroup
	tg.Name, tg.Port = "web", 8000
	g, err := targetgroup.New(tg, targetgroup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	url := startConsole(t, console.New(console.Options{
		TargetGroups: console.Groups(g),
		ModifyHealthCheck: func(_ string, hc config.HealthCheck, delay *int) error {
			s, err := hc.Settings("HTTP1")
			if err != nil {
				return err
			}
			g.ModifyHealthCheck(s)
			if delay != nil {
				g.SetDeregistrationDelay(time.Duration(*delay) * time.Second)
			}
			return nil
		},
	}))
	return g, url
}

func TestModifyTargetGroupApplies(t *testing.T) {
	g, url := modifiableConsole(t)
	out, err := elbow(t, "modify-target-group", "web", "--console", url, "--matcher", "200-301",
		"--health-check-path", "/health", "--deregistration-delay", "5")
	if err != nil {
		t.Fatal(err)
	}
	s := g.HealthCheck()
	if s.Matcher.String() != "200-301" || s.Path != "/health" || s.Interval != 15*time.Second || g.DeregistrationDelay() != 5*time.Second {
		t.Errorf("group after the change: %+v, delay %v", s, g.DeregistrationDelay())
	}
	for _, want := range []string{"Target group web modified", "Matcher                     200-301", "HealthCheckPath             /health",
		"HealthCheckIntervalSeconds  15", "DeregistrationDelay         5"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// The AWS CLI's shorthand, and --json prints the API's answer.
	out, err = elbow(t, "modify-target-group", "web", "--console", url, "--matcher", "HttpCode=200,302", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var doc apiv1.TargetGroupsResponse
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.TargetGroups) != 1 || doc.TargetGroups[0].Matcher.HttpCode != "200,302" {
		t.Errorf("--json: %v %s", err, out)
	}
}

func TestModifyTargetGroupRefused(t *testing.T) {
	g, url := modifiableConsole(t)
	_, err := elbow(t, "modify-target-group", "web", "--console", url,
		"--health-check-interval-seconds", "3", "--matcher", "", "--unhealthy-threshold-count", "11")
	if err == nil || isUsageError(err) {
		t.Fatalf("invalid change: err %v, want a refusal (exit 1)", err)
	}
	for _, want := range []string{
		"target group web was not changed",
		"HealthCheckIntervalSeconds: 3 is out of range: must be between 5 and 300 seconds",
		"UnhealthyThresholdCount: 11 is out of range: must be between 2 and 10",
		"Matcher: Health check matcher HTTP code cannot be empty",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if m := g.HealthCheck().Matcher.String(); m != "200" {
		t.Errorf("matcher %q after a refused change", m)
	}
	if code := run([]string{"modify-target-group", "web", "--console", url, "--healthy-threshold-count", "1"}); code != 1 {
		t.Errorf("exit status %d for a refused change, want 1", code)
	}
	_, err = elbow(t, "modify-target-group", "nope", "--console", url, "--matcher", "200")
	if err == nil || !strings.Contains(err.Error(), `target group "nope"`) || !strings.Contains(err.Error(), "TargetGroupNotFound") {
		t.Errorf("unknown group: %v", err)
	}
}

func TestModifyTargetGroupUsage(t *testing.T) {
	_, url := modifiableConsole(t)
	for _, args := range [][]string{
		{"modify-target-group", "web", "--console", url},                             // nothing to change
		{"modify-target-group", "--console", url, "--matcher", "200"},                // no name
		{"modify-target-group", "web", "--console", "localhost", "--matcher", "200"}, // not a URL
		{"modify-target-group", "web", "--console", url, "--health-check-interval-seconds", "ten"},
	} {
		if code := run(args); code != 2 {
			t.Errorf("%v: exit status %d, want 2", args, code)
		}
	}
}
