package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

// TestHandshakeSlots: a TLS handshake on the loop computes only in a free
// slot. With every slot taken, a client's handshake does not complete;
// given back, it does and the request is served. Failed handshakes (a
// client that leaves after its ClientHello, one offering nothing the
// listener accepts) give their slot back.
func TestHandshakeSlots(t *testing.T) {
	a := startBackend(t, "127.0.0.2", "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	p := startProxy(t, Options{}, Groups{"g": newTG(t, "g", nil, a)},
		config.Listener{Protocol: "HTTPS", DefaultAction: forwardTo("g")})
	l := p.Listeners()[0]
	slots := cap(p.handshakeSlots)
	if slots < 1 {
		t.Fatalf("%d handshake slots; want at least 1", slots)
	}

	// Take every slot, as handshakes in progress would.
	for range slots {
		p.handshakeSlots <- struct{}{}
	}
	done := make(chan error, 1)
	go func() {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", l.Addr(),
			&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("handshake ended (err %v) while every slot was taken; want it to wait for a slot", err)
	case <-time.After(300 * time.Millisecond):
	}
	for range slots {
		<-p.handshakeSlots
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("handshake after the slots were given back: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handshake still waiting 5 s after the slots were given back")
	}

	// Handshakes that fail give their slot back.
	for range 2 * slots {
		c, err := tls.Dial("tcp", l.Addr(), &tls.Config{InsecureSkipVerify: true,
			MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_RC4_128_SHA}})
		if err == nil {
			c.Close()
			t.Fatal("handshake with only RC4 offered succeeded; want it refused")
		}
		hello, _ := net.Dial("tcp", l.Addr())
		_, _ = hello.Write(clientHelloBytes(t))
		hello.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(p.handshakeSlots) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(p.handshakeSlots); n != 0 {
		t.Fatalf("%d slots held after the failed handshakes ended; want 0", n)
	}
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if got := get(t, h1, l.URL()+"/"); got.code != 200 || got.body != "ok" {
		t.Fatalf("request after the failed handshakes: %d %q; want 200 ok", got.code, got.body)
	}
}

// clientHelloBytes is a real ClientHello, as crypto/tls's client writes it.
func clientHelloBytes(t *testing.T) []byte {
	t.Helper()
	client, server := net.Pipe()
	defer server.Close()
	go func() {
		_ = tls.Client(client, &tls.Config{InsecureSkipVerify: true}).Handshake()
		client.Close()
	}()
	buf := make([]byte, 16<<10)
	_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := server.Read(buf)
	if err != nil {
		t.Fatalf("reading a ClientHello: %v", err)
	}
	return buf[:n]
}
