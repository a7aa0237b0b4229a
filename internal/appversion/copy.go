package appversion

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// skipped are the folders a version leaves out at any depth: elbow's own
// state and git's, as `git archive` (what the EB CLI bundles with) leaves
// out .git.
var skipped = []string{".elbow", ".git"}

// copyTree copies src's content into dst, an existing empty folder, leaving
// out the skipped folders and store (the store's own folder, if inside src).
func copyTree(src, dst, store string) error {
	type dirMode struct {
		path string
		info fs.FileInfo
	}
	var dirs []dirMode // modes are set last: a read-only folder must first be filled
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch typ := d.Type(); {
		case typ.IsDir():
			if path != src && (slices.Contains(skipped, d.Name()) || path == store) {
				return filepath.SkipDir
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if path != src {
				if err := os.Mkdir(target, 0o700); err != nil {
					return err
				}
			}
			dirs = append(dirs, dirMode{target, info})
		case typ&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case typ.IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			return copyFile(path, target, info)
		}
		// Sockets, pipes and devices are no part of a source bundle, and
		// opening a pipe would block.
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range slices.Backward(dirs) {
		if err := os.Chmod(d.path, fileMode(d.info)); err != nil {
			return err
		}
		os.Chtimes(d.path, d.info.ModTime(), d.info.ModTime())
	}
	return nil
}

// copyFile copies one regular file. io.Copy between two *os.File uses
// copy_file_range(2) on Linux (os.File.ReadFrom), so the data need not pass
// through user space, and a filesystem with reflinks shares the blocks.
func copyFile(src, dst string, info fs.FileInfo) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	// Chmod, not the mode given to OpenFile, which the umask would cut.
	if err := out.Chmod(fileMode(info)); err != nil {
		return err
	}
	return os.Chtimes(dst, info.ModTime(), info.ModTime())
}

func fileMode(info fs.FileInfo) fs.FileMode {
	return info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}
