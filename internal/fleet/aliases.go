package fleet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"syscall"
)

// instanceIP is instance index's private IP: 127.0.0.(index+1).
func instanceIP(index int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, byte(index + 1)}) }

// checkLoopbackAddrs binds each of ips on a free port and fails, naming
// the commands that add them, when the machine lacks some. Linux answers
// for all of 127.0.0.0/8 on lo; macOS has only 127.0.0.1 on lo0 until
// aliases are added, and the app and its metadata service would then fail
// to listen with a bare "can't assign requested address". Other bind
// errors are left to the launch, which reports them with the instance.
func checkLoopbackAddrs(ips []netip.Addr) error {
	var missing []netip.Addr
	for _, ip := range ips {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
		if err == nil {
			ln.Close()
			continue
		}
		if errors.Is(err, syscall.EADDRNOTAVAIL) {
			missing = append(missing, ip)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return missingAddrsError(runtime.GOOS, missing)
}

func missingAddrsError(goos string, missing []netip.Addr) error {
	var b strings.Builder
	words := make([]string, len(missing))
	for i, ip := range missing {
		words[i] = ip.String()
		b.WriteString("\n  " + aliasCommand(goos, ip))
	}
	return fmt.Errorf("fleet: the instances' addresses %s are not on this machine's loopback interface; add them with:%s",
		strings.Join(words, ", "), b.String())
}

// aliasCommand adds ip to the loopback interface: ifconfig(8) on macOS and
// the BSDs, ip-address(8) on Linux.
func aliasCommand(goos string, ip netip.Addr) string {
	if goos == "linux" {
		return "sudo ip addr add " + ip.String() + "/8 dev lo"
	}
	return "sudo ifconfig lo0 alias " + ip.String() + " up"
}
