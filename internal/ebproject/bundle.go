package ebproject

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// MaxBundleSize is Beanstalk's limit on a source bundle, 512 MB
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/applications-sourcebundle.html);
// elbow applies it to the extracted size too, so that a small zip cannot
// fill the disk.
const MaxBundleSize = 512 << 20

// LoadBundle extracts the source bundle zipPath into stagingDir (which must
// be empty or absent) and loads it. Entries that would land outside
// stagingDir (absolute paths, "..") and symbolic links are refused.
func LoadBundle(zipPath, stagingDir string, opts Options) (*Project, error) {
	if err := extract(zipPath, stagingDir, MaxBundleSize); err != nil {
		return nil, err
	}
	return Load(stagingDir, opts)
}

func extract(zipPath, dest string, limit int64) error {
	st, err := os.Stat(zipPath)
	if err != nil {
		return fmt.Errorf("source bundle: %w", err)
	}
	if st.Size() > limit {
		return fmt.Errorf("source bundle %s: %d bytes: a source bundle is at most %d bytes (512 MB)", zipPath, st.Size(), limit)
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("source bundle %s: %w", zipPath, err)
	}
	defer zr.Close()
	if entries, err := os.ReadDir(dest); err == nil && len(entries) > 0 {
		return fmt.Errorf("staging folder %s is not empty", dest)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("staging folder: %w", err)
	}
	var total int64
	for _, f := range zr.File {
		name := f.Name
		if escapes(name) {
			return fmt.Errorf("source bundle %s: entry %q leaves the bundle's folder: refused", zipPath, name)
		}
		clean := path.Clean(name)
		mode := f.Mode()
		if mode&os.ModeSymlink != 0 {
			return fmt.Errorf("source bundle %s: entry %q is a symbolic link: refused, a link could point outside the app", zipPath, name)
		}
		target := filepath.Join(dest, filepath.FromSlash(clean))
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("source bundle: %w", err)
			}
			continue
		}
		if !mode.IsRegular() {
			return fmt.Errorf("source bundle %s: entry %q is not a regular file: refused", zipPath, name)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("source bundle: %w", err)
		}
		n, err := writeEntry(f, target, limit-total)
		total += n
		if err != nil {
			return fmt.Errorf("source bundle %s: entry %q: %w", zipPath, name, err)
		}
	}
	return nil
}

// writeEntry copies one file, at most budget bytes, keeping its execute
// bits (hooks need them).
func writeEntry(f *zip.File, target string, budget int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	perm := f.Mode().Perm() | 0o600
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > budget {
		err = fmt.Errorf("the bundle extracts to more than %d bytes (512 MB)", MaxBundleSize)
	}
	return n, err
}

// escapes reports whether a zip entry name points outside the folder it is
// extracted into: absolute, a drive or backslash path, or a ".." element.
func escapes(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || (len(name) > 1 && name[1] == ':') {
		return true
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return true
		}
	}
	return false
}
