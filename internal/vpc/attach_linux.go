package vpc

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/elbow-lb/elbow/internal/imds"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Attachment is one instance's place in the VPC: its address, its
// namespaces and the names EC2 would give it.
type Attachment struct {
	IP       netip.Addr
	Subnet   Subnet
	Hostname string // ip-172-31-5-17, what gethostname(2) answers inside
	DNSName  string // ip-172-31-5-17.us-west-2.compute.internal
	MAC      string // eth0's, as the metadata service reports it
	// NetNS and UTSNS are the instance's namespaces; the instance's
	// processes join them (setns(2)) before they start.
	NetNS, UTSNS *os.File
	// Hosts is a hosts(5) file naming the instance, for its processes'
	// /etc/hosts: on EC2 the VPC's resolver answers for the instance's
	// own names, so gethostbyname(gethostname()) gives its private IP.
	Hosts string

	n    *Network
	veth string
}

// Attach gives a new instance an address in the subnet of its turn
// (index 1 in the first zone, 2 in the second, ...), a network and UTS
// namespace with eth0 on the VPC's bridge and a default route through the
// subnet's router, and a hosts file in runDir. seed (the instance id) makes
// the address stable.
func (n *Network) Attach(index int, seed, runDir string) (_ *Attachment, err error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, errors.New("vpc: network is closed")
	}
	subnet := n.subnets[(index-1+len(n.subnets))%len(n.subnets)]
	ip, err := hostAddr(subnet, seed, func(a netip.Addr) bool { return a == n.lb || n.attached[a] != nil })
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	a := &Attachment{
		IP: ip, Subnet: subnet, Hostname: Hostname(ip), DNSName: imds.PrivateDNSName(ip.String(), n.cfg.Region),
		MAC: macOf(ip), n: n, veth: fmt.Sprintf("vi%08x", u32(ip)),
	}
	n.attached[ip] = a // reserved while it is built
	n.mu.Unlock()
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	a.NetNS, a.UTSNS, err = newNamespaces(unix.CLONE_NEWNET|unix.CLONE_NEWUTS, func() error {
		return unix.Sethostname([]byte(a.Hostname))
	})
	if err != nil {
		return nil, fmt.Errorf("vpc: namespaces of instance %s: %w", ip, err)
	}
	if err := a.wire(); err != nil {
		return nil, fmt.Errorf("vpc: network of instance %s: %w", ip, err)
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, err
	}
	a.Hosts = filepath.Join(runDir, ip.String()+".hosts")
	hosts := fmt.Sprintf("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n%s %s %s\n", ip, a.DNSName, a.Hostname)
	if err := os.WriteFile(a.Hosts, []byte(hosts), 0o644); err != nil {
		return nil, err
	}
	return a, nil
}

// wire creates the veth pair inside the router's namespace with its peer,
// eth0, born in the instance's, so no interface ever appears on the host.
func (a *Attachment) wire() error {
	n := a.n
	mac, _ := net.ParseMAC(a.MAC)
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: a.veth, MasterIndex: n.bridge.Attrs().Index},
		PeerName:         "eth0",
		PeerHardwareAddr: mac,
		PeerNamespace:    netlink.NsFd(a.NetNS.Fd()),
	}
	if err := n.rh.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth: %w", err)
	}
	if err := n.rh.LinkSetUp(veth); err != nil {
		return err
	}
	ih, err := netlink.NewHandleAt(netns.NsHandle(a.NetNS.Fd()))
	if err != nil {
		return err
	}
	defer ih.Close()
	for _, name := range []string{"lo", "eth0"} {
		l, err := ih.LinkByName(name)
		if err != nil {
			return err
		}
		if name == "eth0" {
			if err := ih.AddrAdd(l, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(a.IP, a.Subnet.Prefix.Bits()))}); err != nil {
				return fmt.Errorf("address eth0: %w", err)
			}
		}
		if err := ih.LinkSetUp(l); err != nil {
			return err
		}
	}
	if err := ih.RouteAdd(&netlink.Route{Gw: a.Subnet.Router.AsSlice()}); err != nil {
		return fmt.Errorf("default route via %s: %w", a.Subnet.Router, err)
	}
	return nil
}

// Close removes the instance's veth pair and lets go of its namespaces;
// they end with the instance's last process.
func (a *Attachment) Close() error {
	var err error
	if l, lerr := a.n.rh.LinkByName(a.veth); lerr == nil {
		err = a.n.rh.LinkDel(l)
	}
	closeAll(a.NetNS, a.UTSNS)
	if a.Hosts != "" {
		os.Remove(a.Hosts)
	}
	a.n.mu.Lock()
	if a.n.attached[a.IP] == a {
		delete(a.n.attached, a.IP)
	}
	a.n.mu.Unlock()
	return err
}

// macOf derives eth0's MAC from its address, as the metadata service does
// (locally administered unicast, 02:00 and the four octets).
func macOf(ip netip.Addr) string {
	b := ip.As4()
	return fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}
