package appversion_test

import (
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/appversion"
)

func write(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

// project builds a source folder with what a copy must keep and leave out;
// the store lies inside it, as <project>/.elbow/versions does.
func project(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	write(t, filepath.Join(src, "app.py"), "print('hi')\n", 0o644)
	write(t, filepath.Join(src, "run.sh"), "#!/bin/sh\n", 0o750)
	write(t, filepath.Join(src, "secret.txt"), "s", 0o600)
	write(t, filepath.Join(src, "lib", "deep", "mod.py"), "x = 1\n", 0o640)
	write(t, filepath.Join(src, ".env"), "A=1\n", 0o644) // a dotfile that is no folder of elbow's or git's
	write(t, filepath.Join(src, ".git", "HEAD"), "ref: refs/heads/main\n", 0o644)
	write(t, filepath.Join(src, "lib", ".git", "HEAD"), "submodule\n", 0o644)
	write(t, filepath.Join(src, ".elbow", "logs", "i-1.log"), "log\n", 0o644)
	write(t, filepath.Join(src, "static", ".elbow"), "a file named .elbow is the user's\n", 0o644)
	if err := os.Symlink("lib/deep/mod.py", filepath.Join(src, "link.py")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nonexistent/target", filepath.Join(src, "dangling")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("lib", filepath.Join(src, "libdir")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(src, "readonly"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(src, "readonly", "f"), "ro", 0o444)
	if err := os.Chmod(filepath.Join(src, "readonly"), 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(src, "readonly"), 0o755) })
	return src
}

func TestCreateCopiesTheTreeFaithfullyAndLeavesOutElbowGitAndTheStore(t *testing.T) {
	src := project(t)
	store, err := appversion.NewStore(filepath.Join(src, ".elbow", "versions"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC)
	v, err := store.Create(src, "v1", "first", now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(v.SourceDir, "readonly"), 0o755) })
	if v.Label != "v1" || v.Description != "first" || !v.Created.Equal(now) ||
		v.SourceDir != filepath.Join(src, ".elbow", "versions", "v1") {
		t.Errorf("version %+v", v)
	}
	for _, tc := range []struct {
		path    string
		content string
		mode    fs.FileMode
	}{
		{"app.py", "print('hi')\n", 0o644},
		{"run.sh", "#!/bin/sh\n", 0o750},
		{"secret.txt", "s", 0o600},
		{"lib/deep/mod.py", "x = 1\n", 0o640},
		{".env", "A=1\n", 0o644},
		{"static/.elbow", "a file named .elbow is the user's\n", 0o644},
		{"readonly/f", "ro", 0o444},
	} {
		p := filepath.Join(v.SourceDir, tc.path)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		b, _ := os.ReadFile(p)
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != tc.mode || string(b) != tc.content {
			t.Errorf("%s: mode %v content %q, want a file %v %q", tc.path, fi.Mode(), b, tc.mode, tc.content)
		}
		orig, _ := os.Stat(filepath.Join(src, tc.path))
		if !fi.ModTime().Equal(orig.ModTime()) {
			t.Errorf("%s: modified %v, the source %v", tc.path, fi.ModTime(), orig.ModTime())
		}
	}
	for link, want := range map[string]string{"link.py": "lib/deep/mod.py", "dangling": "/nonexistent/target", "libdir": "lib"} {
		fi, err := os.Lstat(filepath.Join(v.SourceDir, link))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s: %v %v, want a symbolic link", link, fi, err)
			continue
		}
		if got, _ := os.Readlink(filepath.Join(v.SourceDir, link)); got != want {
			t.Errorf("%s -> %q, want %q", link, got, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(v.SourceDir, "readonly")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("readonly folder: %v %v, want mode 0555", fi, err)
	}
	for _, gone := range []string{".git", "lib/.git", ".elbow", "pipe"} {
		if _, err := os.Lstat(filepath.Join(v.SourceDir, gone)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s was copied (%v)", gone, err)
		}
	}
	// Nothing but versions and manifests is left in the store.
	entries, _ := os.ReadDir(store.Dir())
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != ".v1.json v1" {
		t.Errorf("store holds %q, want the version and its manifest", names)
	}
}

func TestTheCopyIsImmutableAgainstLaterEdits(t *testing.T) {
	src := t.TempDir()
	write(t, filepath.Join(src, "app.py"), "v1", 0o644)
	store, err := appversion.NewStore(filepath.Join(t.TempDir(), "versions"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := store.Create(src, "app-1", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(src, "app.py"), "v2", 0o644)
	if b, _ := os.ReadFile(filepath.Join(v.SourceDir, "app.py")); string(b) != "v1" {
		t.Errorf("the version's copy reads %q after the source changed, want v1", b)
	}
}

func TestLabelsAndDescriptionsAreCheckedAsAWSChecksThem(t *testing.T) {
	src := t.TempDir()
	write(t, filepath.Join(src, "a"), "a", 0o644)
	store, err := appversion.NewStore(filepath.Join(t.TempDir(), "versions"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := store.Create(src, "v1", "", now); err != nil {
		t.Fatal(err)
	}
	_, err = store.Create(src, "v1", "again", now)
	if err == nil || err.Error() != "Application Version v1 already exists." || !errors.Is(err, appversion.ErrExists) {
		t.Errorf("Create of an existing label: %v", err)
	}
	for label, want := range map[string]string{
		"":                        "must have 1 to 100 characters",
		strings.Repeat("x", 101):  "has 101 characters; it must have at most 100",
		"a/b":                     "may contain any character but /",
		"..":                      "starts with a dot",
		".hidden":                 "starts with a dot",
		strings.Repeat("é", 100):  "", // 100 characters, 200 bytes: allowed
		"v 2 (fix) ünïcode_-+=.~": "",
	} {
		_, err := store.Create(src, label, "", now)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("Create(label %q) = %v, want %q", label, err, want)
		}
	}
	if _, err := store.Create(src, "long", strings.Repeat("d", 201), now); err == nil || !strings.Contains(err.Error(), "at most 200") {
		t.Errorf("Create with a 201-character description: %v", err)
	}
	if _, err := store.Create(filepath.Join(src, "missing"), "nosrc", "", now); err == nil {
		t.Error("Create of a missing source folder succeeded")
	}
	if _, ok := store.Get("nosrc"); ok {
		t.Error("a failed Create left a version")
	}
}

func TestAReopenedStoreListsItsVersionsNewestFirst(t *testing.T) {
	src := t.TempDir()
	write(t, filepath.Join(src, "a"), "a", 0o644)
	dir := filepath.Join(t.TempDir(), "versions")
	store, err := appversion.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, label := range []string{appversion.NewLabel(t0), "mine", appversion.NewLabel(t0.Add(2 * time.Hour))} {
		if _, err := store.Create(src, label, "message "+label, t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// A copy a crash interrupted is neither listed nor kept.
	if err := os.MkdirAll(filepath.Join(dir, ".tmp-123", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	reopened, err := appversion.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, v := range reopened.List() {
		labels = append(labels, v.Label)
		if v.Description != "message "+v.Label || v.SourceDir != filepath.Join(dir, v.Label) {
			t.Errorf("reopened version %+v", v)
		}
	}
	if want := "app-260102_050405 mine app-260102_030405"; strings.Join(labels, " ") != want {
		t.Errorf("List() = %q, want %q", labels, want)
	}
	if v, ok := reopened.Get("mine"); !ok || !v.Created.Equal(t0.Add(time.Hour)) {
		t.Errorf("Get(mine) = %+v %v", v, ok)
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp-123")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an interrupted copy survived reopening: %v", err)
	}
	if _, err := reopened.Create(src, "mine", "", t0); err == nil || err.Error() != "Application Version mine already exists." {
		t.Errorf("Create of a label the reopened store has: %v", err)
	}
}

// BenchmarkCreate copies a 50 MB tree of 200 files in 10 folders.
func BenchmarkCreate(b *testing.B) {
	src := b.TempDir()
	content := make([]byte, 256<<10)
	rand.Read(content)
	for i := range 200 {
		dir := filepath.Join(src, "d"+strconv.Itoa(i%10))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	store, err := appversion.NewStore(filepath.Join(b.TempDir(), "versions"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(200 * int64(len(content)))
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		if _, err := store.Create(src, "v"+strconv.Itoa(i), "", now); err != nil {
			b.Fatal(err)
		}
	}
}
