//go:build !unix

package testutil

import "os"

// lockPort: without flock the claim is this binary's alone.
func lockPort(int) (*os.File, bool) { return nil, true }
