package testutil

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of acting.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestRequireProgram(t *testing.T) {
	if p := RequireProgram(t, "sh"); p == "" {
		t.Fatal("sh not found")
	}
	const missing = "elbow-no-such-program"

	t.Setenv(RequireE2EEnv, "")
	r := &recorder{TB: t}
	RequireProgram(r, missing)
	if !strings.Contains(r.skipped, missing) || r.failed != "" {
		t.Errorf("without %s: skipped %q failed %q, want a skip", RequireE2EEnv, r.skipped, r.failed)
	}

	t.Setenv(RequireE2EEnv, "1")
	r = &recorder{TB: t}
	RequireProgram(r, missing)
	if !strings.Contains(r.failed, missing) || r.skipped != "" {
		t.Errorf("with %s=1: skipped %q failed %q, want a failure", RequireE2EEnv, r.skipped, r.failed)
	}
}
