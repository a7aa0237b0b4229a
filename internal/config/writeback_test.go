package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestWriteBackGolden")

// TestWriteBackGolden: a change made to the running config is written into
// the file it came from, key by key; every comment, blank line, quote and
// the order of the rest stay, and the file then loads as the running
// config. The golden files are testdata/writeback/*.golden.yaml (go test
// -update rewrites them; read the diff before committing).
func TestWriteBackGolden(t *testing.T) {
	cases := []struct {
		name, file string
		change     func(c *Config)
		// gone are the comments of what the change removes.
		gone []string
	}{
		{"matcher", "django.yaml", func(c *Config) {
			c.TargetGroup("web").HealthCheck.Matcher = "200-301"
		}, nil},
		{"interval-absent", "django.yaml", func(c *Config) {
			c.TargetGroup("web").HealthCheck.Interval = 30
			c.TargetGroup("web").HealthCheck.Timeout = 10
		}, nil},
		{"add-group", "django.yaml", func(c *Config) {
			tg := DefaultTargetGroup
			tg.Name, tg.Port = "api", 9000
			tg.HealthCheck.Path = "/healthz"
			c.TargetGroups = append(c.TargetGroups, tg)
		}, nil},
		{"remove-group", "rules.yaml", func(c *Config) {
			c.TargetGroups = c.TargetGroups[:1]
			c.Listeners[0].Rules = nil
		}, []string{"# The API has a health endpoint of its own.", "# Everything under /api goes to the API."}},
		{"rule", "rules.yaml", func(c *Config) {
			c.Listeners[0].Rules[0].Conditions[0].PathPattern = []string{"/api/*", "/v2/*"}
			c.Listeners[0].Rules[0].Priority = 5
		}, nil},
		{"interval-and-delay", "rules.yaml", func(c *Config) {
			c.TargetGroup("site").HealthCheck.Interval = 20
			c.TargetGroup("api").DeregistrationDelay = 0
			c.TargetGroup("api").HealthCheck.Path = "/ready"
		}, nil},
		{"default-group", "minimal.yaml", func(c *Config) {
			c.TargetGroup("default").HealthCheck.Matcher = "200,302"
		}, nil},
		{"default-listener-rule", "minimal.yaml", func(c *Config) {
			c.Listeners[0].Rules = []Rule{{Priority: 1,
				Conditions: []Condition{{PathPattern: []string{"/old/*"}}},
				Action:     Action{Type: "fixed-response", FixedResponse: &FixedResponseAction{StatusCode: "410", ContentType: "text/plain"}}}}
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join("testdata", "writeback", tc.file)
			orig, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "elbow.yaml")
			if err := os.WriteFile(path, orig, 0o644); err != nil {
				t.Fatal(err)
			}
			before, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			after := clone(t, before)
			tc.change(after)
			if err := WriteBack(path, before, after); err != nil {
				t.Fatalf("WriteBack: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			reread, err := Load(path)
			if err != nil {
				t.Fatalf("the written file does not load: %v\n%s", err, got)
			}
			if d := fileDiff(reread, after); len(d) > 0 {
				t.Errorf("the written file differs from after at %v\n%s", d, got)
			}
			for _, line := range strings.Split(string(orig), "\n") {
				if c := strings.TrimSpace(line); strings.HasPrefix(c, "#") && !slices.Contains(tc.gone, c) && !strings.Contains(string(got), c) {
					t.Errorf("comment %q is gone", c)
				}
			}
			golden := filepath.Join("testdata", "writeback", tc.name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("written file:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

// clone copies c as Env.Update does: marshalled and parsed again.
func clone(t *testing.T, c *Config) *Config {
	t.Helper()
	data, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Parse(c.File, data)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWriteBackUnchanged: no change leaves the file byte for byte (it is
// not even rewritten: its modification time stays).
func TestWriteBackUnchanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "elbow.yaml")
	orig, _ := os.ReadFile(filepath.Join("testdata", "writeback", "django.yaml"))
	if err := os.WriteFile(path, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	if err := WriteBack(path, c, clone(t, c)); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	again, _ := os.Stat(path)
	if string(got) != string(orig) || !again.ModTime().Equal(info.ModTime()) {
		t.Errorf("unchanged config rewrote the file:\n%s", got)
	}
}

// TestWriteBackAtomicKeepsMode: the file is replaced by a rename (a new
// inode, so a reader holding the old one never sees half a file), keeps
// its mode, and leaves no temporary file behind.
func TestWriteBackAtomicKeepsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "elbow.yaml")
	orig, _ := os.ReadFile(filepath.Join("testdata", "writeback", "django.yaml"))
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	before, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	held, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	oldInfo, _ := held.Stat()

	after := clone(t, before)
	after.TargetGroup("web").HealthCheck.Matcher = "200-399"
	if err := WriteBack(path, before, after); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want -rw-r-----", info.Mode().Perm())
	}
	if os.SameFile(info, oldInfo) {
		t.Error("the file was written in place, not replaced")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want elbow.yaml alone", names)
	}
}

// TestWriteBackNoFile: an environment without a file (the built-in
// default) gets ErrNoFile, so that the caller can say the change lives
// only in the running environment; no elbow.yaml is created.
func TestWriteBackNoFile(t *testing.T) {
	c := Default()
	after := clone(t, c)
	after.TargetGroups[0].HealthCheck.Matcher = "200-299"
	if err := WriteBack("", c, after); !errors.Is(err, ErrNoFile) {
		t.Errorf("WriteBack without a file: %v, want ErrNoFile", err)
	}
	gone := filepath.Join(t.TempDir(), "elbow.yaml")
	if err := WriteBack(gone, c, after); !errors.Is(err, ErrNoFile) {
		t.Errorf("WriteBack to a removed file: %v, want ErrNoFile", err)
	}
	if _, err := os.Stat(gone); err == nil {
		t.Error("WriteBack created the file")
	}
}

// TestWriteBackInvalidFileLeftAlone: a file that no longer loads (an edit
// in progress) is not touched; the error says why.
func TestWriteBackInvalidFileLeftAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "elbow.yaml")
	orig, _ := os.ReadFile(filepath.Join("testdata", "writeback", "django.yaml"))
	if err := os.WriteFile(path, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(orig), "max: 4", "max: four", 1)
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	after := clone(t, before)
	after.TargetGroup("web").HealthCheck.Matcher = "200-301"
	err = WriteBack(path, before, after)
	if err == nil || !strings.Contains(err.Error(), "does not load") {
		t.Errorf("WriteBack on a broken file: %v", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != broken {
		t.Error("the broken file was rewritten")
	}
}

// TestValueAt: the value at a Diff path, as a reload's warning quotes it.
func TestValueAt(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "writeback", "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"target_groups[api].health_check.matcher":          `"200"`,
		"target_groups[site].health_check.interval":        "10",
		"listeners[0].rules[0].priority":                   "10",
		"listeners[0].rules[0].conditions[0].path_pattern": "[/api/*]",
		"instances.targets":                                "['127.0.0.1:9001']",
	} {
		if got, ok := ValueAt(c, path); !ok || got != want {
			t.Errorf("ValueAt(%s) = %q, %v; want %q", path, got, ok, want)
		}
	}
	if got, ok := ValueAt(c, "target_groups[nope].port"); ok {
		t.Errorf("ValueAt of a missing group = %q", got)
	}
}
