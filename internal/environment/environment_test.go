package environment

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// TestAccessLogBesideConfig: a relative access-log path is the file's
// neighbour, and the file is closed when the environment stops. Before,
// the environment opened the file itself and handed the proxy a writer it
// would not close: the descriptor outlived the environment.
func TestAccessLogBesideConfig(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to see open files")
	}
	f := start(t, baseYAML+"load_balancer:\n  access_logs: {enabled: true, path: access.log}\n")
	wantAnswer(t, f.url("listen")+"/x", 200, "web")
	f.stop(t)

	path := filepath.Join(filepath.Dir(f.file), "access.log")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the access log is not beside the config: %v", err)
	}
	if !strings.Contains(string(b), `"GET http://127.0.0.1:`+f.vars["listen"]+`/x HTTP/1.1"`) {
		t.Errorf("access log %q has no line for the request", b)
	}
	if open := openFiles(t, path); open > 0 {
		t.Errorf("%d descriptors still open on %s after Stop", open, path)
	}
}

// openFiles counts this process's descriptors open on path.
func openFiles(t *testing.T, path string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == path {
			n++
		}
	}
	return n
}

// TestStartFailureStopsWhatStarted: a listener that cannot bind fails
// Start, and the console started before it is closed again.
func TestStartFailureStopsWhatStarted(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	consoleAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t, "127.0.0.1"))
	yaml := strings.Replace(baseYAML, "127.0.0.1:0", consoleAddr, 1)
	yaml = strings.Replace(yaml, "{{listen}}", fmt.Sprint(busy.Addr().(*net.TCPAddr).Port), 1)
	f := &fixture{file: filepath.Join(t.TempDir(), "elbow.yaml"), vars: map[string]string{"target": app(t, "web")}}
	env, err := Start(context.Background(), f.parse(t, yaml), Options{FirstProbeJitter: time.Millisecond})
	if err == nil {
		env.Stop(context.Background())
		t.Fatal("Start succeeded with its listener's port taken")
	}
	if !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Errorf("error %q does not name the address", err)
	}
	ln, err := net.Listen("tcp", consoleAddr)
	if err != nil {
		t.Fatalf("the console still listens after the failed Start: %v", err)
	}
	ln.Close()
}
