package proxy

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/testutil"
)

func fixedListener(port int, body string) config.Listener {
	return config.Listener{Protocol: "HTTP", Address: "127.0.0.1", Port: port, DefaultAction: fixed("200", body)}
}

// TestReconfigureListeners: a reload keeps an unchanged listener serving
// (with its new rules), starts a new one, stops a removed one; a listener
// that cannot bind leaves every running listener as it was.
func TestReconfigureListeners(t *testing.T) {
	pa, pb, pc := testutil.FreePort(t, "127.0.0.1"), testutil.FreePort(t, "127.0.0.1"), testutil.FreePort(t, "127.0.0.1")
	p := startProxy(t, Options{DisableServerLoop: true}, Groups{}, fixedListener(pa, "a"), fixedListener(pb, "b"))
	c := client()
	url := func(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) + "/" }
	if r := get(t, c, url(pa)); r.body != "a" {
		t.Fatalf("before: %q", r.body)
	}

	cfg := &config.Config{Listeners: []config.Listener{fixedListener(pa, "a2"), fixedListener(pc, "c")}}
	changes, err := p.Reconfigure(context.Background(), cfg, Groups{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range changes {
		got = append(got, ch.Listener.Addr()+map[bool]string{true: " added", false: " removed"}[ch.Added])
	}
	if want := "127.0.0.1:" + strconv.Itoa(pc) + " added,127.0.0.1:" + strconv.Itoa(pb) + " removed"; strings.Join(got, ",") != want {
		t.Errorf("changes %v, want %s", got, want)
	}
	if r := get(t, c, url(pa)); r.body != "a2" {
		t.Errorf("kept listener after the reload: %q, want its new rule's a2", r.body)
	}
	if r := get(t, c, url(pc)); r.body != "c" {
		t.Errorf("added listener: %q", r.body)
	}
	if _, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(pb), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("removed listener still accepts: %v", err)
	}

	// A port held by someone else: the reload fails and changes nothing.
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	busy := other.Addr().(*net.TCPAddr).Port
	bad := &config.Config{Listeners: []config.Listener{fixedListener(pa, "a3"), fixedListener(busy, "x")}}
	if _, err := p.Reconfigure(context.Background(), bad, Groups{}); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("bind error: %v", err)
	}
	if r := get(t, c, url(pa)); r.body != "a2" {
		t.Errorf("after a failed reload the kept listener answers %q, want the old a2", r.body)
	}
	if r := get(t, c, url(pc)); r.body != "c" {
		t.Errorf("after a failed reload: %q", r.body)
	}
	if n := len(p.Listeners()); n != 2 {
		t.Errorf("%d listeners after a failed reload, want 2", n)
	}
}
