// Package testutil holds helpers shared by tests that run real programs
// (Django, nginx, ...) beside the Go code under test.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// RequireE2EEnv is the environment variable that turns a missing program from
// a skip into a failure. CI sets it, so end-to-end tests cannot pass by skipping.
const RequireE2EEnv = "ELBOW_REQUIRE_E2E"

// RequireProgram returns the path of the program name (a name looked up on
// PATH, or an absolute path). When it is missing the test is skipped with the
// program named, or fails when ELBOW_REQUIRE_E2E=1.
func RequireProgram(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	Missing(t, name, err.Error())
	return ""
}

// Missing skips (or, under ELBOW_REQUIRE_E2E=1, fails) a test for want of
// something it needs, such as a Python module, naming it and how to install it.
func Missing(t testing.TB, what, detail string) {
	t.Helper()
	if os.Getenv(RequireE2EEnv) == "1" {
		t.Fatalf("%s is required (%s=1) but missing: %s", what, RequireE2EEnv, detail)
		return
	}
	t.Skipf("%s is missing (%s); set %s=1 to make this a failure", what, detail, RequireE2EEnv)
}
