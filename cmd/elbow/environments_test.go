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

// environmentFolder serves a console for an environment named name with
// one target group, and writes the folder's elbow.yaml with the console's
// address, as `elbow up` there would have listened.
func environmentFolder(t *testing.T, name string) (dir, url string, g *targetgroup.Group) {
	t.Helper()
	tg := config.DefaultTargetGroup
	tg.Name, tg.Port = "web-"+name, 8000
	g, err := targetgroup.New(tg, targetgroup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := sampleHealth()
	h.env.EnvironmentName = "env-" + name
	url = startConsole(t, console.New(console.Options{
		Health:       h,
		TargetGroups: console.Groups(g),
		ModifyHealthCheck: func(_ string, hc config.HealthCheck, _ *int) error {
			s, err := hc.Settings("HTTP1")
			if err == nil {
				g.ModifyHealthCheck(s)
			}
			return err
		},
	}))
	dir = t.TempDir()
	yaml := "name: env-" + name + "\ninstances:\n  sample_app: true\nconsole:\n  address: " + strings.TrimPrefix(url, "http://") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "elbow.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, url, g
}

// TestCommandsReachTheFoldersEnvironment: with two environments on one
// machine, each command reaches the console of the elbow.yaml in the
// working directory, or of the file given with -c; --console overrides both.
func TestCommandsReachTheFoldersEnvironment(t *testing.T) {
	dirA, _, groupA := environmentFolder(t, "a")
	dirB, urlB, groupB := environmentFolder(t, "b")
	fileB := filepath.Join(dirB, "elbow.yaml")
	t.Chdir(dirA)

	mustRun := func(want, notWant string, args ...string) {
		t.Helper()
		out, err := elbow(t, args...)
		if err != nil {
			t.Fatalf("elbow %s: %v", strings.Join(args, " "), err)
		}
		if !strings.Contains(out, want) || (notWant != "" && strings.Contains(out, notWant)) {
			t.Errorf("elbow %s: want %q and no %q in:\n%s", strings.Join(args, " "), want, notWant, out)
		}
	}
	mustRun("env-a", "env-b", "health")
	mustRun("DescribeTargetHealth: web-a", "web-b", "targets")
	mustRun("Target group web-a modified", "", "modify-target-group", "web-a", "--matcher", "200-301")
	if a, b := groupA.HealthCheck().Matcher.String(), groupB.HealthCheck().Matcher.String(); a != "200-301" || b != "200" {
		t.Errorf("matchers after modifying web-a from folder a: a %s, b %s; want 200-301, 200", a, b)
	}

	mustRun("env-b", "env-a", "health", "-c", fileB)
	mustRun("DescribeTargetHealth: web-b", "web-a", "targets", "--config", fileB)
	mustRun("Target group web-b modified", "", "modify-target-group", "web-b", "-c", fileB, "--matcher", "200-302")
	if a, b := groupA.HealthCheck().Matcher.String(), groupB.HealthCheck().Matcher.String(); a != "200-301" || b != "200-302" {
		t.Errorf("matchers after modifying web-b with -c: a %s, b %s; want 200-301, 200-302", a, b)
	}

	mustRun("env-b", "env-a", "health", "--console", urlB)
	mustRun("DescribeTargetHealth: web-b", "web-a", "targets", "--console", urlB)
}

// TestCommandsRefuseAnUnreadableEnvironmentFile: a file that does not
// load gives no address; the command says which file, rather than talking
// to some other environment.
func TestCommandsRefuseAnUnreadableEnvironmentFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("elbow.yaml", []byte("instances:\n  sample_app: true\nconsole:\n  adress: 127.0.0.1:9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"health"},
		{"targets"},
		{"modify-target-group", "web", "--matcher", "200"},
		{"targets", "-c", filepath.Join(dir, "missing.yaml")},
	} {
		_, err := elbow(t, args...)
		if err == nil || !strings.Contains(err.Error(), "finding the console in") || isUsageError(err) {
			t.Errorf("elbow %s: %v, want an error naming the file", strings.Join(args, " "), err)
		}
	}
}

func TestConsoleFlagsDefault(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := (&consoleFlags{}).client()
	if err != nil || c.BaseURL() != "http://127.0.0.1:8099" {
		t.Errorf("without a file: %v %v, want http://127.0.0.1:8099", c, err)
	}
}

func TestDialAddr(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8099":  "127.0.0.1:8099",
		"127.0.0.5:9000":  "127.0.0.5:9000",
		"localhost:8099":  "localhost:8099",
		"0.0.0.0:8099":    "127.0.0.1:8099",
		":8099":           "127.0.0.1:8099",
		"[::]:8099":       "[::1]:8099",
		"[::1]:8099":      "[::1]:8099",
		"192.0.2.10:8099": "192.0.2.10:8099",
	} {
		if got := dialAddr(addr); got != want {
			t.Errorf("dialAddr(%q) = %q, want %q", addr, got, want)
		}
	}
}
