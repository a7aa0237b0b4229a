//go:build !linux

package vpc

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
)

// MetadataAddr is where EC2 instances reach their metadata service.
var MetadataAddr = netip.MustParseAddr("169.254.169.254")

// errNotLinux: network namespaces are Linux's.
var errNotLinux = errors.New("network vpc needs Linux network namespaces; on this system use network: loopback (the default)")

// Config of a VPC.
type Config struct {
	CIDR   netip.Prefix
	Region string
}

// Network is one environment's VPC; on this system New always fails.
type Network struct{}

// Attachment is one instance's place in the VPC.
type Attachment struct {
	IP           netip.Addr
	Subnet       Subnet
	Hostname     string
	DNSName      string
	MAC          string
	NetNS, UTSNS *os.File
	Hosts        string
}

func New(Config) (*Network, error)                                 { return nil, errNotLinux }
func (n *Network) Subnets() []Subnet                               { return nil }
func (n *Network) CIDR() netip.Prefix                              { return netip.Prefix{} }
func (n *Network) LoadBalancerAddr() netip.Addr                    { return netip.Addr{} }
func (n *Network) Attach(int, string, string) (*Attachment, error) { return nil, errNotLinux }
func (n *Network) Listen(string, string) (net.Listener, error)     { return nil, errNotLinux }
func (n *Network) Close() error                                    { return nil }
func (a *Attachment) Close() error                                 { return nil }
func (n *Network) Dialer(net.Dialer) func(context.Context, string, string) (net.Conn, error) {
	return func(context.Context, string, string) (net.Conn, error) { return nil, errNotLinux }
}
