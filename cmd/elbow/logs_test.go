package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Two instances as elbow up leaves them: the older writes eb-engine.log,
// web.stdout.log (150 lines) and nginx's logs; the newer web.stdout.log
// (101 lines, the last without its newline) and a worker's log.
const (
	olderID = "i-0aaaaaaaaaaaaaaa1"
	newerID = "i-0bbbbbbbbbbbbbbb2"
)

func numbered(prefix string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s %d\n", prefix, i)
	}
	return b.String()
}

// fabricateLogs writes the two instances' folders under root/rel and
// returns the files' contents by path relative to root.
func fabricateLogs(t *testing.T, root, rel string) map[string]string {
	t.Helper()
	files := map[string]string{
		olderID + "/eb-engine.log":       numbered("2026/11/29 22:51:00.123456 [INFO] Executing instruction:", 120),
		olderID + "/web.stdout.log":      numbered("Nov 29 22:51:00 ip-172-31-5-17 web[1234]: line", 150),
		olderID + "/nginx/access.log":    `172.31.3.147 - - [29/Nov/2026:22:51:00 +0000] "GET / HTTP/1.1" 400 26 "-" "ELB-HealthChecker/2.0" "-"` + "\n",
		olderID + "/nginx/error.log":     "",
		newerID + "/web.stdout.log":      strings.TrimSuffix(numbered("Nov 29 22:52:00 ip-172-31-5-18 web[99]: line", 101), "\n"),
		newerID + "/worker.stdout.log":   "Nov 29 22:52:00 ip-172-31-5-18 worker[98]: started\n",
		"not-an-instance/web.stdout.log": "x\n",
	}
	out := map[string]string{}
	for p, text := range files {
		path := filepath.Join(root, rel, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out[filepath.Join(rel, p)] = text
	}
	// The older instance was written an hour before the newer.
	old := time.Now().Add(-time.Hour)
	for _, p := range []string{"", "eb-engine.log", "web.stdout.log", "nginx", "nginx/access.log", "nginx/error.log"} {
		if err := os.Chtimes(filepath.Join(root, rel, olderID, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// runLogs runs the real program as `elbow logs args...` in dir.
func runLogs(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"logs"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ELBOW_TEST_AS_MAIN=1")
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// tailOf is the last n lines of text, ending with a newline.
func tailOf(text string, n int) string {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

// block is one file as eb logs prints it, with the local file after the path.
func block(onInstance, local, content string) string {
	if content != "" && !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	return logRule + "\n" + onInstance + "  (" + local + ")\n" + logRule + "\n" + content
}

func TestLogsPrintsEachInstanceAsEbLogs(t *testing.T) {
	root := t.TempDir()
	rel := filepath.Join(".elbow", "logs")
	f := fabricateLogs(t, root, rel)
	local := func(id, p string) string { return filepath.Join(rel, id, p) }
	older := func(tail func(string) string) string {
		return "============= " + olderID + " ==============\n" +
			block("/var/log/eb-engine.log", local(olderID, "eb-engine.log"), tail(f[local(olderID, "eb-engine.log")])) +
			block("/var/log/nginx/access.log", local(olderID, "nginx/access.log"), tail(f[local(olderID, "nginx/access.log")])) +
			block("/var/log/nginx/error.log", local(olderID, "nginx/error.log"), "") +
			block("/var/log/web.stdout.log", local(olderID, "web.stdout.log"), tail(f[local(olderID, "web.stdout.log")])) + "\n"
	}
	newer := func(tail func(string) string) string {
		return "============= " + newerID + " ==============\n" +
			block("/var/log/web.stdout.log", local(newerID, "web.stdout.log"), tail(f[local(newerID, "web.stdout.log")])) +
			block("/var/log/worker.stdout.log", local(newerID, "worker.stdout.log"), tail(f[local(newerID, "worker.stdout.log")])) + "\n"
	}
	last100 := func(s string) string { return tailOf(s, 100) }
	whole := func(s string) string { return s }

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"every instance, newest first, last 100 lines", nil, newer(last100) + older(last100)},
		{"one instance by a prefix of its id", []string{"i-0a"}, older(last100)},
		{"one instance by its id, whole files", []string{newerID, "--all"}, newer(whole)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := runLogs(t, root, tc.args...)
			if err != nil {
				t.Fatalf("elbow logs %v: %v\n%s", tc.args, err, stderr)
			}
			if out != tc.want {
				t.Errorf("elbow logs %v printed:\n%s\nwant:\n%s", tc.args, out, tc.want)
			}
		})
	}
	if n := strings.Count(tailOf(f[local(olderID, "web.stdout.log")], 100), "\n"); n != 100 {
		t.Fatalf("the expected tail has %d lines", n)
	}
}

func TestLogsReadsLogDirOfTheConfig(t *testing.T) {
	root := t.TempDir()
	fabricateLogs(t, root, "custom")
	cfg := filepath.Join(root, "elbow.yaml")
	if err := os.WriteFile(cfg, []byte("instances:\n  sample_app: true\n  log_dir: custom\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Run from elsewhere: log_dir is beside the file, not the working folder.
	out, stderr, err := runLogs(t, t.TempDir(), "-c", cfg, newerID)
	if err != nil {
		t.Fatalf("elbow logs -c: %v\n%s", err, stderr)
	}
	if want := "/var/log/web.stdout.log  (" + filepath.Join(root, "custom", newerID, "web.stdout.log") + ")"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

func TestLogsErrors(t *testing.T) {
	root := t.TempDir()
	fabricateLogs(t, root, filepath.Join(".elbow", "logs"))
	_, stderr, err := runLogs(t, root, "i-0c")
	if err == nil {
		t.Fatal("an unknown instance succeeded")
	}
	if want := `no logs of instance "i-0c" in ` + filepath.Join(root, ".elbow", "logs") + "; instances found: " + olderID + ", " + newerID; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
	_, stderr, err = runLogs(t, root, "i-0")
	if err == nil || !strings.Contains(stderr, `instance "i-0" is ambiguous`) {
		t.Errorf("an ambiguous prefix: %v %q", err, stderr)
	}

	empty := t.TempDir()
	_, stderr, err = runLogs(t, empty)
	if err == nil {
		t.Fatal("no logs succeeded")
	}
	if want := "no instance logs in " + filepath.Join(empty, ".elbow", "logs") + ": `elbow up` writes each instance's logs there"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
}

// TestLogsFollow: with -f, a line appended after the tail was printed comes
// out prefixed with its instance and file; so does a line of a file created
// while following.
func TestLogsFollow(t *testing.T) {
	root := t.TempDir()
	rel := filepath.Join(".elbow", "logs")
	fabricateLogs(t, root, rel)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "logs", "-f")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "ELBOW_TEST_AS_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	waitFor := func(want string) {
		t.Helper()
		for lines.Scan() {
			if lines.Text() == want {
				return
			}
		}
		t.Fatalf("elbow logs -f ended before printing %q: %v", want, lines.Err())
	}
	// The last line of the tail: everything before -f follows is printed.
	waitFor("Nov 29 22:51:00 ip-172-31-5-17 web[1234]: line 150")
	waitFor("")

	web := filepath.Join(root, rel, newerID, "web.stdout.log")
	// Written in two parts: a line is printed once it is complete.
	appendTo(t, web, "Nov 29 22:53:00 ip-172-31-5-18 web[99]: ")
	appendTo(t, web, "appended\n")
	waitFor(newerID + "/web.stdout.log: Nov 29 22:53:00 ip-172-31-5-18 web[99]: appended")

	appendTo(t, filepath.Join(root, rel, olderID, "nginx", "access.log"), "new access line\n")
	waitFor(olderID + "/nginx/access.log: new access line")
	appendTo(t, filepath.Join(root, rel, olderID, "clock.stdout.log"), "Nov 29 22:53:01 ip-172-31-5-17 clock[7]: tick\n")
	waitFor(olderID + "/clock.stdout.log: Nov 29 22:53:01 ip-172-31-5-17 clock[7]: tick")
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
