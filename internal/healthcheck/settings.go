package healthcheck

import (
	"net"
	"strconv"
	"time"
)

// Protocol of the health check.
type Protocol string

const (
	ProtocolHTTP  Protocol = "HTTP"
	ProtocolHTTPS Protocol = "HTTPS"
)

// Settings are a target group's health-check settings at run time. They are
// validated by the config package at load (and by the API on change); the
// checker trusts them and never clamps.
type Settings struct {
	Enabled  bool
	Protocol Protocol
	// Port is the health-check port; 0 means traffic-port, the target's own port.
	Port               int
	Path               string
	Interval           time.Duration
	Timeout            time.Duration
	HealthyThreshold   int
	UnhealthyThreshold int
	Matcher            Matcher
	// HTTP2: the target group's protocol version is HTTP2, and its checks
	// are HTTP/2 requests (ALPN h2 over HTTPS, prior knowledge over HTTP).
	HTTP2 bool
	// GRPC: the target group's protocol version is GRPC, and its checks are
	// gRPC calls over HTTP/2 to Path, whose grpc-status Matcher (gRPC
	// codes, ParseGRPCMatcher) judges.
	GRPC bool
}

// ProtocolVersion is the target group's protocol version the settings
// check for: HTTP1, HTTP2 or GRPC.
func (s Settings) ProtocolVersion() string {
	switch {
	case s.GRPC:
		return "GRPC"
	case s.HTTP2:
		return "HTTP2"
	}
	return "HTTP1"
}

// EBDefaults are the Elastic Beanstalk process defaults: interval 15 s,
// timeout 5 s, healthy 3, unhealthy 5, matcher 200, path / (the options of
// aws:elasticbeanstalk:environment:process:default,
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html#command-options-general-environmentprocess).
// They are the only definition: the config's health_check defaults
// (config.DefaultHealthCheck) are made from them.
func EBDefaults() Settings {
	return Settings{
		Enabled:            true,
		Protocol:           ProtocolHTTP,
		Path:               "/",
		Interval:           15 * time.Second,
		Timeout:            5 * time.Second,
		HealthyThreshold:   3,
		UnhealthyThreshold: 5,
		Matcher:            MustParseMatcher("200"),
	}
}

// ALBDefaults are the ELBv2 API defaults: 30 s / 5 s / healthy 5 /
// unhealthy 2 / 200 (CreateTargetGroup,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html).
func ALBDefaults() Settings {
	s := EBDefaults()
	s.Interval = 30 * time.Second
	s.HealthyThreshold = 5
	s.UnhealthyThreshold = 2
	return s
}

// CheckPort is the port the probe connects to for target t.
func (s Settings) CheckPort(t Target) int {
	if s.Port == 0 {
		return t.Port
	}
	return s.Port
}

// CheckAddr is the address the probe connects to: the target's IP and the
// health-check port. It is also the Host header the ELB checker sends.
func (s Settings) CheckAddr(t Target) string {
	return net.JoinHostPort(t.IP, strconv.Itoa(s.CheckPort(t)))
}
