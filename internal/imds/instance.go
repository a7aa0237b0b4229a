package imds

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"time"
)

// Instance is what the metadata service says about one instance. Every
// field is served as is; NewInstance fills EC2-like defaults.
type Instance struct {
	InstanceID       string // i-0123456789abcdef0
	PrivateIP        string // local-ipv4, e.g. 127.0.0.2
	MAC              string // eth0's MAC, lower-case hex with colons
	Region           string // us-east-1
	AvailabilityZone string // us-east-1a
	InstanceType     string // t3.micro
	Architecture     string // identity document: i386, x86_64 or arm64
	AMIID            string // ami-...
	AccountID        string // 12 digits
	Hostname         string // private DNS name, served as hostname and local-hostname
	InterfaceID      string // eni-...
	SubnetID         string // subnet-...
	SubnetCIDR       string // subnet-ipv4-cidr-block
	VPCID            string // vpc-...
	VPCCIDR          string // vpc-ipv4-cidr-block
	// LaunchTime is the identity document's pendingTime. Zero means "when
	// New is called", read from Options.Now.
	LaunchTime time.Time
}

// DefaultAccountID is the account elbow's instances belong to: the example
// account number of the AWS documentation, so it never names a real one.
const DefaultAccountID = "123456789012"

// NewInstance returns the facts of instance id with private IP privateIP in
// region, the rest filled with EC2-like defaults that are stable for the same
// inputs: the fleet shares its AMI, VPC and subnet, as an Auto Scaling group
// launched from one template does.
func NewInstance(id, privateIP, region string) Instance {
	arch, itype := "x86_64", "t3.micro"
	if runtime.GOARCH == "arm64" {
		// A t3 is never arm64; the Graviton equivalent keeps the identity
		// document's architecture and instance type consistent.
		arch, itype = "arm64", "t4g.micro"
	}
	return Instance{
		InstanceID:       id,
		PrivateIP:        privateIP,
		MAC:              macFor(privateIP),
		Region:           region,
		AvailabilityZone: region + "a",
		InstanceType:     itype,
		Architecture:     arch,
		AMIID:            "ami-" + hexID("ami", region),
		AccountID:        DefaultAccountID,
		Hostname:         PrivateDNSName(privateIP, region),
		InterfaceID:      "eni-" + hexID("eni", id),
		SubnetID:         "subnet-" + hexID("subnet", region+"a"),
		SubnetCIDR:       subnetCIDR(privateIP),
		VPCID:            "vpc-" + hexID("vpc", region),
		VPCCIDR:          vpcCIDR(privateIP),
	}
}

// NewInstanceID returns an EC2-shaped instance ID ("i-" and 17 hex digits)
// derived from seed, so the same environment and slot get the same ID on
// every run.
func NewInstanceID(seed string) string { return "i-" + hexID("instance", seed) }

// hexID returns 17 hex digits, the length of current EC2 resource IDs,
// derived from kind and seed.
func hexID(kind, seed string) string {
	sum := sha256.Sum256([]byte("elbow/" + kind + "/" + seed))
	return hex.EncodeToString(sum[:])[:17]
}

// PrivateDNSName follows EC2's IP-based private hostnames: in us-east-1
// ip-10-251-50-12.ec2.internal (reference 1.2), elsewhere
// ip-10-251-50-12.<region>.compute.internal.
func PrivateDNSName(ip, region string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}

// macFor derives a locally administered unicast MAC (first octet 02, as on
// an ENI) from the IPv4 address, so two instances never share one.
func macFor(ip string) string {
	var b [6]byte
	b[0] = 0x02
	if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
		v4 := a.As4()
		copy(b[2:], v4[:])
	} else {
		sum := sha256.Sum256([]byte(ip))
		copy(b[1:], sum[:5])
	}
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

func subnetCIDR(ip string) string {
	if p, err := netip.ParseAddr(ip); err == nil && p.Is4() {
		pre, _ := p.Prefix(24)
		return pre.String()
	}
	return ""
}

func vpcCIDR(ip string) string {
	if p, err := netip.ParseAddr(ip); err == nil && p.Is4() {
		pre, _ := p.Prefix(16)
		if p.IsLoopback() {
			pre, _ = p.Prefix(8) // the whole of 127.0.0.0/8 is the fleet's network
		}
		return pre.String()
	}
	return ""
}

// validate names the first empty or malformed field of inst.
func (inst Instance) validate() error {
	required := []struct{ name, value string }{
		{"InstanceID", inst.InstanceID}, {"PrivateIP", inst.PrivateIP}, {"MAC", inst.MAC},
		{"Region", inst.Region}, {"AvailabilityZone", inst.AvailabilityZone},
		{"InstanceType", inst.InstanceType}, {"Architecture", inst.Architecture},
		{"AMIID", inst.AMIID}, {"AccountID", inst.AccountID}, {"Hostname", inst.Hostname},
	}
	for _, f := range required {
		if f.value == "" {
			return fmt.Errorf("instance %q: %s is empty", inst.InstanceID, f.name)
		}
	}
	if _, err := netip.ParseAddr(inst.PrivateIP); err != nil {
		return fmt.Errorf("instance %q: private ip: %w", inst.InstanceID, err)
	}
	if strings.Contains(inst.MAC, "/") {
		return fmt.Errorf("instance %q: mac %q contains a slash", inst.InstanceID, inst.MAC)
	}
	return nil
}
