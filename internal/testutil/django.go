package testutil

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// SystemPython is Debian's python3, which has python3-django; a pyenv python3
// earlier on PATH does not.
const SystemPython = "/usr/bin/python3"

// RepoRoot is the module's root directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository root")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// StartDjangoExample runs examples/django with manage.py runserver on ip and
// a free port, with env added to its environment, and returns the port. It
// skips (or fails under ELBOW_REQUIRE_E2E=1) without Debian's python3-django.
func StartDjangoExample(t testing.TB, ip string, env ...string) int {
	t.Helper()
	python := RequireProgram(t, SystemPython)
	if out, err := exec.Command(python, "-c", "import django").CombinedOutput(); err != nil {
		Missing(t, "python3-django", "apt-get install -y python3-django: "+string(out))
	}
	port := FreePort(t, ip)
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	cmd := exec.Command(python, "manage.py", "runserver", "--noreload", addr)
	cmd.Dir = filepath.Join(RepoRoot(t), "examples", "django")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd.Env = append(cmd.Env, env...)
	Start(t, cmd, addr)
	return port
}
