package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/elbow-lb/elbow/internal/proxy/monotime"
	"github.com/elbow-lb/elbow/internal/proxy/upstream"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

type exchangeKey struct{}

// Optional abilities of a client's writer, which the forwarding code asks
// for instead of asking which server it runs under (the connection loop's
// writer has them; net/http's has not), as upstream.HeadWriter is asked.

// scratchWriter lends a buffer that lives as long as the request, for a
// value sent with it (the trace id) without an allocation.
type scratchWriter interface{ scratch() []byte }

// waitWatcher is told when the request (ex) starts and stops waiting for
// its target, so that a client leaving meanwhile is noticed and the
// request aborted (upstream.Client.Abort(tag), with the tag waitFor
// returns: the one the request to the target carries); net/http tells
// through the request's context instead.
type waitWatcher interface {
	waitFor(ex *exchange) (tag any)
	waitDone()
}

// Value finds the exchange from the transport's context.
func (e *exchange) Value(key any) any {
	if key == (exchangeKey{}) {
		return e
	}
	return e.Context.Value(key)
}

func (e *exchange) Header() http.Header { return e.w.Header() }

func (e *exchange) WriteHeader(code int) {
	if e.status == 0 && code >= 200 {
		e.status = code
	}
	e.w.WriteHeader(code)
}

// WriteHead takes a target's response header without a header map when
// the client's writer can (the connection loop's), else through it.
func (e *exchange) WriteHead(code int, fields []upstream.Field) {
	if e.status == 0 && code >= 200 {
		e.status = code
	}
	upstream.WriteHead(e.w, code, fields)
}

func (e *exchange) Write(b []byte) (int, error) {
	if e.status == 0 {
		e.status = http.StatusOK
	}
	if e.writeIdle > 0 && e.writeDeadline.Renew(monotime.Now(e.start), e.writeIdle) {
		// net/http's writers have the method (what ResponseController
		// calls), and asking them directly allocates nothing.
		if d, ok := e.w.(interface{ SetWriteDeadline(time.Time) error }); ok {
			_ = d.SetWriteDeadline(e.writeDeadline.At)
		}
	}
	n, err := e.w.Write(b)
	e.sent += int64(n)
	return n, err
}

// Flush lets streamed responses (server-sent events) through at once.
func (e *exchange) Flush() {
	if f, ok := e.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the client's writer (hijack for
// upgrades, deadlines).
func (e *exchange) Unwrap() http.ResponseWriter { return e.w }

// Hijack takes over the client connection for an upgrade (ReverseProxy
// finds it through http.ResponseController): from here on the gate passes
// the client's bytes to the target unchecked, as the new protocol's.
func (e *exchange) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(e.w).Hijack()
	if err == nil && e.gate != nil {
		e.gate.tunnel()
	}
	return nc, brw, err
}

// clientBody is the request body of a net/http request: each read must
// bring bytes within the idle timeout (the ALB cuts a connection with no
// data sent or received for that long), and an error is kept so that the
// answer blames the client, not the target.
type clientBody struct {
	io.ReadCloser
	ex   *exchange
	rc   *http.ResponseController
	idle time.Duration
}

func (b *clientBody) Read(p []byte) (int, error) {
	_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.ex.bodyErr = err
	}
	return n, err
}

// retryTarget moves ex to another available target of its group, once its
// first target failed before answering: the one retry of both target paths.
// Nothing reached that target (or the request may go again), and the
// client is still there; false when there is no other target.
func (ex *exchange) retryTarget() (*targetgroup.Member, bool) {
	if ex.Context.Err() != nil || ex.failedTarget != "" {
		return nil, false
	}
	next := ex.fw.group.Pick(ex.member)
	if next == nil {
		return nil, false
	}
	ex.failedTarget = ex.member.Addr()
	ex.member.Release()
	ex.member = next
	return next, true
}
