package proxy

import (
	"net/http"
	"strings"
)

// The headers the load balancer adds to a forwarded request, and those it
// drops (ALB user guide, "HTTP headers and Application Load Balancers").

// dropHeaders are client headers not relayed, as ReverseProxy's Rewrite
// mode drops them: their values cannot be trusted.
var dropHeaders = []string{"Forwarded", "X-Forwarded-Host"}

// forwardedFor is X-Forwarded-For in append mode: the client's values
// kept, then the address the connection came from.
func forwardedFor(r *http.Request, clientIP string) string {
	if prior := r.Header["X-Forwarded-For"]; len(prior) > 0 {
		return strings.Join(prior, ", ") + ", " + clientIP
	}
	return clientIP
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}
