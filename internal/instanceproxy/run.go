package instanceproxy

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// debianNginx is where Debian's nginx package installs the binary; /usr/sbin
// is often not on a user's PATH.
const debianNginx = "/usr/sbin/nginx"

// Available returns the nginx binary: the one on PATH, else Debian's.
func Available() (path string, ok bool) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, true
	}
	if p, err := exec.LookPath(debianNginx); err == nil {
		return p, true
	}
	return "", false
}

// Command is the argv that runs the nginx Write configured, in the
// foreground, as one process: "daemon off" so that the supervisor owns it,
// and "master_process off" so that killing that one process frees the port
// (a master's workers outlive a master killed with SIGKILL). -p makes
// RunDir the prefix for relative paths, and -e sends what nginx logs before
// it has read error_log (such as a missing file) to its stderr, for the
// supervisor to show; -e needs nginx 1.19.5 or later.
func Command(confPath string) []string {
	return args(confPath)
}

func args(confPath string, extra ...string) []string {
	bin, ok := Available()
	if !ok {
		bin = "nginx"
	}
	argv := []string{bin}
	argv = append(argv, extra...)
	return append(argv,
		"-c", confPath,
		"-p", filepath.Dir(confPath)+"/",
		"-e", "stderr",
		"-g", "daemon off; master_process off;")
}

// logPrefix is the head of an nginx error-log line: time, then pid#tid
// after the level (src/core/ngx_log.c, ngx_log_error_core).
var logPrefix = regexp.MustCompile(`^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9:]{8} (\[[a-z]+\]) [0-9]+#[0-9]+: `)

// ErrNotInstalled is returned by Check when no nginx is found.
var ErrNotInstalled = errors.New("nginx is not installed (looked on PATH and at " + debianNginx + ")")

// Check runs "nginx -t" on the configuration and returns nginx's own message
// when it rejects it, with the paths of elbow's copies replaced by the
// project's files they came from (line numbers are kept by Write).
func Check(confPath string) error {
	if _, ok := Available(); !ok {
		return ErrNotInstalled
	}
	argv := args(confPath, "-t", "-q")
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(string(out))
	if msg == "" {
		return fmt.Errorf("instance proxy: nginx -t %s: %w", confPath, err)
	}
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		// The summary line repeats the file elbow wrote, not the user's.
		if strings.HasPrefix(l, "nginx: configuration file ") && strings.HasSuffix(l, " test failed") {
			continue
		}
		// With -e stderr nginx prefixes its log's time and pid; the rest is
		// the message users know from "nginx -t".
		lines = append(lines, strings.TrimPrefix(logPrefix.ReplaceAllString(l, "$1 "), "nginx: "))
	}
	return fmt.Errorf("instance proxy: nginx -t rejects the configuration: %s", originNames(filepath.Dir(confPath), strings.Join(lines, "; ")))
}

// originNames replaces each copy's path in msg by the project file it came
// from.
func originNames(runDir, msg string) string {
	f, err := os.Open(filepath.Join(runDir, originsFile))
	if err != nil {
		return msg
	}
	defer f.Close()
	var pairs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		copyPath, origin, ok := strings.Cut(sc.Text(), "\t")
		if ok {
			pairs = append(pairs, copyPath+":", origin+":")
		}
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}
