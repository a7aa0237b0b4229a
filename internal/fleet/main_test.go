package fleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/fleet"
)

// The test binary is also every process the tests need: the supervisor shim
// (as elbow's binary is), the app, the app's children and an elbow-like
// parent. testAppEnv selects the role.
const (
	testAppEnv  = "ELBOW_FLEET_TEST_APP"
	markerEnv   = "ELBOW_FLEET_TEST_MARKER" // every process of one test carries it
	forkEnv     = "ELBOW_FLEET_TEST_FORK"   // "1": the app forks a grandchild and a setsid'd one
	ignoreTerm  = "ELBOW_FLEET_TEST_IGNORE_TERM"
	linesEnv    = "ELBOW_FLEET_TEST_LINES"
	crashDelay  = "ELBOW_FLEET_TEST_CRASH_AFTER"
	parentPort  = "ELBOW_FLEET_TEST_PARENT_PORT"
	userVarName = "ELBOW_FLEET_TEST_USERVAR"
	parentVar   = "ELBOW_FLEET_TEST_PARENTVAR"
)

func TestMain(m *testing.M) {
	fleet.MaybeRunShim()
	if role := os.Getenv(testAppEnv); role != "" {
		os.Exit(runRole(role))
	}
	// A race-enabled binary sleeps a second at exit by default; the shim
	// and the apps are this binary, so every stop would take a second more.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	os.Exit(m.Run())
}

func runRole(role string) int {
	switch role {
	case "http":
		return runHTTPApp()
	case "crash":
		fmt.Printf("crash output from pid %d\n", os.Getpid())
		fmt.Fprintln(os.Stderr, "crash stderr")
		if d, err := time.ParseDuration(os.Getenv(crashDelay)); err == nil {
			time.Sleep(d)
		}
		return 3
	case "chatty":
		n, _ := strconv.Atoi(os.Getenv(linesEnv))
		w := bufio.NewWriter(os.Stdout)
		for i := range n {
			fmt.Fprintf(w, "line %d\n", i)
		}
		w.Flush()
		select {}
	case "sleeper":
		select {}
	case "parent":
		return runElbowLikeParent()
	}
	fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
	return 2
}

// appReport is what the http app answers: what it sees of itself.
type appReport struct {
	Args        []string
	Env         map[string]string
	PID         int
	LocalAddr   string
	Grandchild  int
	Escapee     int
	ProcessPGID int
}

func runHTTPApp() int {
	if os.Getenv(ignoreTerm) == "1" {
		signal.Ignore(syscall.SIGTERM)
	}
	report := appReport{Args: os.Args[1:], Env: map[string]string{}, PID: os.Getpid()}
	for _, k := range []string{"HOST", "PORT", "ELBOW_INSTANCE_ID", "AWS_EC2_METADATA_SERVICE_ENDPOINT", userVarName, parentVar} {
		report.Env[k] = os.Getenv(k)
	}
	report.ProcessPGID, _ = syscall.Getpgid(0)
	if os.Getenv(forkEnv) == "1" {
		self, _ := os.Executable()
		child := exec.Command(self)
		child.Env = append(os.Environ(), testAppEnv+"=sleeper")
		if err := child.Start(); err == nil {
			report.Grandchild = child.Process.Pid
		}
		escapee := exec.Command(self)
		escapee.Env = append(os.Environ(), testAppEnv+"=sleeper")
		escapee.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := escapee.Start(); err == nil {
			report.Escapee = escapee.Process.Pid
		}
	}
	addr := net.JoinHostPort(os.Getenv("HOST"), os.Getenv("PORT"))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	fmt.Printf("listening on %s\n", addr)
	fmt.Fprintln(os.Stderr, "a line on stderr")
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := report
		rep.LocalAddr = r.Context().Value(http.LocalAddrContextKey).(net.Addr).String()
		json.NewEncoder(w).Encode(rep)
	}))
	return 1
}

// runElbowLikeParent launches a fleet as elbow would and waits to be killed.
func runElbowLikeParent() int {
	self, _ := os.Executable()
	port, _ := strconv.Atoi(os.Getenv(parentPort))
	f, err := fleet.New(fleet.Config{
		Command: []string{self},
		Env:     []string{testAppEnv + "=http", forkEnv + "=1"},
		Port:    port,
		Min:     2,
		Max:     2,
	})
	if err == nil {
		err = f.Start(context.Background())
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	// And an app launched through sh -c, as apps often are.
	shell, err := fleet.New(fleet.Config{
		Command: []string{"sh", "-c", "sleep 300 & sleep 301; exit 0"},
		Port:    port,
		Min:     1,
		Max:     1,
	})
	if err == nil {
		err = shell.Start(context.Background())
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	for _, st := range append(f.Instances(), shell.Instances()...) {
		fmt.Printf("instance %s %s pid %d supervisor %d\n", st.ID, st.Addr(), st.PID, st.SupervisorPID)
	}
	fmt.Println("ready")
	select {}
}
