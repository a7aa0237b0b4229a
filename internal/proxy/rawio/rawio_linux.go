package rawio

import (
	"io"
	"net"
	"sync"
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
	// For reads that wait first (see wait): the connection's poll
	// descriptor, 0 when it could not be found or TCP_INQ is not there;
	// after a read, more says whether the kernel holds more for the next
	// one (bytes or the peer's FIN), and drained whether it held nothing.
	mu            sync.Mutex
	pollCtx       uintptr
	more, drained bool
	msg           syscall.Msghdr
	iov           syscall.Iovec
	cmsg          [cmsgSpace]byte
	waitFn        func(fd uintptr)
}

// TCP_INQ and its control message (Linux's include/uapi/linux/tcp.h, since
// 4.18): with it on, each recvmsg(2) says how many bytes are left to read
// after it, and 1 when none are but the peer's FIN is (tcp_inq_hint in
// net/ipv4/tcp.c: "After receiving a FIN, tell the user-space to continue
// reading by returning a non-zero inq").
const (
	tcpInq    = 36
	tcpCmInq  = tcpInq
	cmsgSpace = syscall.SizeofCmsghdr + 8 // CMSG_SPACE(sizeof(int))
)

func (c *Conn) init() {
	c.rd.fn = c.rd.read
	c.wr.fn = c.wr.write
	c.rd.waitFn = c.rd.wait
	tc, ok := c.nc.(*net.TCPConn)
	if !ok {
		return
	}
	// Inside Control, which holds a reference on the descriptor: a Close
	// racing with this frees its poll state only after (the poll state is
	// not read once freed, nor set up for a closed connection).
	_ = c.rc.Control(func(fd uintptr) {
		ctx := pollContext(tc)
		if ctx == 0 {
			return
		}
		one := int32(1)
		_, _, errno := syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, fd, syscall.IPPROTO_TCP, tcpInq,
			uintptr(unsafe.Pointer(&one)), 4, 0)
		if errno == 0 {
			c.rd.pollCtx = ctx
		}
	})
}

func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	o := &c.rd
	// One Read at a time, as net.Conn's read lock ensures: two waiting
	// on one descriptor (the wait below is outside that lock) would stop
	// the runtime ("double wait"), where net.Conn serializes them.
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.drained {
		// Whatever the wait ends with (data, a deadline, a close), the
		// read below sees it and answers as it always does.
		_ = c.rc.Control(o.waitFn)
	}
	o.p, o.n, o.errno = p, 0, 0
	err := c.rc.Read(o.fn)
	o.p = nil
	// The read took all the socket held, its FIN included: whatever
	// comes next raises a new readiness event, so the next read may wait
	// for it first.
	o.drained = o.pollCtx != 0 && err == nil && o.errno == 0 && o.n > 0 && !o.more
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

// wait blocks until the poller has seen the socket become readable (or
// closed, or its read deadline pass) since the last wait: Read's wait
// before it reads a socket its last read drained.
//
// Why: RawConn.Read, like net.Conn's Read, first resets the descriptor's
// readiness and reads, and waits only when the read fails with EAGAIN. A
// proxy reads a target's answer just after sending the request, and the
// client's next request just after answering, so that first read nearly
// always fails: two system calls per request for nothing, about 1.2 µs
// each on a virtual machine with page-table isolation. Waiting first costs
// no system call when the bytes are there (the poller has marked the
// descriptor ready) and parks the goroutine when they are not, as the
// failed read would have. It is right only after a drained socket: a
// readiness event consumed with bytes (or a FIN) left unread would never
// come again. A short read does not say that (the peer's FIN may sit
// behind the bytes it returned); TCP_INQ does, in the read itself.
//
// Runs inside RawConn.Control, which holds a reference on the descriptor:
// a Close during the wait wakes it (pollErrClosing) and the descriptor's
// poll state is not freed under it.
func (o *op) wait(uintptr) { _ = pollWait(o.pollCtx, 'r') }

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
// through (about 2 % of the proxy's CPU), or with TCP_INQ on one
// recvmsg(2) that also says whether more is left; false to wait for the
// socket to become readable.
func (o *op) read(fd uintptr) bool {
	for {
		var n uintptr
		var e syscall.Errno
		if o.pollCtx != 0 {
			n, e = o.recvmsg(fd)
		} else {
			n, _, e = syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&o.p[0])), uintptr(len(o.p)), 0, 0, 0)
		}
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

// recvmsg reads into o.p and sets o.more from TCP_INQ's control message
// (true when it is missing: then the next read reads first).
func (o *op) recvmsg(fd uintptr) (uintptr, syscall.Errno) {
	o.iov.Base = &o.p[0]
	o.iov.SetLen(len(o.p))
	o.msg = syscall.Msghdr{Iov: &o.iov, Iovlen: 1, Control: &o.cmsg[0]}
	o.msg.SetControllen(len(o.cmsg))
	n, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&o.msg)), 0)
	o.iov.Base = nil
	o.more = true
	if e == 0 && o.msg.Controllen >= syscall.SizeofCmsghdr+4 {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&o.cmsg[0]))
		if h.Level == syscall.IPPROTO_TCP && h.Type == tcpCmInq {
			o.more = *(*int32)(unsafe.Pointer(&o.cmsg[syscall.SizeofCmsghdr])) != 0
		}
	}
	return n, e
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
