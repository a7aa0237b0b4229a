package upstream

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// strayTarget answers each request on a connection with "answer N" (N
// counting the connections it accepted), and, 20 ms after the first answer
// on a connection, sends what some servers send when they time an idle
// connection out: a 408 nobody asked for.
func strayTarget(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for n := 1; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn, n int) {
				defer c.Close()
				br := bufio.NewReader(c)
				for first := true; ; first = false {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					req.Body.Close()
					body := "answer " + strconv.Itoa(n)
					_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body))
					if first {
						time.Sleep(20 * time.Millisecond)
						_, _ = c.Write([]byte("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"))
					}
				}
			}(c, n)
		}
	}()
	return ln.Addr().String()
}

func TestStrayBytesOnAnIdleConnection(t *testing.T) {
	for _, tc := range []struct {
		name       string
		quietAfter time.Duration
		want       string
	}{
		{"checked after idling", 50 * time.Millisecond, "answer 2"},
		// The check is what tells: without it the stray 408 is taken for
		// the answer (this is what the check prevents).
		{"never checked", -1, "408"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := strayTarget(t)
			c := &Client{IdleTimeout: 2 * time.Second, QuietCheckAfter: tc.quietAfter}
			in := httptest.NewRequest("GET", "http://h/", nil)
			forward := func() string {
				w := httptest.NewRecorder()
				res := c.Forward(w, &Request{Addr: addr, In: in, Host: "h"})
				if res.Err != nil {
					t.Fatalf("Forward: %v", res.Err)
				}
				if w.Code != 200 {
					return strconv.Itoa(w.Code)
				}
				return w.Body.String()
			}
			if got := forward(); got != "answer 1" {
				t.Fatalf("first request: %q", got)
			}
			time.Sleep(150 * time.Millisecond) // the 408 arrives; the connection idles past the check
			if got := forward(); got != tc.want {
				t.Fatalf("second request: %q; want %q", got, tc.want)
			}
		})
	}
}

// TestQuietConnectionIsReused: the check before reuse must not mistake an
// expired read deadline (left from the last response) for a dead
// connection: a healthy connection idle past the idle timeout is reused.
func TestQuietConnectionIsReused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					req.Body.Close()
					_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
				}
			}()
		}
	}()
	c := &Client{IdleTimeout: 300 * time.Millisecond, QuietCheckAfter: 100 * time.Millisecond}
	in := httptest.NewRequest("GET", "http://h/", nil)
	for i := range 2 {
		if i > 0 {
			time.Sleep(500 * time.Millisecond) // past the check and past the last read deadline
		}
		w := httptest.NewRecorder()
		if res := c.Forward(w, &Request{Addr: ln.Addr().String(), In: in, Host: "h"}); res.Err != nil || w.Body.String() != "ok" {
			t.Fatalf("request %d: %v %q", i+1, res.Err, w.Body.String())
		}
	}
	if n := len(accepted); n != 1 {
		t.Fatalf("%d connections to the target; want the first one reused", n)
	}
}
