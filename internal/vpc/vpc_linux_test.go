package vpc

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// needPrivilege skips where namespaces cannot be made (not root), and
// fails under ELBOW_REQUIRE_E2E=1, where CI runs as root.
func needPrivilege(t *testing.T) {
	t.Helper()
	if err := CheckPrivilege(); err != nil {
		if os.Getenv("ELBOW_REQUIRE_E2E") == "1" {
			t.Fatalf("ELBOW_REQUIRE_E2E=1 but: %v", err)
		}
		t.Skipf("needs root: %v", err)
	}
}

func TestAttachedInstancesReachTheMetadataAddressAndEachOther(t *testing.T) {
	needPrivilege(t)
	n, err := New(Config{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	dir := t.TempDir()
	a1, err := n.Attach(1, "i-1", dir)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := n.Attach(2, "i-2", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !n.Subnets()[0].Prefix.Contains(a1.IP) || !n.Subnets()[1].Prefix.Contains(a2.IP) {
		t.Fatalf("instance 1 %s, instance 2 %s: want them in %s and %s", a1.IP, a2.IP, n.Subnets()[0].Prefix, n.Subnets()[1].Prefix)
	}
	if got, want := a1.DNSName, Hostname(a1.IP)+".eu-west-1.compute.internal"; got != want {
		t.Fatalf("dns name %q, want %q", got, want)
	}

	// The metadata address answers in the router, and sees the caller's
	// own private IP.
	ln, err := n.Listen("tcp", netip.AddrPortFrom(MetadataAddr, 80).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RemoteAddr)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	for _, a := range []*Attachment{a1, a2} {
		body := getInside(t, a, "http://169.254.169.254/")
		if host, _, _ := strings.Cut(body, ":"); host != a.IP.String() {
			t.Fatalf("metadata address saw caller %q, want %s", body, a.IP)
		}
	}

	// The load balancer reaches an instance from its own address.
	var app net.Listener
	if err := inNamespace(a2.NetNS, n.home, func() (err error) {
		app, err = net.Listen("tcp", netip.AddrPortFrom(a2.IP, 8000).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	accepted := make(chan net.Addr, 1)
	go func() {
		c, err := app.Accept()
		if err == nil {
			accepted <- c.RemoteAddr()
			c.Close()
		}
	}()
	c, err := n.DialContext(net.Dialer{Timeout: 2 * time.Second}, context.Background(), "tcp", netip.AddrPortFrom(a2.IP, 8000).String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if from := (<-accepted).(*net.TCPAddr); from.IP.String() != n.LoadBalancerAddr().String() {
		t.Fatalf("instance saw the load balancer as %s, want %s", from, n.LoadBalancerAddr())
	}

	// Nothing of the VPC is on the host.
	if _, err := netlink.LinkByName(bridgeName); err == nil {
		t.Fatalf("bridge %s is in the host's namespace", bridgeName)
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue // the default route
		}
		ones, _ := r.Dst.Mask.Size()
		dst := netip.PrefixFrom(netip.AddrFrom4([4]byte(r.Dst.IP.To4())), ones)
		if ones >= n.CIDR().Bits() && n.CIDR().Overlaps(dst) {
			t.Fatalf("the host's routing table has a route into the VPC: %v", r)
		}
	}
}

func getInside(t *testing.T, a *Attachment, url string) string {
	t.Helper()
	var body string
	err := inNamespace(a.NetNS, a.n.home, func() error {
		d := net.Dialer{Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", netip.AddrPortFrom(MetadataAddr, 80).String())
		if err != nil {
			return err
		}
		defer c.Close()
		tr := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return c, nil }}
		resp, err := (&http.Client{Transport: tr}).Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestPrivilegeErrorNamesWhatIsMissing(t *testing.T) {
	err := privilegeError(1 << capSysAdmin)
	want := "network vpc needs the capabilities CAP_NET_ADMIN and CAP_SYS_ADMIN (run elbow as root) to create the instances' network namespaces; this process lacks CAP_NET_ADMIN. Run as root, or use network: loopback (the default), which needs no privilege"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if privilegeError(1<<capSysAdmin|1<<capNetAdmin) != nil {
		t.Fatal("both capabilities: want no error")
	}
}
