package rawio

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestPollContextIsFound: the poll descriptor is found on this Go release.
// If a release moves it, Read still works (it reads first, as RawConn
// does), and this test says that the saving is gone.
func TestPollContextIsFound(t *testing.T) {
	c, _ := pair(t)
	if !pollOffsets.ok || c.rd.pollCtx == 0 {
		t.Fatalf("poll descriptor not found (offsets %+v): net.TCPConn's layout changed; see pollOffsets", pollOffsets)
	}
}

// readToDrained has peer send a byte and c read it, leaving c's socket
// drained: its next Read waits first.
func readToDrained(t *testing.T, c *Conn, peer net.Conn) {
	t.Helper()
	if _, err := peer.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "x" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if !c.rd.drained {
		t.Fatal("a read that took all the socket held did not mark it drained")
	}
}

// countReads counts Read's recvfrom(2) calls on c.
func countReads(c *Conn) *int {
	calls := new(int)
	read := c.rd.read
	c.rd.fn = func(fd uintptr) bool { *calls++; return read(fd) }
	return calls
}

// TestReadAfterADrainedSocketWaitsFirst: in a request-answer exchange each
// message costs one recvfrom, not a failed one (EAGAIN) and then another.
func TestReadAfterADrainedSocketWaitsFirst(t *testing.T) {
	c, peer := pair(t)
	calls := countReads(c)
	const rounds = 200
	go func() {
		buf := make([]byte, 64)
		for range rounds {
			if _, err := peer.Write([]byte("ping")); err != nil {
				return
			}
			if _, err := peer.Read(buf); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64)
	for i := range rounds {
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "ping" {
			t.Fatalf("round %d: Read = %q, %v", i, buf[:n], err)
		}
		if _, err := c.Write([]byte("pong")); err != nil {
			t.Fatal(err)
		}
	}
	// The first read of the connection reads first; a late readiness
	// event may cost a few more.
	if *calls > rounds+rounds/10 {
		t.Errorf("%d recvfrom calls for %d messages; want about one each", *calls, rounds)
	}
}

// TestFullReadDoesNotWait: a read that filled its buffer may have left
// bytes behind; the next read takes them without any new bytes coming.
func TestFullReadDoesNotWait(t *testing.T) {
	c, peer := pair(t)
	if _, err := peer.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4)
	got := ""
	for len(got) < 10 {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("after %q: %v (a read waited for bytes that were already there)", got, err)
		}
		got += string(buf[:n])
	}
	if got != "0123456789" {
		t.Fatalf("read %q", got)
	}
}

// TestStaleReadinessCostsNoHang: bytes that came in two writes and were
// read in one leave a readiness event behind; the next read wakes on it,
// finds nothing, and waits for the next bytes as a plain read would.
func TestStaleReadinessCostsNoHang(t *testing.T) {
	c, peer := pair(t)
	buf := make([]byte, 64)
	_, _ = peer.Write([]byte("a"))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "a" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	_, _ = peer.Write([]byte("b"))
	time.Sleep(20 * time.Millisecond)
	_, _ = peer.Write([]byte("c"))
	time.Sleep(20 * time.Millisecond)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "bc" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, _ = peer.Write([]byte("d"))
	}()
	_ = c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "d" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
}

// TestWaitFirstEndsWithDeadlineAndClose: a read waiting first still ends
// with the read deadline's error, and with net.ErrClosed on Close.
func TestWaitFirstEndsWithDeadlineAndClose(t *testing.T) {
	c, peer := pair(t)
	buf := make([]byte, 64)
	readToDrained(t, c, peer)
	start := time.Now()
	_ = c.nc.SetReadDeadline(start.Add(50 * time.Millisecond))
	_, err := c.Read(buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline = %v; want os.ErrDeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the deadline ended the read after %v", d)
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	_, _ = peer.Write([]byte("y"))
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(buf)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.nc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read on Close = %v; want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not end a read that waited first")
	}
}

// TestFINBehindBytesIsRead: bytes and the peer's FIN that came before one
// read leave no readiness event for the FIN; the read says the FIN is
// there (TCP_INQ), so the next read reads it at once instead of waiting.
func TestFINBehindBytesIsRead(t *testing.T) {
	c, peer := pair(t)
	_, _ = peer.Write([]byte("last words"))
	peer.Close()
	time.Sleep(20 * time.Millisecond)
	_ = c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 64)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "last words" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if c.rd.drained {
		t.Error("a read with the FIN still to come marked the socket drained")
	}
	if n, err := c.Read(buf); err != io.EOF {
		t.Fatalf("Read after the FIN = %q, %v; want io.EOF at once", buf[:n], err)
	}
}

// TestConcurrentReadsAreSerialized: two goroutines reading one Conn at once
// (against its contract) take turns, as on a net.Conn, instead of both
// waiting on the descriptor, which would stop the runtime.
func TestConcurrentReadsAreSerialized(t *testing.T) {
	c, peer := pair(t)
	readToDrained(t, c, peer)
	got := make(chan string, 2)
	for range 2 {
		go func() {
			b := make([]byte, 1)
			n, _ := c.Read(b)
			got <- string(b[:n])
		}()
	}
	time.Sleep(20 * time.Millisecond)
	_, _ = peer.Write([]byte("a"))
	time.Sleep(20 * time.Millisecond)
	_, _ = peer.Write([]byte("b"))
	a, b := <-got, <-got
	if a+b != "ab" && a+b != "ba" {
		t.Fatalf("reads got %q and %q", a, b)
	}
}
