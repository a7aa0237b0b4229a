package vpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// MetadataAddr is where EC2 instances reach their metadata service
// ("Access instance metadata", EC2 User Guide).
var MetadataAddr = netip.MustParseAddr("169.254.169.254")

const bridgeName = "vpc0"

// Config of a VPC.
type Config struct {
	CIDR   netip.Prefix // default DefaultCIDR
	Region string       // names the availability zones and DNS names
}

// Network is one environment's VPC.
type Network struct {
	cfg     Config
	subnets []Subnet
	lb      netip.Addr

	home   *os.File // elbow's own network namespace
	router *os.File // the router's: bridge, subnet routers, load balancer, metadata address
	rh     *netlink.Handle
	bridge netlink.Link

	mu       sync.Mutex
	attached map[netip.Addr]*Attachment
	closed   bool
}

// New checks the privilege and builds the VPC's router namespace. It
// builds nothing when it fails.
func New(cfg Config) (_ *Network, err error) {
	if !cfg.CIDR.IsValid() {
		cfg.CIDR = DefaultCIDR
	}
	if err := ValidateCIDR(cfg.CIDR); err != nil {
		return nil, fmt.Errorf("vpc cidr %s: %w", cfg.CIDR, err)
	}
	if err := CheckPrivilege(); err != nil {
		return nil, err
	}
	n := &Network{cfg: cfg, subnets: subnetsOf(cfg.CIDR, cfg.Region), attached: map[netip.Addr]*Attachment{}}
	n.lb, _ = hostAddr(n.subnets[0], "elbow load balancer node", func(netip.Addr) bool { return false })

	if n.home, err = os.Open("/proc/thread-self/ns/net"); err != nil {
		return nil, fmt.Errorf("network vpc: %w", err)
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	n.router, _, err = newNamespaces(unix.CLONE_NEWNET, func() error {
		// Subnets talk to each other through their routers, as in a VPC.
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0)
	})
	if err != nil {
		return nil, fmt.Errorf("network vpc: create the router's network namespace: %w", err)
	}
	if n.rh, err = netlink.NewHandleAt(netns.NsHandle(n.router.Fd())); err != nil {
		return nil, fmt.Errorf("network vpc: netlink in the router's namespace: %w", err)
	}
	if err := n.buildRouter(); err != nil {
		return nil, fmt.Errorf("network vpc: %w", err)
	}
	return n, nil
}

func (n *Network) buildRouter() error {
	lo, err := n.rh.LinkByName("lo")
	if err != nil {
		return err
	}
	if err := n.rh.AddrAdd(lo, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(MetadataAddr, 32))}); err != nil {
		return fmt.Errorf("add %s to the router's lo: %w", MetadataAddr, err)
	}
	if err := n.rh.LinkSetUp(lo); err != nil {
		return err
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}}
	if err := n.rh.LinkAdd(br); err != nil {
		return fmt.Errorf("create bridge %s: %w", bridgeName, err)
	}
	if n.bridge, err = n.rh.LinkByName(bridgeName); err != nil {
		return err
	}
	for _, s := range n.subnets {
		if err := n.rh.AddrAdd(n.bridge, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(s.Router, s.Prefix.Bits()))}); err != nil {
			return fmt.Errorf("add router %s of subnet %s: %w", s.Router, s.Prefix, err)
		}
	}
	lb := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(n.lb, 32))}
	if err := n.rh.AddrAdd(n.bridge, lb); err != nil {
		return fmt.Errorf("add the load balancer's address %s: %w", n.lb, err)
	}
	return n.rh.LinkSetUp(n.bridge)
}

// Subnets are the VPC's subnets, one per availability zone.
func (n *Network) Subnets() []Subnet { return n.subnets }

// CIDR is the VPC's CIDR block.
func (n *Network) CIDR() netip.Prefix { return n.cfg.CIDR }

// LoadBalancerAddr is the private IP the load balancer's connections to
// instances come from.
func (n *Network) LoadBalancerAddr() netip.Addr { return n.lb }

// DialContext connects to addr inside the VPC, from the load balancer's
// address; d's timeouts and keep-alive apply. It has the signature of
// net.Dialer.DialContext, for http.Transport and the probes.
func (n *Network) DialContext(d net.Dialer, ctx context.Context, network, addr string) (net.Conn, error) {
	d.LocalAddr = &net.TCPAddr{IP: n.lb.AsSlice()}
	var c net.Conn
	err := inNamespace(n.router, n.home, func() error {
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Dialer returns a dial function with d's settings, for the packages that
// take one (proxy, healthcheck, diagnose).
func (n *Network) Dialer(d net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return n.DialContext(d, ctx, network, addr)
	}
}

// Listen listens on addr inside the VPC's router namespace: the metadata
// service listens on 169.254.169.254:80 there.
func (n *Network) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := inNamespace(n.router, n.home, func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// Close detaches every instance and lets the router's namespace go. The
// namespaces themselves end when nothing refers to them any more.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	atts := make([]*Attachment, 0, len(n.attached))
	for _, a := range n.attached {
		atts = append(atts, a)
	}
	n.mu.Unlock()
	var errs []error
	for _, a := range atts {
		errs = append(errs, a.Close())
	}
	if n.rh != nil {
		n.rh.Close()
	}
	closeAll(n.router, n.home)
	return errors.Join(errs...)
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
