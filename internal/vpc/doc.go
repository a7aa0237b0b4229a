// Package vpc builds a VPC on one machine for the instances of one
// environment: each instance in its own Linux network namespace with a
// private IPv4 address from the VPC's CIDR (Amazon's default VPC,
// 172.31.0.0/16, one /20 subnet per availability zone), a default route, an
// EC2 hostname, and the instance metadata service at 169.254.169.254:80; and
// it gives the load balancer sockets inside that VPC, so health checks and
// forwarded requests reach instances at their private IPs from the load
// balancer's own private IP, as an ALB node's do.
//
// # How it is built
//
//	host namespace (elbow's listeners, console)      nothing of the VPC here
//	router namespace: bridge vpc0
//	    172.31.0.1/20, 172.31.16.1/20, ...           each subnet's router (base+1, as in a VPC)
//	    172.31.x.y                                    the load balancer node's address
//	    lo: 169.254.169.254/32                        the metadata service, port 80
//	instance namespace (one per instance, with its own UTS namespace)
//	    eth0 172.31.5.17/20, MAC as the metadata service says
//	    default via the subnet's router; hostname ip-172-31-5-17
//
// elbow's own sockets into the VPC (the load balancer's dials, the metadata
// service's listener) are created by a thread that enters the router
// namespace for the socket(2) call and leaves it again: a socket stays in
// the namespace it was created in (network_namespaces(7)). The host's
// routing table never learns the VPC's CIDR, and no interface of the VPC is
// ever in the host namespace: veth pairs are created inside the router
// namespace with their peer born in the instance's namespace.
//
// # Nothing outlives elbow
//
// No namespace is bind-mounted (nothing under /var/run/netns): each lives
// only as long as a process is in it or a file descriptor refers to it.
// elbow holds the descriptors; the instances' processes are in theirs. When
// elbow dies, however it dies, the kernel closes its descriptors, the
// fleet's supervisors kill the instances' processes (their parent-death
// signal), and the kernel then destroys the namespaces and with them every
// interface, address and route inside: veth pairs, the bridge, the
// metadata service's address.
//
// # Privilege
//
// Creating namespaces and interfaces needs CAP_SYS_ADMIN and CAP_NET_ADMIN
// (root has both). Without them New fails before it builds anything, with
// one message naming what is missing and the loopback alternative. A
// rootless build through user namespaces is possible in principle (a user
// namespace owns the network namespaces made in it), but the load balancer
// would then have to live in that user namespace too, and processes of the
// user's app would run as a mapped root: not built.
package vpc
