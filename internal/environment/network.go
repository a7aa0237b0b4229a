package environment

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/imds"
	"github.com/elbow-lb/elbow/internal/vpc"
)

// startNetwork builds the VPC when the instances run in vpc mode: the
// load balancer's dials and the metadata service at 169.254.169.254 are
// inside it from then on. In loopback mode it does nothing.
func (e *Env) startNetwork() error {
	in := e.cfg.Instances
	if in.Network != "vpc" || len(in.Targets) > 0 {
		return nil
	}
	n, err := vpc.New(vpc.Config{CIDR: netip.MustParsePrefix(in.VPCCIDR), Region: e.cfg.Region})
	if err != nil {
		return err
	}
	e.vpc = n
	e.linkLocal = imds.NewLinkLocal(in.MetadataOptions.HTTPPutResponseHopLimit, e.log)
	addr := netip.AddrPortFrom(vpc.MetadataAddr, 80).String()
	ln, err := n.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metadata service on %s in the VPC: %w", addr, err)
	}
	hs := e.linkLocal.HTTPServer()
	e.goRun(func() { hs.Serve(ln) })
	e.goRun(func() { <-e.runCtx.Done(); hs.Close() })
	e.log.Info("network vpc", "cidr", n.CIDR(), "load_balancer", n.LoadBalancerAddr(), "metadata", addr)
	return nil
}

// dial is how the load balancer and its health checks connect to targets:
// nil (a plain net.Dialer) in loopback mode, inside the VPC in vpc mode.
func (e *Env) dial(d net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if e.vpc == nil {
		return nil
	}
	return e.vpc.Dialer(d)
}

// vpcPlacer places the fleet's instances in the VPC.
type vpcPlacer struct{ e *Env }

func (p vpcPlacer) Attach(inst fleet.Instance) (*fleet.Placement, error) {
	e := p.e
	a, err := e.vpc.Attach(inst.Index, inst.ID, filepath.Join(e.baseDir(), ".elbow", "vpc"))
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.attachments[inst.ID] = a
	e.mu.Unlock()
	return &fleet.Placement{
		IP: a.IP, Namespaces: []*os.File{a.NetNS, a.UTSNS}, Hosts: a.Hosts,
		Release: func() {
			e.mu.Lock()
			delete(e.attachments, inst.ID)
			e.mu.Unlock()
			a.Close()
		},
	}, nil
}

// metadataInstance is what instance inst's metadata service says of it:
// in vpc mode its zone, subnet, VPC and MAC are those of its attachment.
func (e *Env) metadataInstance(id string, ip netip.Addr) imds.Instance {
	m := imds.NewInstance(id, ip.String(), e.region)
	e.mu.Lock()
	a := e.attachments[id]
	e.mu.Unlock()
	if a != nil {
		m.AvailabilityZone = a.Subnet.Zone
		m.SubnetID = imds.NewInstance(id, a.Subnet.Router.String(), e.region).SubnetID
		m.SubnetCIDR = a.Subnet.Prefix.String()
		m.VPCCIDR = e.vpc.CIDR().String()
		m.MAC = a.MAC
		m.Hostname = a.DNSName
	}
	return m
}

// startMetadataService runs the instance's own metadata service: on its
// IP and the configured port in loopback mode, reached through
// AWS_EC2_METADATA_SERVICE_ENDPOINT; at 169.254.169.254:80 in vpc mode,
// where the SDKs look without being told.
func (e *Env) startMetadataService(_ context.Context, inst fleet.Instance) ([]string, func(), error) {
	mo := e.cfg.Instances.MetadataOptions
	srv, err := imds.New(e.metadataInstance(inst.ID, inst.IP),
		imds.Options{TokensRequired: mo.HTTPTokens == "required", Logger: e.log})
	if err != nil {
		return nil, nil, err
	}
	if e.linkLocal != nil {
		e.linkLocal.Add(inst.IP, srv)
		e.mu.Lock()
		e.imdsServers[inst.ID] = srv
		e.mu.Unlock()
		return nil, func() {
			e.linkLocal.Remove(inst.IP)
			e.mu.Lock()
			delete(e.imdsServers, inst.ID)
			e.mu.Unlock()
		}, nil
	}
	addr := net.JoinHostPort(inst.IP.String(), strconv.Itoa(mo.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metadata service of instance %s on %s: %w", inst.ID, addr, err)
	}
	hs := srv.HTTPServer()
	go hs.Serve(ln)
	e.mu.Lock()
	e.imds[inst.ID] = hs
	e.imdsServers[inst.ID] = srv
	e.mu.Unlock()
	cleanup := func() {
		hs.Close()
		e.mu.Lock()
		delete(e.imds, inst.ID)
		delete(e.imdsServers, inst.ID)
		e.mu.Unlock()
	}
	return []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + addr}, cleanup, nil
}

// stopNetwork lets the VPC go once the instances are gone.
func (e *Env) stopNetwork() {
	if e.vpc != nil {
		e.vpc.Close()
	}
}

// VPC is the environment's VPC, nil in loopback mode.
func (e *Env) VPC() *vpc.Network { return e.vpc }
