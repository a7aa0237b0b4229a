package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

// echoUpgradeTarget answers every request with 101 and then echoes what
// it reads until the proxy's FIN; then it sends after and closes.
func echoUpgradeTarget(t *testing.T, after string) *backend {
	return startBackend(t, "127.0.0.2", "echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		_, _ = io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_, _ = io.Copy(nc, brw.Reader)
		_, _ = io.WriteString(nc, after)
	}))
}

// dialUpgraded opens a connection to addr and upgrades it (101 expected).
// Upgrades always take the ReverseProxy path (upstream.Eligible), from
// net/http's server (the connection loop hands them off).
func dialUpgraded(t *testing.T, addr string) (*net.TCPConn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("got %d; want 101", res.StatusCode)
	}
	return nc.(*net.TCPConn), br
}

// TestUpgradeHalfClose: on an upgraded (101) connection, a client that
// half-closes (sends its last bytes, then FIN) still gets the rest of the
// target's answer: ReverseProxy propagates the FIN to the target with
// CloseWrite and keeps relaying the target's bytes until the target's own
// EOF.
func TestUpgradeHalfClose(t *testing.T) {
	b := echoUpgradeTarget(t, "bye")
	p := startProxy(t, Options{DisableServerLoop: true}, Groups{"g": newTG(t, "g", nil, b)}, config.Listener{DefaultAction: forwardTo("g")})
	nc, br := dialUpgraded(t, p.Listeners()[0].Addr())
	if _, err := io.WriteString(nc, "hello"); err != nil {
		t.Fatal(err)
	}
	echo := make([]byte, len("hello"))
	if _, err := io.ReadFull(br, echo); err != nil || string(echo) != "hello" {
		t.Fatalf("echo %q (%v); want hello", echo, err)
	}
	if err := nc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(br)
	if string(got) != "bye" {
		t.Fatalf("after the client's half-close got %q (%v); want %q: the target's answer after the FIN was lost", got, err, "bye")
	}
}

// TestUpgradeIdleThenWrite: an upgraded connection idle for longer than the
// idle timeout is then written to: the write deadline left by the last
// write must be renewed, not fail the write.
func TestUpgradeIdleThenWrite(t *testing.T) {
	b := echoUpgradeTarget(t, "")
	p := startProxy(t, Options{DisableServerLoop: true, IdleTimeout: 300 * time.Millisecond}, Groups{"g": newTG(t, "g", nil, b)}, config.Listener{DefaultAction: forwardTo("g")})
	nc, br := dialUpgraded(t, p.Listeners()[0].Addr())
	buf := make([]byte, 1)
	for i, s := range []string{"a", "b"} {
		if i > 0 {
			time.Sleep(700 * time.Millisecond)
		}
		if _, err := io.WriteString(nc, s); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != s {
			t.Fatalf("echo %d: %q %v", i, buf, err)
		}
	}
}
