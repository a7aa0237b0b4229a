package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/spf13/cobra"
)

// `elbow logs` prints each instance's logs as `eb logs` does
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/eb3-logs.html):
// per instance a header, then per file its path on the instance between
// dashes and its last 100 lines (the tail logs Beanstalk bundles,
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.logging.html).
// elbow keeps each instance's files under <log_dir>/<instance-id>/ with the
// names Beanstalk gives them under /var/log.

// tailLineCount is the number of lines Beanstalk's tail logs keep per file.
const tailLineCount = 100

// followInterval is how often -f polls the files for new lines.
const followInterval = 250 * time.Millisecond

// instanceIDPattern is an EC2 instance id as elbow assigns them.
var instanceIDPattern = regexp.MustCompile(`^i-[0-9a-f]{17}$`)

func newLogsCmd() *cobra.Command {
	var (
		file   string
		all    bool
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "logs [INSTANCE]",
		Short: "Print the instances' logs, as `eb logs` does",
		Long: `logs prints the logs each instance keeps as on Elastic Beanstalk: eb-engine.log (the
deployment's steps), web.stdout.log and <process>.stdout.log (what each Procfile process wrote),
nginx/access.log and nginx/error.log. INSTANCE is an instance id or a unique prefix of one;
without it every instance found is printed, the most recently written first. Each file is shown
with its path on the instance and, after it, the file on this machine.

The files are under instances.log_dir of the environment file (default .elbow/logs beside
elbow.yaml, or in the current folder when there is no elbow.yaml), one folder per instance.`,
		Args: cobraArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := logDir(file)
			if err != nil {
				return err
			}
			ids, err := instanceLogDirs(dir)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				id, err := pickInstance(ids, args[0], dir)
				if err != nil {
					return err
				}
				ids = []string{id}
			}
			out := cmd.OutOrStdout()
			offsets := map[string]int64{}
			for _, id := range ids {
				if err := printInstanceLogs(out, dir, id, all, offsets); err != nil {
					return err
				}
			}
			if !follow {
				return nil
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			only := ""
			if len(args) == 1 {
				only = ids[0]
			}
			return followLogs(ctx, out, dir, only, offsets)
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "environment file whose instances.log_dir to read (default: elbow.yaml in the current directory)")
	cmd.Flags().BoolVar(&all, "all", false, "print whole files instead of their last 100 lines")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "after printing, print new lines as they are written, until Ctrl-C")
	return cmd
}

// logDir is instances.log_dir of the environment file, resolved beside it;
// without a file, .elbow/logs in the current folder.
func logDir(flag string) (string, error) {
	path, err := configPath(flag)
	if err != nil {
		return "", err
	}
	if path == "" {
		return filepath.Join(".elbow", "logs"), nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		return "", fmt.Errorf("reading instances.log_dir: %w", err)
	}
	base := filepath.Dir(path)
	switch d := cfg.Instances.LogDir; {
	case d == "":
		return filepath.Join(base, ".elbow", "logs"), nil
	case filepath.IsAbs(d):
		return d, nil
	default:
		return filepath.Join(base, d), nil
	}
}

// instanceLogDirs lists the instance folders in dir, the most recently
// written first.
func instanceLogDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading the instances' logs in %s: %w", dir, err)
	}
	type inst struct {
		id   string
		last time.Time
	}
	var found []inst
	for _, e := range entries {
		if !e.IsDir() || !instanceIDPattern.MatchString(e.Name()) {
			continue
		}
		found = append(found, inst{e.Name(), lastWritten(filepath.Join(dir, e.Name()))})
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no instance logs in %s: `elbow up` writes each instance's logs there, in a folder named by its instance id", absPath(dir))
	}
	sort.SliceStable(found, func(i, j int) bool {
		if !found[i].last.Equal(found[j].last) {
			return found[i].last.After(found[j].last)
		}
		return found[i].id < found[j].id
	})
	ids := make([]string, len(found))
	for i, f := range found {
		ids[i] = f.id
	}
	return ids, nil
}

// lastWritten is the latest modification time of an instance's folder and
// its log files: appending to a file does not touch its folder.
func lastWritten(dir string) time.Time {
	var last time.Time
	paths := []string{dir}
	for _, f := range logFiles(dir) {
		paths = append(paths, filepath.Join(dir, f.rel))
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.ModTime().After(last) {
			last = st.ModTime()
		}
	}
	return last
}

// pickInstance resolves arg, an instance id or a unique prefix of one.
func pickInstance(ids []string, arg, dir string) (string, error) {
	var match []string
	for _, id := range ids {
		if id == arg {
			return id, nil
		}
		if strings.HasPrefix(id, arg) {
			match = append(match, id)
		}
	}
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return "", fmt.Errorf("no logs of instance %q in %s; instances found: %s", arg, absPath(dir), strings.Join(sorted, ", "))
	}
	sort.Strings(match)
	return "", fmt.Errorf("instance %q is ambiguous in %s: it begins %s; give more of the id", arg, absPath(dir), strings.Join(match, ", "))
}

// absPath names a folder in messages so that it is found from anywhere.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// logFile is one log of an instance: its path in the instance's folder and
// the path Beanstalk gives it on the instance.
type logFile struct{ rel, onInstance string }

// logFiles lists the log files present in an instance's folder, ordered by
// their path on the instance.
func logFiles(dir string) []logFile {
	var files []logFile
	add := func(rel string) {
		if st, err := os.Stat(filepath.Join(dir, rel)); err == nil && st.Mode().IsRegular() {
			files = append(files, logFile{rel, "/var/log/" + rel})
		}
	}
	add("eb-engine.log")
	add("nginx/access.log")
	add("nginx/error.log")
	stdout, _ := filepath.Glob(filepath.Join(dir, "*.stdout.log"))
	for _, p := range stdout {
		add(filepath.Base(p))
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].onInstance < files[j].onInstance })
	return files
}

const logRule = "----------------------------------------"

// printInstanceLogs prints one instance's files, as eb logs does, and
// records in offsets where each file ended, for -f.
func printInstanceLogs(out io.Writer, dir, id string, all bool, offsets map[string]int64) error {
	instDir := filepath.Join(dir, id)
	var b bytes.Buffer
	fmt.Fprintf(&b, "============= %s ==============\n", id)
	for _, f := range logFiles(instDir) {
		local := filepath.Join(instDir, f.rel)
		fmt.Fprintf(&b, "%s\n%s  (%s)\n%s\n", logRule, f.onInstance, local, logRule)
		end, err := writeLog(&b, local, all)
		if err != nil {
			return err
		}
		offsets[local] = end
	}
	b.WriteString("\n")
	_, err := out.Write(b.Bytes())
	return err
}

// writeLog writes the file's last tailLineCount lines (all of it with all)
// to w, ending with a newline, and returns the file's size when read.
func writeLog(w *bytes.Buffer, path string, all bool) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("reading log %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("reading log %s: %w", path, err)
	}
	size := st.Size()
	start := int64(0)
	if !all {
		if start, err = tailStart(f, size, tailLineCount); err != nil {
			return 0, fmt.Errorf("reading log %s: %w", path, err)
		}
	}
	data := make([]byte, size-start)
	if _, err := f.ReadAt(data, start); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("reading log %s: %w", path, err)
	}
	w.Write(data)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		w.WriteByte('\n')
	}
	return size, nil
}

// tailStart is the offset where the last n lines of the first size bytes
// of f begin, found by reading backwards in blocks, so that a large log
// costs only its tail.
func tailStart(f io.ReaderAt, size int64, n int) (int64, error) {
	const block = 32 << 10
	end := size
	// A final line without its newline still counts as a line.
	if size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err != nil {
			return 0, err
		}
		if last[0] == '\n' {
			end = size - 1
		}
	}
	seen := 0
	buf := make([]byte, block)
	for pos := end; pos > 0; {
		start := max(pos-block, 0)
		chunk := buf[:pos-start]
		if _, err := f.ReadAt(chunk, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			if chunk[i] == '\n' {
				seen++
				if seen == n {
					return start + int64(i) + 1, nil
				}
			}
		}
		pos = start
	}
	return 0, nil
}

// followLogs prints the lines written after offsets, each prefixed with
// its instance and file, until ctx ends. Files and instances that appear
// while following are read from their start. only limits it to one
// instance. A file that shrank was rotated or truncated, and is read again
// from its start.
func followLogs(ctx context.Context, out io.Writer, dir, only string, offsets map[string]int64) error {
	partial := map[string][]byte{}
	t := time.NewTicker(followInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		ids := []string{only}
		if only == "" {
			ids, _ = instanceLogDirs(dir)
			sort.Strings(ids)
		}
		var b bytes.Buffer
		for _, id := range ids {
			for _, f := range logFiles(filepath.Join(dir, id)) {
				local := filepath.Join(dir, id, f.rel)
				prefix := id + "/" + f.rel + ": "
				readNew(&b, local, prefix, offsets, partial)
			}
		}
		if b.Len() > 0 {
			if _, err := out.Write(b.Bytes()); err != nil {
				return err
			}
		}
	}
}

// readNew appends the complete lines written to path since offsets[path],
// each with prefix; an unfinished last line waits for its newline.
func readNew(b *bytes.Buffer, path, prefix string, offsets map[string]int64, partial map[string][]byte) {
	f, err := os.Open(path)
	if err != nil {
		return // removed since listed; it may come back
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return
	}
	off := offsets[path]
	if st.Size() < off {
		off, partial[path] = 0, nil
	}
	if st.Size() == off {
		return
	}
	data := make([]byte, st.Size()-off)
	n, err := f.ReadAt(data, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return
	}
	offsets[path] = off + int64(n)
	data = append(partial[path], data[:n]...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		b.WriteString(prefix)
		b.Write(data[:i+1])
		data = data[i+1:]
	}
	partial[path] = data
}
