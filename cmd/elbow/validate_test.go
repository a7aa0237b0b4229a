package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elbow-lb/elbow/internal/config"
)

// TestValidatePrintIsWhatAUserWrites: --print shows no unset field (null,
// "", [] or {}), shows the defaults it applied, and loads back to the same
// config.
func TestValidatePrintIsWhatAUserWrites(t *testing.T) {
	t.Setenv("ELBOW_TEST_CONSOLE_SECRET", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	dir := t.TempDir()
	minimal := filepath.Join(dir, "minimal.yaml")
	if err := os.WriteFile(minimal, []byte("instances:\n  sample_app: true\nconsole:\n  credentials:\n    access_key_id: AKIAIOSFODNN7EXAMPLE\n    secret_access_key_env: ELBOW_TEST_CONSOLE_SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{minimal, "../../internal/config/testdata/good-full.yaml", "../../examples/django/elbow.yaml"} {
		out, err := elbow(t, "validate", "--print", "-c", file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, unset := range []string{"null", "[]", "{}", `""`, "''"} {
			if strings.Contains(out, unset) {
				t.Errorf("%s: --print shows an unset field (%s):\n%s", file, unset, out)
			}
		}
		printed := filepath.Join(dir, "printed.yaml")
		if err := os.WriteFile(printed, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		want, err := config.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := config.Load(printed)
		if err != nil {
			t.Fatalf("%s: what --print shows does not load: %v\n%s", file, err, out)
		}
		a, _ := config.Marshal(want)
		b, _ := config.Marshal(got)
		if string(a) != string(b) {
			t.Errorf("%s: --print does not load back to the same config:\n%s\n---\n%s", file, a, b)
		}
	}

	out, err := elbow(t, "validate", "--print", "-c", minimal)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\n  min: 2\n", "\n      interval: 15\n", "\n    deregistration_delay: 20\n",
		"\n  drop_invalid_header_fields: false\n", "\n  address: 127.0.0.1:8099\n", "access_key_id: AKIAIOSFODNN7EXAMPLE",
		"secret_access_key_env: ELBOW_TEST_CONSOLE_SECRET"} {
		if !strings.Contains(out, want) {
			t.Errorf("--print lacks the applied default %q:\n%s", strings.TrimSpace(want), out)
		}
	}
	for _, gone := range []string{"command:", "targets:", "log_dir:", "forward:", "rules:", "certificate_file:", "\n  env:"} {
		if strings.Contains(out, gone) {
			t.Errorf("--print shows the unset %q:\n%s", gone, out)
		}
	}
}
