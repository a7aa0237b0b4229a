package vpc

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// newNamespaces creates fresh namespaces of the given kinds (CLONE_NEWNET,
// CLONE_NEWUTS) on a thread of their own, runs setup inside them, and
// returns a descriptor per kind that keeps each alive. The thread is
// never given back to the Go scheduler: its goroutine ends locked, so the
// runtime destroys it (runtime.LockOSThread), and no other goroutine ever
// runs in the new namespaces by accident.
func newNamespaces(flags int, setup func() error) (netNS, utsNS *os.File, err error) {
	type result struct {
		net, uts *os.File
		err      error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// Deliberately never unlocked.
		var r result
		defer func() { done <- r }()
		if err := unix.Unshare(flags); err != nil {
			r.err = fmt.Errorf("unshare: %w", err)
			return
		}
		if flags&unix.CLONE_NEWNET != 0 {
			if r.net, r.err = os.Open("/proc/thread-self/ns/net"); r.err != nil {
				return
			}
		}
		if flags&unix.CLONE_NEWUTS != 0 {
			if r.uts, r.err = os.Open("/proc/thread-self/ns/uts"); r.err != nil {
				r.net.Close()
				return
			}
		}
		if setup != nil {
			if r.err = setup(); r.err != nil {
				closeAll(r.net, r.uts)
				r.net, r.uts = nil, nil
			}
		}
	}()
	r := <-done
	return r.net, r.uts, r.err
}

// inNamespace runs f on this goroutine's thread moved into ns, and moves
// the thread back to home before giving it back. Sockets f creates stay in
// ns for their whole life (network_namespaces(7)). If the thread cannot go
// home it stays locked to this goroutine, and the runtime destroys it when
// the goroutine ends.
func inNamespace(ns, home *os.File, f func() error) error {
	runtime.LockOSThread()
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace: %w", err)
	}
	err := f()
	if back := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); back != nil {
		return fmt.Errorf("leave network namespace: %w", back) // thread stays locked: see above
	}
	runtime.UnlockOSThread()
	return err
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}
