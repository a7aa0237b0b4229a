package proxy

import (
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

const hexDigits = "0123456789abcdef"

// newTraceValue is "1-<8 hex digits of epoch seconds>-<24 hex digits>", the
// value of a Root or Self field (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-request-tracing.html).
func appendTraceValue(b []byte, now time.Time) []byte {
	b = append(b, '1', '-')
	b = appendHex(b, uint64(now.Unix()), 8)
	b = append(b, '-')
	b = appendHex(b, rand.Uint64(), 16)
	return appendHex(b, uint64(rand.Uint32()), 8)
}

func appendHex(b []byte, v uint64, digits int) []byte {
	// Filled from the end in place: one capacity check, not one per digit.
	n := len(b)
	b = slices.Grow(b, digits)[:n+digits]
	for i := n + digits - 1; i >= n; i-- {
		b[i] = hexDigits[v&15]
		v >>= 4
	}
	return b
}

// newConnTraceID is a client connection's conn_trace_id in the access log:
// "TID_" and 32 hex digits, as the ALB writes it ("Access logs", conn_trace_id), the same
// on every request of the connection.
func newConnTraceID() string {
	b := make([]byte, 0, 36)
	b = append(b, "TID_"...)
	b = appendHex(b, rand.Uint64(), 16)
	return string(appendHex(b, rand.Uint64(), 16))
}

// connTraceKey finds a net/http connection's conn_trace_id in its
// requests' contexts.
type connTraceKey struct{}

// traceID is the X-Amzn-Trace-Id the target gets: a new Root when the
// client sent none; a Self field (replaced if present) in front of a Root
// the client sent; custom fields kept.
func traceID(existing string, now time.Time) string {
	var buf [128]byte
	return string(appendTraceID(buf[:0], existing, now))
}

// appendTraceID appends traceID's value to b.
func appendTraceID(b []byte, existing string, now time.Time) []byte {
	if existing == "" {
		return appendTraceValue(append(b, "Root="...), now)
	}
	fields := strings.Split(existing, ";")
	hasRoot := false
	rest := make([]string, 0, len(fields))
	for _, f := range fields {
		f = strings.TrimSpace(f)
		switch {
		case strings.HasPrefix(f, "Root="):
			hasRoot = true
			rest = append(rest, f)
		case strings.HasPrefix(f, "Self="), f == "":
		default:
			rest = append(rest, f)
		}
	}
	if hasRoot {
		b = append(b, "Self="...)
	} else {
		b = append(b, "Root="...)
	}
	b = appendTraceValue(b, now)
	for _, f := range rest {
		b = append(b, ';')
		b = append(b, f...)
	}
	return b
}
