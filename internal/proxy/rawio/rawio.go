// Package rawio reads and writes the data path's TCP connections with raw
// system calls on their non-blocking sockets, waiting through Go's
// netpoller (syscall.RawConn) only when a call would block.
//
// Why: net.Conn's Read and Write enter the scheduler's syscall state, and
// on loopback a write runs the receiver's whole TCP path inside the call,
// often longer than sysmon's 20 µs tick. sysmon then takes the processor
// away from the thread, wakes another thread to run it, and keeps waking
// itself every 20 µs to do so again: about a tenth of the proxy's CPU in
// bench/proxy.sh. A read or write on a non-blocking socket never blocks, so
// it needs none of that. Deadlines, Close and everything else stay with the
// net.Conn, whose poller the raw calls share.
package rawio

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Conn does a connection's reads and writes. Like net.Conn it allows one
// Read and one Write at a time, concurrently with each other.
type Conn struct {
	nc     net.Conn
	rc     syscall.RawConn
	rd, wr op
	// writeIdle: see SetWriteIdleTimeout.
	writeIdle time.Duration
}

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

// New returns the reader and writer for nc: a *Conn when nc is a TCP
// connection, nc itself otherwise (TLS, pipes in tests).
func New(nc net.Conn) io.ReadWriter {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	c := &Conn{nc: nc, rc: rc}
	c.rd.fn = c.rd.read
	c.wr.fn = c.wr.write
	return c
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

// SetWriteIdleTimeout makes a Write fail with a timeout when the peer
// takes nothing of it for d: the ALB's idle timeout, "no data sent or
// received", for a client that stopped reading. The deadline is set only
// when the socket is full and the write must wait, and again after each
// bit of progress: a write that never waits reads no clock. 0, the
// default, waits for ever.
func (c *Conn) SetWriteIdleTimeout(d time.Duration) { c.writeIdle = d }

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

// Quiet reports whether the connection is open with nothing to read: no
// bytes, no end, no error.
func (c *Conn) Quiet() bool {
	_, errno, err := c.peek()
	return err == nil && errno == syscall.EAGAIN
}

// PeerClosed reports whether the peer has closed or reset the connection:
// bytes waiting to be read, or none yet, mean it has not.
func (c *Conn) PeerClosed() bool {
	n, errno, err := c.peek()
	if err != nil {
		return errors.Is(err, net.ErrClosed)
	}
	return errno == 0 && n == 0 || errno != 0 && errno != syscall.EAGAIN && errno != syscall.EINTR
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

// opError is the error net.Conn gives for the same failure, so that callers
// telling a reset from a timeout see no difference.
func (c *Conn) opError(call string, errno syscall.Errno) error {
	return &net.OpError{Op: call, Net: "tcp", Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(),
		Err: os.NewSyscallError(call, errno)}
}

// renamed gives a poller error (a deadline, a closed connection) the
// operation name net.Conn uses, not RawConn's "raw-read".
func renamed(err error, call string) error {
	if oe, ok := err.(*net.OpError); ok {
		oe.Op = call
	}
	return err
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
