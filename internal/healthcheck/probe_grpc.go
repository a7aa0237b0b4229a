package healthcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Health checks of a target group whose protocol version is GRPC: the ALB
// calls the gRPC method at the health-check path (default
// /AWS.ALB/healthcheck) and matches the call's gRPC status against
// Matcher.GrpcCode (default 12, UNIMPLEMENTED, what a gRPC server answers
// for a method it does not have)
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Matcher.html).
// On the wire, a call as the gRPC protocol defines it
// (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md): an
// HTTP/2 POST with content-type application/grpc and te: trailers, whose
// body is one empty message (a 5-byte frame: flag 0, length 0), answered
// by HTTP status 200 and a grpc-status in the trailers, or in the headers
// of a trailers-only answer. The connection is the HTTP2 check's: new per
// check, certificates not verified.

// emptyGRPCMessage is one length-prefixed message of zero bytes:
// compressed-flag 0, message-length 0 (big-endian uint32).
var emptyGRPCMessage = [5]byte{}

// ErrNoGRPCStatus is a gRPC check whose answer ended without a grpc-status, so it is no
// gRPC answer and holds no code to match.
var ErrNoGRPCStatus = errors.New("the answer carries no grpc-status (in trailers or in a trailers-only answer): it is not a gRPC answer")

// grpcAnswer is what a gRPC check read.
type grpcAnswer struct {
	code       int    // HTTP status
	grpcStatus string // grpc-status, "" when absent
	header     http.Header
	body       []byte
}

func (p HTTPProber) probeGRPC(ctx context.Context, deadline time.Time, s Settings, res *Result, now func() time.Time) {
	a, err := callGRPC(ctx, p.Dial, deadline, res.Addr, s)
	res.Latency = now().Sub(res.Start)
	res.StatusCode = a.code
	switch {
	case err != nil:
		res.failed(err)
	case a.code != http.StatusOK:
		// No gRPC answer: the HTTP code is the code seen, as an HTTP
		// check reports it ("Health checks failed with these codes: [404]").
		res.Reason = ReasonResponseCodeMismatch
	case a.grpcStatus == "":
		res.Reason, res.Err = ReasonFailedHealthChecks, ErrNoGRPCStatus
	default:
		code, err := strconv.Atoi(a.grpcStatus)
		switch {
		case err != nil || code < 0:
			res.Reason = ReasonFailedHealthChecks
			res.Err = fmt.Errorf("grpc-status %q is not a status code: a malformed gRPC answer", a.grpcStatus)
		case !s.Matcher.Match(code):
			res.Reason = ReasonResponseCodeMismatch
			res.GRPCStatus = a.grpcStatus
		default:
			res.GRPCStatus = a.grpcStatus
		}
	}
	if !res.Passed() {
		res.Header, res.Body = a.header, a.body
	}
}

// callGRPC makes the check's gRPC call and reads its answer to the end,
// where the trailers are.
func callGRPC(ctx context.Context, dial dialFunc, deadline time.Time, addr string, s Settings) (grpcAnswer, error) {
	conn, cc, u, err := openH2(ctx, dial, deadline, addr, s)
	if err != nil {
		return grpcAnswer{}, err
	}
	defer conn.Close()
	defer cc.Close()
	req := (&http.Request{Method: http.MethodPost, URL: u, Host: addr, Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: http.Header{
			"Content-Type": {"application/grpc"},
			"Te":           {"trailers"},
			"User-Agent":   {UserAgent},
		},
		Body:          io.NopCloser(bytes.NewReader(emptyGRPCMessage[:])),
		ContentLength: int64(len(emptyGRPCMessage)),
	}).WithContext(ctx)
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return grpcAnswer{}, err
	}
	defer resp.Body.Close()
	a := grpcAnswer{code: resp.StatusCode, header: resp.Header.Clone()}
	// The body holds the answer's messages; the trailers follow it, so it
	// is read to its end, within bounds: a health answer is a few bytes.
	snap := make([]byte, BodySnapshotLimit)
	n, err := io.ReadFull(resp.Body, snap)
	a.body = snap[:n]
	if err == nil {
		var rest int64
		rest, err = io.Copy(io.Discard, io.LimitReader(resp.Body, bodyDrainLimit))
		if err == nil && rest == bodyDrainLimit {
			return a, fmt.Errorf("the answer is longer than %d bytes: its trailers were not reached", BodySnapshotLimit+bodyDrainLimit)
		}
	}
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return a, err
	}
	for k, v := range resp.Trailer {
		if len(v) > 0 {
			a.header[k] = v
		}
	}
	// grpc-status is in the trailers, or in the headers of a
	// trailers-only answer (HEADERS ending the stream).
	a.grpcStatus = a.header.Get("Grpc-Status")
	return a, nil
}
