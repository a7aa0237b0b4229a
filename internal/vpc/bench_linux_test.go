package vpc

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkDial compares a connection made inside the VPC (a thread enters
// the router's namespace for the socket call, from the load balancer's
// address) with a plain loopback one: the cost each health check and each
// new connection to a target pays in vpc mode.
func BenchmarkDial(b *testing.B) {
	if err := CheckPrivilege(); err != nil {
		b.Skip(err)
	}
	n, err := New(Config{Region: "us-west-2"})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	a, err := n.Attach(1, "i-bench", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var inside net.Listener
	if err := inNamespace(a.NetNS, n.home, func() (err error) {
		inside, err = net.Listen("tcp", netip.AddrPortFrom(a.IP, 8000).String())
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer inside.Close()
	loop, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer loop.Close()
	for _, ln := range []net.Listener{inside, loop} {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	d := net.Dialer{Timeout: 2 * time.Second, KeepAlive: -1}
	b.Run("vpc", func(b *testing.B) {
		dial := n.Dialer(d)
		for b.Loop() {
			c, err := dial(context.Background(), "tcp", inside.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
	b.Run("loopback", func(b *testing.B) {
		for b.Loop() {
			c, err := d.Dial("tcp", loop.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
}
