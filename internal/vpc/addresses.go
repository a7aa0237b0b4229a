package vpc

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strings"
)

// DefaultCIDR is the CIDR of Amazon's default VPC ("Default VPCs", Amazon
// VPC User Guide: 172.31.0.0/16, with a /20 default subnet per
// availability zone).
var DefaultCIDR = netip.MustParsePrefix("172.31.0.0/16")

// Zones is how many subnets, one per availability zone, a VPC gets:
// instances are spread over them in turn, as an Auto Scaling group spreads
// them over its zones.
const Zones = 3

// Subnet is one availability zone's subnet.
type Subnet struct {
	Zone   string       // us-west-2a
	Prefix netip.Prefix // 172.31.0.0/20
	// Router is the subnet's base address plus one, where a VPC puts its
	// router ("Subnet CIDR blocks", Amazon VPC User Guide: the first four
	// addresses and the last are reserved).
	Router netip.Addr
}

// ValidateCIDR says what is wrong with a VPC CIDR, in the words of the
// config field it came from.
func ValidateCIDR(p netip.Prefix) error {
	a := p.Addr()
	switch {
	case !a.Is4():
		return errors.New("must be an IPv4 CIDR block")
	case p.Bits() < 16 || p.Bits() > 24:
		return fmt.Errorf("prefix length /%d is out of range /16-/24 (a VPC allows /16-/28; elbow needs room for %d subnets)", p.Bits(), Zones)
	case p.Masked() != p:
		return fmt.Errorf("is not a network address: did you mean %s?", p.Masked())
	case a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified():
		return errors.New("must not be a loopback, link-local or multicast block")
	}
	return nil
}

// subnetsOf divides cidr as the default VPC is divided: consecutive blocks
// four bits longer than the VPC's (/20 in a /16), one per zone.
func subnetsOf(cidr netip.Prefix, region string) []Subnet {
	bits := cidr.Bits() + 4
	size := uint32(1) << (32 - bits)
	base := u32(cidr.Addr())
	out := make([]Subnet, Zones)
	for i := range out {
		start := base + uint32(i)*size
		out[i] = Subnet{
			Zone:   region + string(rune('a'+i)),
			Prefix: netip.PrefixFrom(addr4(start), bits),
			Router: addr4(start + 1),
		}
	}
	return out
}

// hostAddr picks a stable address in s for seed, probing past taken ones.
// The first four addresses and the last are reserved, as in a VPC subnet.
func hostAddr(s Subnet, seed string, taken func(netip.Addr) bool) (netip.Addr, error) {
	size := uint32(1) << (32 - s.Prefix.Bits())
	usable := size - 5
	h := fnv.New32a()
	h.Write([]byte(seed))
	start := h.Sum32() % usable
	base := u32(s.Prefix.Addr())
	for i := range usable {
		a := addr4(base + 4 + (start+i)%usable)
		if !taken(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %s (%s) has no free address", s.Prefix, s.Zone)
}

// Hostname is EC2's IP-based hostname of a private address: ip-172-31-5-17
// ("Amazon EC2 instance hostname types", EC2 User Guide).
func Hostname(ip netip.Addr) string {
	return "ip-" + strings.ReplaceAll(ip.String(), ".", "-")
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
