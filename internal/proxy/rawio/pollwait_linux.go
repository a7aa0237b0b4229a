package rawio

import (
	"net"
	"reflect"
	"unsafe"
)

// pollWait is the Go runtime's wait on a poll descriptor
// (runtime.poll_runtime_pollWait, src/runtime/netpoll.go), the call
// internal/poll's FD.Read makes after a read fails with EAGAIN; mode is 'r'
// or 'w'. It returns 0 when the descriptor is ready, else one of the
// runtime's error codes (closing, timeout). The runtime pushes it by name
// to internal/poll (//go:linkname), which makes it a name the linker lets
// other packages refer to as well; a Go release that stops allowing it
// fails the build, not the program.
//
//go:linkname pollWait internal/poll.runtime_pollWait
func pollWait(ctx uintptr, mode int) int

// pollOffsets locates a *net.TCPConn's poll descriptor: the offset of
// net.conn's fd (a *net.netFD) in net.TCPConn, and of
// netFD.pfd.pd.runtimeCtx in netFD (src/net/fd_posix.go,
// src/internal/poll/fd_unix.go, fd_poll_runtime.go). Found by name and
// kind with reflect once, so that a Go release that renames or retypes
// any of them leaves ok false and Read reads first, as RawConn does.
var pollOffsets = func() (o struct {
	fd, ctx uintptr
	ok      bool
}) {
	conn, found := reflect.TypeFor[net.TCPConn]().FieldByName("conn")
	if !found {
		return o
	}
	fd, found := conn.Type.FieldByName("fd")
	if !found || fd.Type.Kind() != reflect.Pointer || fd.Type.Elem().Kind() != reflect.Struct {
		return o
	}
	o.fd = conn.Offset + fd.Offset
	off := uintptr(0)
	t := fd.Type.Elem()
	for _, name := range []string{"pfd", "pd", "runtimeCtx"} {
		if t.Kind() != reflect.Struct {
			return o
		}
		f, found := t.FieldByName(name)
		if !found || len(f.Index) != 1 {
			return o
		}
		off += f.Offset
		t = f.Type
	}
	if t.Kind() != reflect.Uintptr {
		return o
	}
	o.ctx, o.ok = off, true
	return o
}()

// pollContext is tc's poll descriptor, as internal/poll's FD holds it
// (pollDesc.runtimeCtx); 0 when it cannot be found.
func pollContext(tc *net.TCPConn) uintptr {
	if !pollOffsets.ok || tc == nil {
		return 0
	}
	netFD := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(tc), pollOffsets.fd))
	if netFD == nil {
		return 0
	}
	return *(*uintptr)(unsafe.Add(netFD, pollOffsets.ctx))
}
