// Package rawio reads and writes the data path's TCP connections with raw
// system calls on their non-blocking sockets, waiting through Go's
// netpoller (syscall.RawConn) only when a call would block. That is Linux
// (rawio_linux.go); elsewhere (rawio_other.go) a Conn reads and writes
// through the net.Conn, with the same idle timeout and peer checks.
//
// Why: net.Conn's Read and Write enter the scheduler's syscall state, and
// on loopback a write runs the receiver's whole TCP path inside the call,
// often longer than sysmon's 20 µs tick. sysmon then takes the processor
// away from the thread, wakes another thread to run it, and keeps waking
// itself every 20 µs to do so again: about a tenth of the proxy's CPU in
// bench/proxy.sh. A read or write on a non-blocking socket never blocks, so
// it needs none of that. Deadlines, Close and everything else stay with the
// net.Conn, whose poller the raw calls share.
//
// On Linux a read also says, with TCP_INQ, whether it drained the socket;
// the next read then waits for the poller before it reads (Conn.Read, the
// wait in rawio_linux.go) instead of failing with EAGAIN first, as
// net.Conn's reads do: a proxy's reads mostly come just before their bytes
// do, and this saves two of its six system calls per request.
package rawio

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
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
	c.init()
	return c
}

// SetWriteIdleTimeout makes a Write fail with a timeout when the peer
// takes nothing of it for d: the ALB's idle timeout, "no data sent or
// received", for a client that stopped reading. The deadline is set only
// when the socket is full and the write must wait, and again after each
// bit of progress: a write that never waits reads no clock (on Linux;
// elsewhere see netWrite). 0, the default, waits for ever.
func (c *Conn) SetWriteIdleTimeout(d time.Duration) { c.writeIdle = d }

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

// PeerGone reports whether the peer has closed or reset the connection,
// or has sent its FIN behind data not read yet: under TLS, a client's
// close_notify alert comes before its FIN, and PeerClosed sees the alert's
// bytes (on Linux; elsewhere it is PeerClosed).
func (c *Conn) PeerGone() bool { return c.PeerClosed() || c.peerFinished() }

// netWrite is Write through the net.Conn, for systems without the raw
// calls. With an idle timeout it sets a deadline before each write and
// renews it after progress, so a peer that takes nothing is cut after one
// to two idle timeouts, where the raw Write cuts after one.
func (c *Conn) netWrite(p []byte) (int, error) {
	if c.writeIdle <= 0 {
		return c.nc.Write(p)
	}
	var n int
	for {
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.writeIdle))
		m, err := c.nc.Write(p[n:])
		n += m
		if err != nil && m > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		// A deadline left behind would fail a later write.
		_ = c.nc.SetWriteDeadline(time.Time{})
		return n, err
	}
}

// peekRecvfrom is peek through syscall.Recvfrom, for systems where the raw
// call is not the way in (macOS, whose system calls go through libSystem).
func (c *Conn) peekRecvfrom() (n uintptr, errno syscall.Errno, err error) {
	var buf [1]byte
	err = c.rc.Control(func(fd uintptr) {
		m, _, e := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if e != nil {
			errno, _ = e.(syscall.Errno)
			return
		}
		n = uintptr(m)
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
