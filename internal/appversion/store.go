// Package appversion owns application versions: labelled, immutable copies
// of a project's source folder, as Elastic Beanstalk keeps the source bundle
// of every CreateApplicationVersion, so a deployment runs a copy that later
// edits of the folder do not touch.
//
// A store is a folder (elbow keeps it at <project>/.elbow/versions). Version
// L's files are in <dir>/L/ and its manifest in <dir>/.L.json; the manifest
// is written last, so a version exists once its manifest does, and a copy a
// crash interrupted is never listed.
package appversion

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits of CreateApplicationVersion's parameters:
// https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_CreateApplicationVersion.html
const (
	MaxLabelLength       = 100
	MaxDescriptionLength = 200
)

// ErrExists is returned by Create for a label the store already has.
var ErrExists = errors.New("application version exists")

// tempPrefix names the folders Create copies into; no label starts with a
// dot, so none can be taken for a version.
const tempPrefix = ".tmp-"

// Version is one application version.
type Version struct {
	Label       string
	Description string
	SourceDir   string // the copy, an absolute path
	Created     time.Time
}

// manifest is a version's manifest file.
type manifest struct {
	Label       string    `json:"label"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
}

// Store is the application versions in one folder. Its methods are safe for
// concurrent use.
type Store struct {
	dir string

	mu       sync.Mutex
	versions map[string]Version
}

// NewStore opens the store in dir, creating dir if needed, and lists the
// versions already there. It removes the copies a crash left unfinished.
func NewStore(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("appversion: store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("appversion: create store %s: %w", abs, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("appversion: read store %s: %w", abs, err)
	}
	s := &Store{dir: abs, versions: make(map[string]Version)}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, tempPrefix):
			os.RemoveAll(filepath.Join(abs, name))
		case strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".json") && !e.IsDir():
			b, err := os.ReadFile(filepath.Join(abs, name))
			if err != nil {
				return nil, fmt.Errorf("appversion: read manifest %s: %w", filepath.Join(abs, name), err)
			}
			var m manifest
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("appversion: manifest %s: %w", filepath.Join(abs, name), err)
			}
			if m.Label == "" || manifestName(m.Label) != name {
				return nil, fmt.Errorf("appversion: manifest %s names label %q, not its own", filepath.Join(abs, name), m.Label)
			}
			src := filepath.Join(abs, m.Label)
			if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
				return nil, fmt.Errorf("appversion: version %s has a manifest but no folder %s", m.Label, src)
			}
			s.versions[m.Label] = Version{Label: m.Label, Description: m.Description, SourceDir: src, Created: m.Created}
		}
	}
	return s, nil
}

// Dir is the store's folder, an absolute path.
func (s *Store) Dir() string { return s.dir }

// NewLabel returns the label the EB CLI gives a version it creates at now:
// "app-" and now as YYMMDD_HHMMSS.
func NewLabel(now time.Time) string { return "app-" + now.Format("060102_150405") }

// ValidateLabel refuses what CreateApplicationVersion refuses (1-100
// characters) and what cannot name a folder: a "/", a NUL, or a leading dot
// (the store's own files start with one, and "." and ".." are not folders).
func ValidateLabel(label string) error {
	n := utf8.RuneCountInString(label)
	switch {
	case n < 1:
		return errors.New("application version label is empty; it must have 1 to 100 characters")
	case n > MaxLabelLength:
		return fmt.Errorf("application version label %q has %d characters; it must have at most %d", label, n, MaxLabelLength)
	case strings.ContainsAny(label, "/\x00"):
		return fmt.Errorf("application version label %q contains %q; a label may contain any character but / and NUL", label, "/")
	case strings.HasPrefix(label, "."):
		return fmt.Errorf("application version label %q starts with a dot; a label must not (elbow keeps its own files under such names)", label)
	}
	return nil
}

// Create copies src into a new version labelled label and returns it. The
// copy keeps regular files (and their modes and modification times),
// folders (and their modes) and symbolic links as links; it leaves out
// .elbow and .git folders, the store itself if it lies inside src, and
// what is neither file, folder nor link (sockets, pipes, devices). An
// existing label is refused with AWS's words.
func (s *Store) Create(src, label, description string, now time.Time) (Version, error) {
	if err := ValidateLabel(label); err != nil {
		return Version{}, fmt.Errorf("appversion: %w", err)
	}
	if n := utf8.RuneCountInString(description); n > MaxDescriptionLength {
		return Version{}, fmt.Errorf("appversion: description of %s has %d characters; it must have at most %d", label, n, MaxDescriptionLength)
	}
	if _, ok := s.Get(label); ok {
		return Version{}, existsError(label)
	}
	srcAbs, err := filepath.Abs(src)
	if err != nil {
		return Version{}, fmt.Errorf("appversion: source %s: %w", src, err)
	}
	if fi, err := os.Stat(srcAbs); err != nil {
		return Version{}, fmt.Errorf("appversion: source of %s: %w", label, err)
	} else if !fi.IsDir() {
		return Version{}, fmt.Errorf("appversion: source of %s: %s is not a folder", label, srcAbs)
	}

	tmp, err := os.MkdirTemp(s.dir, tempPrefix+"*")
	if err != nil {
		return Version{}, fmt.Errorf("appversion: create %s: %w", label, err)
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(tmp)
		}
	}()
	if err := copyTree(srcAbs, tmp, s.dir); err != nil {
		return Version{}, fmt.Errorf("appversion: copy %s into version %s: %w", srcAbs, label, err)
	}
	m := manifest{Label: label, Description: description, Created: now}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Version{}, fmt.Errorf("appversion: manifest of %s: %w", label, err)
	}
	tmpManifest := tmp + ".json"
	if err := os.WriteFile(tmpManifest, append(b, '\n'), 0o644); err != nil {
		return Version{}, fmt.Errorf("appversion: write manifest of %s: %w", label, err)
	}
	defer os.Remove(tmpManifest) // gone already once renamed

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.versions[label]; ok {
		return Version{}, existsError(label)
	}
	final := filepath.Join(s.dir, label)
	// A folder without a manifest is a copy a crash cut off after its rename.
	if err := os.RemoveAll(final); err != nil {
		return Version{}, fmt.Errorf("appversion: create %s: %w", label, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return Version{}, fmt.Errorf("appversion: create %s: %w", label, err)
	}
	committed = true
	if err := os.Rename(tmpManifest, filepath.Join(s.dir, manifestName(label))); err != nil {
		os.RemoveAll(final)
		return Version{}, fmt.Errorf("appversion: create %s: %w", label, err)
	}
	v := Version{Label: label, Description: description, SourceDir: final, Created: now}
	s.versions[label] = v
	return v, nil
}

// ExistsError is Create's refusal of a label the store has; its text is
// CreateApplicationVersion's, and errors.Is(err, ErrExists) holds.
type ExistsError struct{ Label string }

func (e *ExistsError) Error() string        { return "Application Version " + e.Label + " already exists." }
func (e *ExistsError) Is(target error) bool { return target == ErrExists }

func existsError(label string) error { return &ExistsError{Label: label} }

func manifestName(label string) string { return "." + label + ".json" }

// Get returns the version labelled label.
func (s *Store) Get(label string) (Version, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.versions[label]
	return v, ok
}

// List returns every version, newest first (by creation, then label).
func (s *Store) List() []Version {
	s.mu.Lock()
	out := make([]Version, 0, len(s.versions))
	for _, v := range s.versions {
		out = append(out, v)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Version) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(b.Label, a.Label)
	})
	return out
}
