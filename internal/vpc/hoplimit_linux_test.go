package vpc

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/imds"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestPutResponseHopLimit puts a "container" one routed hop behind an
// instance, as Docker's bridge does, and asks the metadata service for a
// token from both: with the hop limit 1 (EC2's default) the instance gets
// one and the container's answer dies on the way; with 2 both get one
// (EC2 User Guide, "Instance metadata access considerations").
func TestPutResponseHopLimit(t *testing.T) {
	needPrivilege(t)
	for _, tc := range []struct {
		hopLimit     int
		containerGet bool
	}{{1, false}, {2, true}} {
		n, err := New(Config{Region: "us-west-2"})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		a, err := n.Attach(1, "i-hop", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		container := netip.MustParseAddr("10.213.0.2")
		ll := imds.NewLinkLocal(tc.hopLimit, nil)
		srv, err := imds.New(imds.NewInstance("i-hop", a.IP.String(), "us-west-2"), imds.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// The instance would masquerade its containers; here the
		// container's own address stands for the instance.
		ll.Add(a.IP, srv)
		ll.Add(container, srv)
		ln, err := n.Listen("tcp", netip.AddrPortFrom(MetadataAddr, 80).String())
		if err != nil {
			t.Fatal(err)
		}
		hs := ll.HTTPServer()
		go hs.Serve(ln)
		defer hs.Close()

		cNS := containerBehind(t, n, a, container)
		if code, err := putToken(n, a.NetNS); err != nil || code != 200 {
			t.Fatalf("hop limit %d: the instance's token request: %d %v", tc.hopLimit, code, err)
		}
		code, err := putToken(n, cNS)
		if got := err == nil && code == 200; got != tc.containerGet {
			t.Fatalf("hop limit %d: the container's token request: %d %v, want a token: %v", tc.hopLimit, code, err, tc.containerGet)
		}
	}
}

// containerBehind makes a network namespace routed behind instance a
// (10.213.0.0/30, the instance forwarding), and a route back to it in the
// router.
func containerBehind(t *testing.T, n *Network, a *Attachment, addr netip.Addr) *os.File {
	t.Helper()
	cNS, _, err := newNamespaces(unix.CLONE_NEWNET, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cNS.Close() })
	gw := netip.MustParseAddr("10.213.0.1")
	ih, err := netlink.NewHandleAt(netns.NsHandle(a.NetNS.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer ih.Close()
	ch, err := netlink.NewHandleAt(netns.NsHandle(cNS.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ih.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "docker0"}, PeerName: "eth0", PeerNamespace: netlink.NsFd(cNS.Fd())}))
	d0, err := ih.LinkByName("docker0")
	must(err)
	must(ih.AddrAdd(d0, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(gw, 30))}))
	must(ih.LinkSetUp(d0))
	for _, name := range []string{"lo", "eth0"} {
		l, err := ch.LinkByName(name)
		must(err)
		if name == "eth0" {
			must(ch.AddrAdd(l, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(addr, 30))}))
		}
		must(ch.LinkSetUp(l))
	}
	must(ch.RouteAdd(&netlink.Route{Gw: gw.AsSlice()}))
	must(inNamespace(a.NetNS, n.home, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0)
	}))
	must(n.rh.RouteAdd(&netlink.Route{Dst: ipNet(netip.PrefixFrom(addr, 30).Masked()), Gw: a.IP.AsSlice()}))
	return cNS
}

// putToken asks for an IMDSv2 token from inside ns, as the SDKs do, with
// a one-second timeout.
func putToken(n *Network, ns *os.File) (int, error) {
	var conn net.Conn
	if err := inNamespace(ns, n.home, func() (err error) {
		d := net.Dialer{Timeout: time.Second}
		conn, err = d.Dial("tcp", netip.AddrPortFrom(MetadataAddr, 80).String())
		return err
	}); err != nil {
		return 0, err
	}
	defer conn.Close()
	tr := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return conn, nil }}
	req, _ := http.NewRequest(http.MethodPut, "http://169.254.169.254/latest/api/token", strings.NewReader(""))
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err := (&http.Client{Transport: tr, Timeout: time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
