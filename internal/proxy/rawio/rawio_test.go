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
	time.Sleep(20 * time.Millisecond)
	_, err = c.Read(make([]byte, 10))
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
