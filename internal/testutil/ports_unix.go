//go:build unix

package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// lockPort claims port across processes: an exclusive flock on a file
// named for it, which the kernel drops when the process exits, so a
// crashed test binary leaves no claim behind. Without a lock directory
// the claim is this binary's alone (true, nil).
func lockPort(port int) (*os.File, bool) {
	dir := filepath.Join(os.TempDir(), "elbow-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, true
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false // another test binary holds it
	}
	return f, true
}
