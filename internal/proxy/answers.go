package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// statusTooManyForwarded is the ALB's 463: "The load balancer received an
// X-Forwarded-For request header with more than 30 IP addresses."
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html)
const statusTooManyForwarded = 463

// statusIncompatibleProtocol is the ALB's 464: "The load balancer received
// an incoming request protocol that is incompatible with the version
// config of the target group protocol." (same page), which names the
// cases: "The request protocol is an HTTP/1.1, while the target group
// protocol version is a gRPC or HTTP/2", "The request protocol is a gRPC,
// while the target group protocol version is an HTTP/1.1", "The request
// protocol is an HTTP/2 and the request is not POST, while target group
// protocol version is a gRPC".
const statusIncompatibleProtocol = 464

// incompatibleProtocol reports whether r cannot go to fw's group: a GRPC
// group takes gRPC calls only, HTTP/2 to targets needs an HTTP/2 request,
// and a gRPC request needs HTTP/2 to targets.
func incompatibleProtocol(fw *forwarder, r *http.Request) bool {
	switch {
	case fw.grpc:
		return !isGRPCRequest(r)
	case fw.http2:
		return r.ProtoMajor != 2
	}
	return r.ProtoMajor == 2 && isGRPC(r.Header["Content-Type"])
}

// isGRPCRequest reports whether r is a gRPC call: HTTP/2, POST, with a
// content-type of application/grpc (or application/grpc+proto and the
// like), as the gRPC protocol defines a request
// (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md).
func isGRPCRequest(r *http.Request) bool {
	return r.ProtoMajor == 2 && r.Method == http.MethodPost && isGRPC(r.Header["Content-Type"])
}

func isGRPC(contentType []string) bool {
	if len(contentType) == 0 {
		return false
	}
	ct := contentType[0]
	const grpc = "application/grpc"
	return len(ct) >= len(grpc) && strings.EqualFold(ct[:len(grpc)], grpc) &&
		(len(ct) == len(grpc) || ct[len(grpc)] == '+' || ct[len(grpc)] == ';')
}

// maxForwardedFor is the most addresses an X-Forwarded-For may hold.
const maxForwardedFor = 30

// tooManyForwarded reports whether X-Forwarded-For fields hold more than
// maxForwardedFor addresses, counted as the comma-separated elements of
// every field.
func tooManyForwarded(values []string) bool {
	n := 0
	for _, v := range values {
		n++
		for i := 0; i < len(v); i++ {
			if v[i] == ',' {
				n++
			}
		}
	}
	return n > maxForwardedFor
}

func errorStatus(ex *exchange, err error) int {
	var ne net.Error
	switch {
	case ex.bodyErr != nil && errors.As(ex.bodyErr, &ne) && ne.Timeout():
		// "The client did not send data before the idle timeout period
		// expired." (ALB troubleshooting, HTTP 408)
		return http.StatusRequestTimeout
	case ex.Context.Err() != nil, ex.bodyErr != nil:
		return 460 // the client closed the connection first
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// errorPages are the ALB's own error bodies (nginx's titles).
var errorPages = map[int]string{
	http.StatusBadRequest:                  "400 Bad Request",
	http.StatusRequestTimeout:              "408 Request Time-out",
	http.StatusRequestEntityTooLarge:       "413 Request Entity Too Large",
	http.StatusRequestURITooLong:           "414 Request-URI Too Large",
	http.StatusRequestHeaderFieldsTooLarge: "431 Request Header Fields Too Large",
	http.StatusHTTPVersionNotSupported:     "505 HTTP Version Not Supported",
	http.StatusBadGateway:                  "502 Bad Gateway",
	http.StatusServiceUnavailable:          "503 Service Temporarily Unavailable",
	http.StatusGatewayTimeout:              "504 Gateway Time-out",
}

func serveError(w http.ResponseWriter, code int) {
	title, ok := errorPages[code]
	h := w.Header()
	if !ok {
		w.WriteHeader(code)
		return
	}
	if code == http.StatusRequestTimeout {
		// The request's body is not all read: nothing after it can be.
		h["Connection"] = []string{"close"}
	}
	body := "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title + "</h1></center>\r\n</body>\r\n</html>\r\n"
	h.Set("Server", "awselb/2.0")
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}
