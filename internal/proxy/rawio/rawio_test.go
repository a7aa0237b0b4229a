package rawio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// pair returns both ends of a loopback TCP connection, the first wrapped.
func pair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { nc.Close(); peer.Close() })
	c, ok := New(nc).(*Conn)
	if !ok {
		t.Fatalf("New(%T) is not a *Conn", nc)
	}
	return c, peer
}

func TestLargeWriteWaitsForRoomAndArrivesWhole(t *testing.T) {
	c, peer := pair(t)
	// Far beyond the socket buffers: the write must wait for the reader.
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(peer)
		got <- b
	}()
	n, err := c.Write(want)
	if err != nil || n != len(want) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(want))
	}
	c.nc.(*net.TCPConn).CloseWrite()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer read %d bytes, not the %d written", len(b), len(want))
	}
}

func TestReadWaitsForDataThenSeesEOF(t *testing.T) {
	c, peer := pair(t)
	go func() {
		time.Sleep(20 * time.Millisecond)
		peer.Write([]byte("hello"))
		peer.Close()
	}()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "hello" {
		t.Fatalf("ReadAll = %q, %v; want hello, nil", b, err)
	}
}

func TestErrorsAreThoseOfNetConn(t *testing.T) {
	c, peer := pair(t)
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, err := c.Read(make([]byte, 10))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v; want a timeout", err)
	}
	if oe, ok := err.(*net.OpError); !ok || oe.Op != "read" {
		t.Fatalf("read past the deadline: %#v; want a *net.OpError with Op read", err)
	}
	c.nc.SetReadDeadline(time.Time{})

	// A reset: the peer closes with unread data, so the kernel sends RST.
	peer.(*net.TCPConn).SetLinger(0)
	peer.Close()
	_, err = c.Read(make([]byte, 10)) // blocks until the reset arrives
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after a reset: %v; want ECONNRESET", err)
	}

	c.nc.Close()
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v; want net.ErrClosed", err)
	}
}

func TestNonTCPConnectionsAreLeftAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if rw := New(a); rw != a {
		t.Fatalf("New(pipe) = %T; want the pipe itself", rw)
	}
}

// TestWriteIdleTimeout runs on both writes: the raw one of Linux and the
// net.Conn one of other systems.
func TestWriteIdleTimeout(t *testing.T) {
	for _, w := range []struct {
		name  string
		write func(*Conn, []byte) (int, error)
	}{{"Write", (*Conn).Write}, {"netWrite", (*Conn).netWrite}} {
		t.Run(w.name, func(t *testing.T) { testWriteIdleTimeout(t, w.write) })
	}
}

func testWriteIdleTimeout(t *testing.T, write func(*Conn, []byte) (int, error)) {
	big := bytes.Repeat([]byte("x"), 32<<20) // beyond the socket buffers

	t.Run("a peer that takes nothing is cut", func(t *testing.T) {
		c, _ := pair(t)
		c.SetWriteIdleTimeout(200 * time.Millisecond)
		start := time.Now()
		_, err := write(c, big)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write to a peer that reads nothing: %v; want a timeout", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("timed out after %v; want about 200 ms", d)
		}
	})

	t.Run("a slow but steady peer is not", func(t *testing.T) {
		c, peer := pair(t)
		c.SetWriteIdleTimeout(300 * time.Millisecond)
		done := make(chan int64, 1)
		go func() {
			var n int64
			buf := make([]byte, 4<<20)
			for {
				k, err := peer.Read(buf)
				n += int64(k)
				if err != nil {
					done <- n
					return
				}
				time.Sleep(100 * time.Millisecond) // a few MiB a tenth of a second: slower than the writer
			}
		}()
		start := time.Now()
		if n, err := write(c, big); err != nil || n != len(big) {
			t.Fatalf("Write to a steady reader: %d, %v; want all of %d", n, err, len(big))
		}
		if time.Since(start) < 300*time.Millisecond {
			t.Fatal("the write never had to wait: the test proves nothing")
		}
		// The deadline armed for that wait must not fail a later write.
		time.Sleep(400 * time.Millisecond)
		if _, err := write(c, []byte("after")); err != nil {
			t.Fatalf("a write after the waited one: %v", err)
		}
		c.nc.(*net.TCPConn).CloseWrite()
		if n := <-done; n != int64(len(big))+5 {
			t.Fatalf("peer read %d bytes; want %d", n, len(big)+5)
		}
	})
}

func TestQuietAndPeerClosed(t *testing.T) {
	c, peer := pair(t)
	// An expired read deadline says nothing of the peer.
	c.nc.SetReadDeadline(time.Now().Add(-time.Second))
	if !c.Quiet() || c.PeerClosed() {
		t.Fatal("an open, silent connection: want Quiet and not PeerClosed")
	}
	c.nc.SetReadDeadline(time.Time{})
	peer.Write([]byte("x"))
	testutil.Eventually(t, 2*time.Second, func() bool { return !c.Quiet() }, "the byte to arrive")
	if c.Quiet() || c.PeerClosed() {
		t.Fatal("a byte waiting: want neither Quiet nor PeerClosed")
	}
	if b := make([]byte, 4); func() int { n, _ := c.Read(b); return n }() != 1 {
		t.Fatal("the peeked byte was consumed")
	}
	peer.Close()
	testutil.Eventually(t, 2*time.Second, c.PeerClosed, "the peer's close to arrive")
	if c.Quiet() || !c.PeerClosed() {
		t.Fatal("the peer closed: want PeerClosed, not Quiet")
	}
	c.nc.Close()
	if c.Quiet() || !c.PeerClosed() {
		t.Fatal("our side closed: want PeerClosed (gone), not Quiet")
	}
}

// TestPeekRecvfromAgreesWithPeek checks the peek of other systems against
// Linux's in each state a peer can be in.
func TestPeekRecvfromAgreesWithPeek(t *testing.T) {
	c, peer := pair(t)
	same := func(state string) {
		t.Helper()
		n1, e1, err1 := c.peek()
		n2, e2, err2 := c.peekRecvfrom()
		// n is the syscall's -1 with an errno, which Quiet and PeerClosed ignore.
		if e1 != e2 || e1 == 0 && n1 != n2 || (err1 == nil) != (err2 == nil) ||
			errors.Is(err1, net.ErrClosed) != errors.Is(err2, net.ErrClosed) {
			t.Errorf("%s: peek = %d, %v, %v; peekRecvfrom = %d, %v, %v", state, n1, e1, err1, n2, e2, err2)
		}
	}
	same("silent")
	peer.Write([]byte("x"))
	testutil.Eventually(t, 5*time.Second, func() bool { return !c.Quiet() }, "the byte did not arrive")
	same("a byte waiting")
	c.Read(make([]byte, 1))
	peer.Close()
	testutil.Eventually(t, 5*time.Second, c.PeerClosed, "the close did not arrive")
	same("peer closed")
	c.nc.Close()
	same("our side closed")
}
