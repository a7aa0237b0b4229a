package rawio

import (
	"io"
	"syscall"
	"time"
	"unsafe"
)

// op is one direction's call in progress; fn is its callback, made once so
// that a call allocates nothing.
type op struct {
	p     []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
	// For a write with an idle timeout: full asks Write to arm the
	// deadline (the socket is full and no deadline covers the wait);
	// armed and progress say whether one does.
	idle, full, armed, progress bool
}

func (c *Conn) init() {
	c.rd.fn = c.rd.read
	c.wr.fn = c.wr.write
}

func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	o := &c.rd
	o.p, o.n, o.errno = p, 0, 0
	err := c.rc.Read(o.fn)
	o.p = nil
	switch {
	case err != nil:
		return 0, renamed(err, "read")
	case o.errno != 0:
		return 0, c.opError("read", o.errno)
	case o.n == 0:
		return 0, io.EOF
	}
	return o.n, nil
}

func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	o := &c.wr
	o.p, o.n, o.errno = p, 0, 0
	o.idle, o.full, o.armed, o.progress = c.writeIdle > 0, false, false, false
	err := c.rc.Write(o.fn)
	for err == nil && o.full {
		o.full, o.armed, o.progress = false, true, false
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.writeIdle))
		err = c.rc.Write(o.fn)
	}
	if o.armed {
		// A deadline left behind would fail a later write that need
		// not wait at all (the poller checks it first).
		_ = c.nc.SetWriteDeadline(time.Time{})
	}
	o.p = nil
	n := o.n
	switch {
	case err != nil:
		return n, renamed(err, "write")
	case o.errno != 0:
		return n, c.opError("write", o.errno)
	}
	return n, nil
}

// peek is one recvfrom(2) of a byte with MSG_PEEK|MSG_DONTWAIT, which
// consumes nothing and never waits. Through Control, not Read: no read
// lock (the owner may be reading) and no deadline check (an expired read
// deadline, left from the last response, says nothing of the peer).
func (c *Conn) peek() (n uintptr, errno syscall.Errno, err error) {
	var buf [1]byte
	err = c.rc.Control(func(fd uintptr) {
		n, _, errno = syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	})
	return n, errno, err
}

// read is one recvfrom(2), which skips the file layer read(2) goes
// through (about 2 % of the proxy's CPU); false to wait for the socket to
// become readable.
func (o *op) read(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&o.p[0])), uintptr(len(o.p)), 0, 0, 0)
		switch e {
		case 0:
			o.n = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		o.errno = e
		return true
	}
}

// write sends all of o.p with sendto(2), as read uses recvfrom, and with
// MSG_NOSIGNAL: a peer gone is an EPIPE error, not a signal; false to wait
// for room in the socket buffer.
func (o *op) write(fd uintptr) bool {
	for o.n < len(o.p) {
		n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&o.p[o.n])), uintptr(len(o.p)-o.n), syscall.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			o.n += int(n)
			o.progress = true
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if o.idle && (!o.armed || o.progress) {
				o.full = true // Write arms a deadline, then waits
				return true
			}
			return false
		}
		o.errno = e
		return true
	}
	return true
}

// peerFinished reports whether the peer has sent its FIN: the socket is
// in CLOSE-WAIT (TCP_INFO's tcpi_state, the first byte of struct
// tcp_info), whatever data came before it and is still unread.
func (c *Conn) peerFinished() bool {
	var info [8]byte
	size := uint32(len(info))
	var errno syscall.Errno
	err := c.rc.Control(func(fd uintptr) {
		_, _, errno = syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	})
	return err == nil && errno == 0 && size >= 1 && info[0] == tcpCloseWait
}

// tcpCloseWait is TCP_CLOSE_WAIT in Linux's include/net/tcp_states.h.
const tcpCloseWait = 8
