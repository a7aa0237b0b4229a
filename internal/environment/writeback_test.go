package environment

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/elbow-lb/elbow/internal/config"
)

// commentedYAML is baseYAML as a user writes it: comments, blank lines,
// a quoted matcher.
const commentedYAML = `# An environment with a comment on top.
name: env-test

instances:
  # Already running: registered, not started.
  targets: ["{{target}}"]

console:
  address: 127.0.0.1:0

target_groups:
  - name: web
    health_check:
      path: /health
      # The app answers 200 only.
      matcher: "200" # for now
listeners:
  - port: {{listen}}
    default_action: {target_group: web}
`

func setMatcher(m string) func(c *config.Config) error {
	return func(c *config.Config) error {
		c.TargetGroup("web").HealthCheck.Matcher = m
		return nil
	}
}

// TestUpdateWritesBack: a change made through the API (Update) lands in
// elbow.yaml with its comments kept, and the file watcher's reload of the
// written file changes nothing: the new matcher stays. Before, the file
// kept matcher "200" and the next reload put it back.
func TestUpdateWritesBack(t *testing.T) {
	f := start(t, commentedYAML)
	ctx := context.Background()
	if err := f.env.Update(ctx, setMatcher("200-301")); err != nil {
		t.Fatalf("Update: %v", err)
	}
	data, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if !strings.Contains(text, `matcher: "200-301" # for now`) {
		t.Errorf("the file does not have the new matcher:\n%s", text)
	}
	for _, c := range []string{"# An environment with a comment on top.", "# Already running: registered, not started.", "# The app answers 200 only."} {
		if !strings.Contains(text, c) {
			t.Errorf("comment %q is gone:\n%s", c, text)
		}
	}

	// What the watcher does when the file changes (or is touched).
	next, err := config.Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := f.env.ReloadFile(ctx, next)
	if err != nil || len(applied) > 0 {
		t.Errorf("reload of the written file: applied %q, %v; want nothing", applied, err)
	}
	if m := f.env.Config().TargetGroup("web").HealthCheck.Matcher; m != "200-301" {
		t.Errorf("matcher after the reload = %q, want 200-301", m)
	}
}

// TestUpdateFileNotWritten: when the file cannot take the change (here it
// no longer loads), the change still applies, Update returns nil and a
// WARN event says the file was not updated; a reload of a file that sets
// the value back says so before applying.
func TestUpdateFileNotWritten(t *testing.T) {
	f := start(t, commentedYAML)
	ctx := context.Background()
	good, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.file, []byte("name: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.env.Update(ctx, setMatcher("200-301")); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if m := f.env.Config().TargetGroup("web").HealthCheck.Matcher; m != "200-301" {
		t.Errorf("running matcher = %q, want the API's 200-301", m)
	}
	if !slices.ContainsFunc(f.messages(), func(m string) bool {
		return strings.Contains(m, "was not updated") && strings.Contains(m, "does not load")
	}) {
		t.Errorf("no event says the file was not updated: %q", f.messages())
	}

	if err := os.WriteFile(f.file, good, 0o644); err != nil {
		t.Fatal(err)
	}
	next, err := config.Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := f.env.ReloadFile(ctx, next)
	if err != nil {
		t.Fatal(err)
	}
	want := `the file sets target_groups[web].health_check.matcher back to "200"; the running value 200-301 came from the API`
	if len(applied) == 0 || applied[0] != want {
		t.Errorf("reload said %q, want first %q", applied, want)
	}
	if !slices.Contains(f.messages(), want) {
		t.Errorf("no WARN event %q in %q", want, f.messages())
	}
	if m := f.env.Config().TargetGroup("web").HealthCheck.Matcher; m != "200" {
		t.Errorf("matcher after the reload = %q, want the file's 200", m)
	}
}

// TestUpdateNoFile: an environment without a file takes the change and
// says it lives only in the running environment; no file appears.
func TestUpdateNoFile(t *testing.T) {
	f := start(t, commentedYAML)
	if err := os.Remove(f.file); err != nil {
		t.Fatal(err)
	}
	if err := f.env.Update(context.Background(), setMatcher("200-299")); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if !slices.ContainsFunc(f.messages(), func(m string) bool { return strings.Contains(m, "running environment only") }) {
		t.Errorf("no event says the change is live only: %q", f.messages())
	}
	if _, err := os.Stat(f.file); err == nil {
		t.Error("Update created the file")
	}
}

// TestConsoleModifyWritesBack: the console's PATCH of a health check (what
// elbow modify-target-group and the page send) is written into the file too,
// so a reload of the file does not silently undo it.
func TestConsoleModifyWritesBack(t *testing.T) {
	f := start(t, commentedYAML)
	hc := f.env.Config().TargetGroup("web").HealthCheck
	hc.Matcher = "200-302"
	if err := f.env.modifyHealthCheckAndFile("web", hc, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `matcher: "200-302" # for now`) {
		t.Fatalf("the file does not have the console's matcher:\n%s", data)
	}
	next, err := config.Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	if applied, err := f.env.ReloadFile(context.Background(), next); err != nil || len(applied) > 0 {
		t.Errorf("reload of the written file: applied %q, %v; want nothing", applied, err)
	}
}
