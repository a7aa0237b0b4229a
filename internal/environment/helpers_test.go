package environment

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// app is a target: an httptest server on loopback answering its name.
func app(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// fixture is an environment under test, its file and what it reported.
type fixture struct {
	env  *Env
	file string
	// vars fill the YAML templates: {{target}}, {{listen}}, {{second}}.
	vars map[string]string

	stopOnce sync.Once
	mu       sync.Mutex
	events   []Event
}

// baseYAML registers one running target in group web behind one listener;
// health checks every 5 s (the minimum), so that none decides anything
// during a test that does not wait for it.
const baseYAML = `
name: env-test
instances:
  targets: ["{{target}}"]
console:
  address: 127.0.0.1:0
target_groups:
  - name: web
    health_check: {path: /health}
listeners:
  - port: {{listen}}
    default_action: {target_group: web}
`

// start parses yaml (with the fixture's vars) as elbow.yaml in a temporary
// folder and starts it; the environment stops at the end of the test.
func start(t *testing.T, yaml string) *fixture {
	t.Helper()
	f := &fixture{
		file: filepath.Join(t.TempDir(), "elbow.yaml"),
		vars: map[string]string{
			"target": app(t, "web"),
			"listen": fmt.Sprint(testutil.FreePort(t, "127.0.0.1")),
			"second": fmt.Sprint(testutil.FreePort(t, "127.0.0.1")),
		},
	}
	cfg := f.parse(t, yaml)
	env, err := Start(context.Background(), cfg, Options{
		Events:           func(e Event) { f.mu.Lock(); f.events = append(f.events, e); f.mu.Unlock() },
		FirstProbeJitter: time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	f.env = env
	t.Cleanup(func() { f.stop(t) })
	return f
}

// stop stops the environment once (the test's end stops it too).
func (f *fixture) stop(t *testing.T) {
	f.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.env.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

// parse reads yaml as the fixture's file would be after an edit.
func (f *fixture) parse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	for k, v := range f.vars {
		yaml = strings.ReplaceAll(yaml, "{{"+k+"}}", v)
	}
	if err := os.WriteFile(f.file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(f.file)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	return cfg
}

func (f *fixture) url(port string) string { return "http://127.0.0.1:" + f.vars[port] }

// get fetches url and returns the status and body; err for no answer.
func get(url string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func (f *fixture) messages() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		out = append(out, e.Message)
	}
	return out
}
