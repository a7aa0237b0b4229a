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

// TestUpgradeIdleThenWrite: an upgraded connection idle for longer than the
// idle timeout is then written to: the write deadline left by the last
// write must be renewed, not fail the write.
func TestUpgradeIdleThenWrite(t *testing.T) {
	b := startBackend(t, "127.0.0.2", "echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer nc.Close()
		_, _ = io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_, _ = io.Copy(nc, brw.Reader)
	}))
	p := startProxy(t, Options{DisableServerLoop: true, IdleTimeout: 300 * time.Millisecond}, Groups{"g": newTG(t, "g", nil, b)}, config.Listener{DefaultAction: forwardTo("g")})
	nc, err := net.Dial("tcp", p.Listeners()[0].Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(nc)
	if res, err := http.ReadResponse(br, &http.Request{Method: "GET"}); err != nil || res.StatusCode != 101 {
		t.Fatal(res, err)
	}
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
