package diagnose

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// No answer the matcher could read: a timeout (Target.Timeout), or a refused,
// closed or garbled connection (Target.FailedHealthChecks), as "Troubleshoot
// your Application Load Balancers" lists them,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html.
// The extra requests observe made (127.0.0.1 on the same port, the other
// protocol) tell an app bound to loopback and a protocol mismatch apart.

func (f facts) timeout() verdict {
	timeout := f.obs.settings.Timeout
	var op *net.OpError
	if errors.As(f.obs.result.Err, &op) && op.Op == "dial" {
		return verdict{
			id:      CaseConnectTimeout,
			summary: fmt.Sprintf("No connection to %s within the %s timeout.", f.hostHeader, timeout),
			why:     fmt.Sprintf("The health checker could not even open a TCP connection to %s: the packets are dropped on the way. On AWS that is a security group or network ACL that does not allow the health check port from the load balancer, or a wrong IP or port.", f.hostHeader),
			fixes: []Fix{
				{Title: "Allow the health check port from the load balancer", Detail: fmt.Sprintf("Allow inbound TCP %d to the instances from the load balancer's security group (and the ephemeral ports 1024-65535 back in the network ACL).", f.port), TradeOff: "None."},
				{Title: "Check the target's IP and the health check port", Detail: fmt.Sprintf("The app must listen on %s (under elbow, on $HOST:$PORT).", f.hostHeader), TradeOff: "None."},
			},
		}
	}
	return verdict{
		id:      CaseSlowResponse,
		summary: fmt.Sprintf("The target accepted the connection but sent no response within the %s timeout.", timeout),
		why:     f.checkerSends() + fmt.Sprintf(" The app took longer than the health check timeout (%s) to answer %s: the page is slow (queries, remote calls, a cold start), or every worker is busy.", timeout, f.path),
		fixes: []Fix{
			{Title: "Serve a health path that answers at once", Detail: f.text.fastRoute + "\n" + healthPathFix(f.text.healthPath), TradeOff: "It proves less than a real page."},
			{Title: "Raise the health check timeout", Detail: "health_check: {timeout: 10}  # 2-120 seconds, smaller than the interval", TradeOff: "A hung target is noticed later."},
		},
	}
}

func (f facts) failed() verdict {
	err := f.obs.result.Err
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		if f.obs.loopback.Answered() {
			return f.boundToLocalhost()
		}
		return verdict{
			id:      CaseConnectionRefused,
			summary: fmt.Sprintf("Nothing listens on %s: the connection is refused.", f.hostHeader),
			why:     fmt.Sprintf("The health checker connects to the instance's IP and the health check port, %s, and the connection is refused: the app is not running (crashed, still starting, failed to start) or listens on another port.", f.hostHeader) + f.loopbackSaw(),
			fixes: []Fix{
				{Title: "Read the instance's log", Detail: "elbow keeps each instance's output (instances.log_dir, default .elbow/logs); on Elastic Beanstalk: eb logs (web.stdout.log).", TradeOff: "None."},
				{Title: "Listen on the port the target group uses", Detail: fmt.Sprintf("The app must listen on port %d (under elbow, $PORT), or the health check port must be the app's.", f.port), TradeOff: "None."},
			},
		}
	case isTLSRecordError(err) && f.protocol == string(healthcheck.ProtocolHTTPS):
		return verdict{
			id:      CaseTLSToPlainPort,
			summary: fmt.Sprintf("The health check speaks HTTPS to %s, which serves plain HTTP.", f.hostHeader),
			why:     fmt.Sprintf("The health check protocol is HTTPS, but the target answered the TLS handshake with plain HTTP (%v).", err) + f.otherSaw(),
			fixes:   []Fix{{Title: "Set the health check protocol to HTTP", Detail: "health_check: {protocol: HTTP}  # and the target group's protocol, if the app serves HTTP", TradeOff: "None: the load balancer terminates TLS for users."}},
		}
	case f.protocol == string(healthcheck.ProtocolHTTP) && f.obs.other.Answered():
		return f.httpToTLSPort()
	}
	return verdict{
		id:      CaseMalformedResponse,
		summary: fmt.Sprintf("The target at %s closed the connection or answered something that is not HTTP/1.1.", f.hostHeader),
		why:     fmt.Sprintf("The health checker sends an HTTP/1.1 request and got %v instead of a response. The port may belong to something other than the web app, or the server speaks only HTTP/2 or another protocol.", err) + f.otherSaw(),
		fixes: []Fix{
			{Title: "Check that the health check port is the web app's HTTP port", Detail: fmt.Sprintf("Port %d must answer HTTP/1.1 requests.", f.port), TradeOff: "None."},
		},
	}
}

// httpToTLSPort is also reached from a 400 answer: servers that find plain
// HTTP on a TLS port say so in a 400 page (plainHTTPOnTLSPortBody).
func (f facts) httpToTLSPort() verdict {
	return verdict{
		id:      CaseHTTPToTLSPort,
		summary: fmt.Sprintf("The health check speaks plain HTTP to %s, which expects TLS.", f.hostHeader),
		why:     "The health check protocol is HTTP, but the port serves HTTPS: the server refused the plain request." + f.otherSaw(),
		fixes: []Fix{
			{Title: "Set the health check protocol to HTTPS", Detail: "health_check: {protocol: HTTPS}  # the checker does not verify the certificate", TradeOff: "None."},
			{Title: "Or serve plain HTTP on that port", Detail: "Let the load balancer terminate TLS and the app listen in plain HTTP.", TradeOff: "Traffic between the load balancer and the instance is unencrypted (inside the VPC)."},
		},
	}
}

// plainHTTPOnTLSPortBody recognises the 400 pages servers send when plain HTTP
// reaches a TLS port: Go's net/http (net/http/server.go) and nginx
// (ngx_http_special_response.c, error 497).
func plainHTTPOnTLSPortBody(body string) bool {
	return strings.Contains(body, "Client sent an HTTP request to an HTTPS server") ||
		strings.Contains(body, "The plain HTTP request was sent to HTTPS port")
}

func (f facts) boundToLocalhost() verdict {
	return verdict{
		id:      CaseBoundToLocalhost,
		summary: fmt.Sprintf("The app listens on 127.0.0.1:%d only; the health check connects to the instance's IP %s and is refused.", f.port, f.ip),
		why:     fmt.Sprintf("The load balancer reaches the instance at its private IP, %s. The connection there is refused, but 127.0.0.1:%d answers: the app is bound to the loopback address only, which nothing outside the instance can reach.", f.hostHeader, f.port) + f.loopbackSaw(),
		fixes:   []Fix{{Title: "Listen on all addresses (or the instance's IP)", Detail: f.text.bindAll(f), TradeOff: "The port is then reachable from the network: let the security group admit only the load balancer."}},
	}
}

func (f facts) loopbackSaw() string {
	lo := f.obs.loopback
	switch {
	case lo == nil:
		return ""
	case lo.Answered():
		return fmt.Sprintf(" A request to %s got %d.", lo.Addr, lo.StatusCode)
	case lo.Error != "":
		return fmt.Sprintf(" %s does not answer either (%s).", lo.Addr, lo.Error)
	}
	return ""
}

func (f facts) otherSaw() string {
	o := f.obs.other
	if o == nil {
		return ""
	}
	proto := "HTTPS"
	if f.protocol == string(healthcheck.ProtocolHTTPS) {
		proto = "plain HTTP"
	}
	if o.Answered() {
		return fmt.Sprintf(" The same check over %s got %d.", proto, o.StatusCode)
	}
	return fmt.Sprintf(" The same check over %s failed too (%s).", proto, o.Error)
}

func isTLSRecordError(err error) bool {
	var rh tls.RecordHeaderError
	return errors.As(err, &rh) || (err != nil && strings.Contains(err.Error(), "first record does not look like a TLS handshake"))
}
