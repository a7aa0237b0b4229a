package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/proxy/accesslog"
	"github.com/elbow-lb/elbow/internal/proxy/desync"
	"github.com/elbow-lb/elbow/internal/proxy/h1"
	"github.com/elbow-lb/elbow/internal/proxy/monotime"
	"github.com/elbow-lb/elbow/internal/proxy/rawio"
	"github.com/elbow-lb/elbow/internal/proxy/upstream"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// The data path's types, in one file that every other file of the package
// stands on. Their behaviour lives with its concern (docs/internals.md):
// listener.go and reconfigure.go (lifecycle), loop*.go (the connection
// loop), gate*.go and judge.go (the request rules), serve.go, forward.go,
// reverseproxy.go (a request from arrival to its target), answers.go and
// report.go (the load balancer's own answers, the recorder and the access
// log). With the types here, the files refer to each other in one direction
// only: a file uses this one and files below it, never one above it, so that
// each can be read, and changed, from what it stands on.

// Options wire a Proxy. Every field may be left zero.
type Options struct {
	// IdleTimeout: a target that does not start answering within it gets the
	// client a 504; idle client connections are closed after it. Default 60 s.
	IdleTimeout time.Duration
	// DropInvalidHeaderFields removes client headers whose names are not
	// letters, digits and hyphens, before routing (the ALB attribute
	// routing.http.drop_invalid_header_fields.enabled).
	DropInvalidHeaderFields bool
	// DesyncMode is the ALB attribute routing.http.desync_mitigation_mode:
	// what happens to a request by its desync classification (package
	// desync). The zero value is the ALB's default, defensive.
	DesyncMode desync.Mode
	// AccessLog receives one ALB-format line per request. nil: New opens
	// load_balancer.access_logs when enabled (appending; - is standard
	// output), else there is no access log.
	AccessLog io.Writer
	// Recorder receives every proxied response, off the request path.
	Recorder Recorder
	Logger   *slog.Logger
	// LoadBalancerName names the load balancer in access logs
	// (app/<name>/<id>) and target group ARNs. Default "elbow".
	LoadBalancerName string
	// Region in ARNs. Default us-west-2.
	Region string
	// ShutdownTimeout bounds Shutdown when its context has no deadline. Default 30 s.
	ShutdownTimeout time.Duration
	// MaxIdleConnsPerTarget is the keep-alive pool per target. Default 1024:
	// it must cover the concurrency per target, or the proxy churns
	// connections (reference/proxy-bench.md).
	MaxIdleConnsPerTarget int
	// OnDial, when set, is called as a connection to a target (ip:port)
	// begins, on both target paths, once a deregistration cut or the
	// client's leaving can reach the request making it (tests).
	OnDial func(addr string)
	// Dial connects to targets on both target paths; nil is a
	// net.Dialer's. In vpc mode it makes the socket inside the VPC, from
	// the load balancer's own address (package vpc).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DisableFastPath sends every request through httputil.ReverseProxy and
	// net/http.Transport instead of package upstream (tests, comparisons).
	DisableFastPath bool
	// DisableServerLoop leaves every client connection of a plain-HTTP
	// listener to net/http's server instead of the listener's own
	// connection loop (tests, comparisons).
	DisableServerLoop bool
}

// Proxy is the load balancer's data path: its listeners and the transport
// they share.
type Proxy struct {
	o         Options
	log       *slog.Logger
	transport atomic.Pointer[http.Transport] // transportOf
	// transportH2 speaks HTTP/2 to the targets of HTTP2 groups.
	transportH2 atomic.Pointer[http.Transport]
	rp          *httputil.ReverseProxy
	upstream    *upstream.Client
	records     *recordPump
	elbID       string
	pools       connPools
	stats       lbStats
	// handshakeSlots bound the TLS handshakes computing at once, for every
	// listener (handshake_slots.go).
	handshakeSlots handshakeSlots

	// attrs are the load balancer attributes now (attributes.go); attrMu
	// serialises their changes, and guards accessW (the one access log
	// writer, made when access logs are first enabled, closed at
	// Shutdown), logFile (the file it writes to, when the proxy opened
	// it) and accessKey (accessLogKey of its output).
	attrs     atomic.Pointer[attributes]
	attrMu    sync.Mutex
	accessW   *accesslog.Writer
	logFile   *os.File
	accessKey string

	// lmu guards listeners, which Reconfigure replaces.
	lmu       sync.Mutex
	listeners []*Listener

	mu         sync.Mutex
	forwarders map[*targetgroup.Group]*forwarder
	// unhook unregisters the forwarders' expiry hooks (Shutdown).
	unhook []func()

	// viaReverseProxy are the requests in flight on the ReverseProxy path,
	// with the cancel that cuts each (package upstream cuts its own).
	cutMu           sync.Mutex
	viaReverseProxy map[*exchange]*rpRequest
}

// Listener accepts client traffic on one address and routes it by its rules.
type Listener struct {
	p *Proxy
	// key identifies the listener's config across reloads (listenerKey).
	key      string
	protocol string // HTTP or HTTPS
	address  string
	// port is the port listened on, once bound (the configured one, or the
	// one the system chose for port 0).
	port string
	// hostName is the Host given to an HTTP/1.0 request that has none, as
	// the ALB gives its DNS name: the listener's host (and port, unless the
	// protocol's default).
	hostName   string
	xfProto    []string
	xfPort     []string
	accessType string

	table atomic.Pointer[table]

	cert        *tls.Certificate
	fingerprint string
	// tlsConfig is an HTTPS listener's, nil for HTTP.
	tlsConfig *tls.Config
	srv       *http.Server
	// httpHandlers is srv's Handler: the listener, with the requests it
	// is serving counted for shutdown.
	httpHandlers inflightHandlers
	ln           net.Listener
	// loop is the client-side connection loop of a plain-HTTP listener
	// (serverloop.go); nil when net/http serves every connection.
	loop *loopState
}

// Connection states, for graceful shutdown: an idle connection (waiting
// for a request, nothing buffered) may be closed at once; an active one
// finishes its request first.
const (
	connActive int32 = iota
	connIdle
	connClosed
)

// readBufSize is a connection's initial read buffer; heads up to h1.MaxHead
// grow it.
const readBufSize = 4 << 10

// connPools pool the per-connection buffers of the loop.
type connPools struct {
	read  sync.Pool // *[readBufSize]byte
	write sync.Pool // *bufio.Writer
}

// loopState is a listener's connection loop: its connections and the
// adapter handing connections over to net/http.
type loopState struct {
	handoff *handoffListener
	closing atomic.Bool
	mu      sync.Mutex
	conns   map[*clientConn]struct{}
	h2conns map[*h2Conn]struct{}
	// served counts connections the loop answered a request on (once per
	// connection: a counter every request touched would bounce its cache
	// line between cores), handedOff those given to net/http, h2 an HTTPS
	// listener's HTTP/2 connections (h2conn.go).
	served, handedOff, h2 atomic.Int64
}

// clientConn is one client connection served by the loop.
type clientConn struct {
	l  *Listener
	nc net.Conn
	io io.ReadWriter // nc's reads and writes (package rawio, or TLS over it)
	// peer is the TCP connection's raw reads and writes (under the TLS
	// side of an HTTPS connection); nil where package rawio cannot.
	peer *rawio.Conn
	// tlsState is an HTTPS connection's, nil for plain HTTP.
	tlsState *tls.ConnectionState
	state    atomic.Int32

	buf      []byte // buf[r:w] is read and not yet consumed
	r, w     int
	pooled   *[readBufSize]byte
	bw       *bufio.Writer
	deadline monotime.IdleDeadline
	// inHead: part of a request head is buffered, and the read deadline
	// is the one its first bytes set.
	inHead bool
	// servedAny: a request was answered (loopState.served counted it).
	servedAny bool
	// clock is the reference reading a request's start comes from
	// (see serveOne).
	clock monotime.Anchor
	// traceBuf holds the request's X-Amzn-Trace-Id (see keepsStrings).
	traceBuf [128]byte

	remoteAddr string
	clientIP   string
	// connTraceID is the connection's conn_trace_id in the access log.
	connTraceID string
	// waiting is when the request in c.ex started waiting for its target
	// (UnixNano), 0 when it is not: the sweeper checks such clients.
	waiting atomic.Int64
	client  netip.Addr
	ctx     context.Context
	cancel  context.CancelFunc

	head h1.Request
	req  http.Request
	url  url.URL
	body bodyReader
	resp response
	ex   exchange
}

// bodyReader is a request body of known length, read from the
// connection's buffer and then from the connection itself.
type bodyReader struct {
	c         *clientConn
	remaining int64
}

// handoffListener is the net.Listener the listener's http.Server serves:
// it accepts the connections the loop hands over.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

type response struct {
	c      *clientConn
	req    *http.Request
	header http.Header
	// fields is a target's header given by WriteHead, written after
	// anything in header; fieldBytes holds their copied strings.
	fields     []upstream.Field
	fieldBytes []byte

	status        int
	committed     bool
	chunked       bool
	noBody        bool  // HEAD, or a status without a body
	contentLength int64 // -1: not declared
	written       int64
	closeAfter    bool
	num           [32]byte // digits, and the Date
}

// exchange is one request's state. It is at once the request's context
// (so that ReverseProxy's Rewrite and the transport find it without a
// context.WithValue allocation) and the client's ResponseWriter (so that
// the status and the bytes sent are known).
type exchange struct {
	context.Context
	w http.ResponseWriter
	l *Listener

	start    time.Time
	clientIP string
	action   *action
	priority int

	fw     *forwarder
	member *targetgroup.Member
	// failedTarget is the target whose connection failed before the retry.
	failedTarget string
	sentAt       time.Time
	headersAt    time.Time
	targetStatus int

	status      int
	sent        int64
	redirectURL string

	traceHdr    [1]string
	xffHdr      [1]string
	connTraceID string
	// gate is the gated connection of an HTTP/1.x request net/http serves.
	gate *gatedConn
	// verdict is the request's judgement (gate.go); zero for HTTP/2.
	verdict verdict
	// bodyErr is the error reading the client's request body: a client
	// that stops sending it is its own failure (408), not the target's.
	bodyErr error

	// writeIdle, on net/http's paths (the loop's connections have their
	// own, package rawio): each Write renews the client connection's write
	// deadline to the idle timeout, so that a client that stops reading is
	// cut, as the ALB cuts a connection with no data sent or received.
	writeIdle     time.Duration
	writeDeadline monotime.IdleDeadline
	// attrs are the load balancer attributes the request began with: its
	// access log entry goes where they say (attributes.go).
	attrs *attributes
	// viaTransport: the request went through ReverseProxy and net/http's
	// Transport, whose goroutines may still read its body and context
	// after the handler returns (an HTTP/2 stream's record is then not
	// recycled).
	viaTransport bool
}

type gateState uint8

const (
	gateHead    gateState = iota // expecting a request head
	gateBody                     // remaining bytes of a Content-Length body
	gateChunked                  // inside a chunked body
	gateHold                     // after an upgrade request, until the handler decides
	gateTunnel                   // upgraded: bytes pass unchecked
	gateDone                     // nothing more is released: see Read
	gateBroken                   // invalid body framing: the stream breaks off
)

// gatedConn is a client connection read through the gate.
type gatedConn struct {
	net.Conn
	p           *Proxy
	connTraceID string
	// tlsState is an HTTPS connection's, which net/http cannot see through
	// the wrapper; the handler fills the request's TLS from it.
	tlsState *tls.ConnectionState

	// buf[r:w] is read from the client and not yet released; only the
	// reading goroutine (one at a time, as net/http reads) touches it.
	buf  []byte
	r, w int
	head h1.Request

	mu sync.Mutex
	// ready is released to net/http and not yet read by it.
	ready     []byte
	state     gateState
	remaining int64
	chunk     chunkScanner
	// closeAfter: the current request passes only on a closed connection.
	closeAfter bool
	afterHold  gateState
	verdicts   []verdict
}

// verdict is the judgement of one request head, shared by the loop and
// the gate.
type verdict struct {
	desync desync.Verdict
	action desync.Action
	// status, when not 0, is the load balancer's answer: the request is
	// not forwarded and the connection closes.
	status int
	// hold: the request asks for an upgrade; what follows it is the
	// upgraded protocol if the handler hijacks the connection, and the
	// next request otherwise.
	hold bool
	// noHost: an HTTP/1.0 request without Host (the listener's name is
	// filled in).
	noHost bool
	// The refused request, for the access log.
	method, target, proto, host string
}

type actionKind int

const (
	actionForward actionKind = iota
	actionRedirect
	actionFixedResponse
	// actionRefused: the load balancer answered the request itself before
	// routing it (desync mitigation, limits).
	actionRefused
)

// action is a compiled forward, redirect or fixed-response.
type action struct {
	kind actionKind
	// name is the access log's actions_executed value.
	name string

	// forward
	forwards    []*forwarder
	weights     []int
	totalWeight int
	// allPlain: every group forwarded to relays through package upstream,
	// so the connection loop can serve the request itself.
	allPlain bool

	// redirect
	redirect     config.RedirectAction
	redirectCode int

	// fixed-response
	status      int
	contentType []string
	body        []byte
	bodyLength  []string
}

// forwarder forwards to one target group from one listener.
type forwarder struct {
	group  *targetgroup.Group
	scheme string
	// plain: the targets speak plain HTTP, so the fast path (package
	// upstream) can relay.
	plain bool
	// http2: the group's protocol version is HTTP2 or GRPC: its targets
	// get HTTP/2 (transportH2).
	http2 bool
	// grpc: the group's protocol version is GRPC: it takes gRPC calls only.
	grpc bool
	arn  string
}

// Groups are the target groups of an environment by name.
type Groups map[string]*targetgroup.Group

// table is a listener's compiled rules; it is immutable once built.
type table struct {
	rules []rule // by ascending priority
	def   *action
}

type rule struct {
	priority   int
	conditions []condition // all must match
	action     *action
}

// condition reports whether a request matches; client is the connection's
// source address.
type condition func(r *http.Request, client netip.Addr) bool

// rpRequest is a ReverseProxy request in flight: its target (kept here,
// under cutMu, as the retry changes it) and the cancel that cuts it.
type rpRequest struct {
	member *targetgroup.Member
	cancel context.CancelFunc
}

// bufferSize is ReverseProxy's copy buffer size.
const bufferSize = 32 << 10

// bufferPool pools the response copy buffers as array pointers, so that
// neither Get nor Put allocates.
type bufferPool struct{ pool sync.Pool }

// Addr is the address listened on (host:port); before Start, the configured one.
func (l *Listener) Addr() string {
	if l.ln != nil {
		return l.ln.Addr().String()
	}
	return net.JoinHostPort(l.address, l.port)
}
