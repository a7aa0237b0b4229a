package imds

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Header names of IMDSv2 (reference 1.1). Go canonicalises them on the wire;
// clients match them case-insensitively.
const (
	TokenHeader    = "X-aws-ec2-metadata-token"
	TokenTTLHeader = "X-aws-ec2-metadata-token-ttl-seconds"
)

// TokenPath is the only path that issues tokens (reference 1.1).
const TokenPath = "/latest/api/token"

// Token TTL bounds: "a minimum of one second and a maximum of six hours"
// (reference 1.1).
const (
	MinTokenTTL = 1
	MaxTokenTTL = 21600
)

// Options configure a Server. The zero value serves IMDSv1 and IMDSv2, as
// EC2 does by default (reference 1.1).
type Options struct {
	// TokensRequired is EC2's HttpTokens=required: a metadata request with
	// no token gets 401, as one with an invalid or expired token does.
	TokensRequired bool
	// Now is the clock tokens expire by; time.Now when nil.
	Now func() time.Time
	// Logger receives one debug line per request (never a token) and a
	// warning when a token request is refused for X-Forwarded-For. Discards
	// when nil.
	Logger *slog.Logger
	// IdleTimeout closes a keep-alive connection that carries no request
	// for this long; DefaultIdleTimeout when zero. Tests shorten it.
	IdleTimeout time.Duration
	// ReadHeaderTimeout closes a connection whose request headers have not
	// all arrived this long after the request began;
	// DefaultReadHeaderTimeout when zero.
	ReadHeaderTimeout time.Duration
}

// Connection timeouts of the http.Server that HTTPServer returns. EC2
// documents none for IMDS; these follow its clients. The AWS SDK for Go v2
// dials IMDS with a 250 ms timeout and waits 500 ms for response headers
// (aws-sdk-go-v2, feature/ec2/imds/api_client.go: defaultDialerTimeout and
// defaultResponseHeaderTimeout); botocore waits 1 s
// (AWS_METADATA_SERVICE_TIMEOUT, default 1,
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-ec2-instance-metadata.html).
// A client sends a request's headers in one write as soon as it has the
// connection, so 2 s (twice the longest SDK wait) only cuts one that has
// already given up. An SDK's calls come in bursts (token PUT, then GETs,
// milliseconds apart) hours apart (tokens last up to six hours, credentials
// are cached until they near expiry), so 5 s of idleness keeps a burst on
// one connection and frees the socket and goroutine soon after. Clients
// cope with a server closing idle connections: Go's Transport notices the
// close while the connection sits idle and dials anew; urllib3 (botocore)
// checks a pooled connection before reusing it.
const (
	DefaultIdleTimeout       = 5 * time.Second
	DefaultReadHeaderTimeout = 2 * time.Second
	// A request body is never read (IMDS takes none) but net/http reads
	// up to 256 KiB of one to keep the connection; bound that read and
	// the tiny responses' writes too, so no phase of a connection is
	// without a deadline.
	bodyReadTimeout = 5 * time.Second
	writeTimeout    = 5 * time.Second
)

// Server is the metadata service of one instance. It is an http.Handler,
// safe for concurrent use; serve it on a listener of your choice.
type Server struct {
	inst     Instance
	required bool
	log      *slog.Logger
	tree     *node
	tokens   *tokenSigner
	now      func() time.Time

	idleTimeout, readHeaderTimeout time.Duration

	// created, the counters and last make Requests' Activity: the
	// diagnosis reads them to tell an app that never asked its metadata
	// service (code hard-coding http://169.254.169.254 under the loopback
	// network) from one that asked and misread the answer.
	created                      time.Time
	requests, tokenReqs, refused atomic.Int64
	last                         atomic.Pointer[time.Time]
}

// Activity is what a Server has answered since it was created. elbow
// creates one Server per instance launch, so "since created" is "since the
// instance launched".
// Field names are the JSON the diagnosis's evidence carries.
type Activity struct {
	// Since is when the Server was created, by its clock.
	Since time.Time `json:"Since"`
	// Requests counts every request answered: metadata GETs and HEADs
	// (IMDSv1 and IMDSv2 alike) and token PUTs, refused ones included.
	Requests int64 `json:"Requests"`
	// TokenRequests counts the requests to the token path (IMDSv2 sessions
	// begun), refused ones included.
	TokenRequests int64 `json:"TokenRequests"`
	// Refused counts the requests answered with an error status: 401 for a
	// missing (tokens required) or invalid token, 400, 403, 404, 405.
	Refused int64 `json:"Refused"`
	// Last is when the latest request was answered; zero when none was.
	Last time.Time `json:"Last,omitzero"`
}

var _ http.Handler = (*Server)(nil)

// New returns the metadata service of inst. It fails if a field the service
// serves is empty or the private IP does not parse.
func New(inst Instance, o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.IdleTimeout < 0 {
		return nil, fmt.Errorf("instance %q: metadata service IdleTimeout %v: must be positive, or zero for %v", inst.InstanceID, o.IdleTimeout, DefaultIdleTimeout)
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.ReadHeaderTimeout < 0 {
		return nil, fmt.Errorf("instance %q: metadata service ReadHeaderTimeout %v: must be positive, or zero for %v", inst.InstanceID, o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	}
	if o.ReadHeaderTimeout == 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if err := inst.validate(); err != nil {
		return nil, err
	}
	if inst.LaunchTime.IsZero() {
		inst.LaunchTime = o.Now()
	}
	tree, err := buildTree(inst)
	if err != nil {
		return nil, err
	}
	return &Server{
		inst:     inst,
		required: o.TokensRequired,
		log:      o.Logger.With("instance", inst.InstanceID),
		tree:     tree,
		tokens:   newTokenSigner(o.Now),
		now:      o.Now,

		idleTimeout:       o.IdleTimeout,
		readHeaderTimeout: o.ReadHeaderTimeout,
		created:           o.Now(),
	}, nil
}

// Requests returns what s has answered since it was created. The counts are
// read one after another, so a request answered meanwhile may show in some
// and not yet in others.
func (s *Server) Requests() Activity {
	a := Activity{
		Since:         s.created,
		Requests:      s.requests.Load(),
		TokenRequests: s.tokenReqs.Load(),
		Refused:       s.refused.Load(),
	}
	if last := s.last.Load(); last != nil {
		a.Last = *last
	}
	return a
}

// HTTPServer returns an http.Server that serves s with the metadata
// service's connection timeouts (Options.IdleTimeout and
// Options.ReadHeaderTimeout); the caller runs it on its listener and
// closes it. A bare http.Server would keep an idle keep-alive connection
// open forever.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.readHeaderTimeout,
		ReadTimeout:       s.readHeaderTimeout + bodyReadTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       s.idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// Instance returns the facts the server serves, LaunchTime filled in.
func (s *Server) Instance() Instance { return s.inst }

// ServeHTTP answers one metadata request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Counted once answered, so that Last is the latest answer's time.
	defer s.count()
	if isTokenPath(r.URL.Path) {
		s.tokenReqs.Add(1)
		s.serveToken(w, r)
		return
	}
	s.serveMetadata(w, r)
}

func (s *Server) count() {
	now := s.now()
	s.last.Store(&now)
	s.requests.Add(1)
}

// isTokenPath reports whether path is /<version>/api/token for any version;
// serveToken refuses all but /latest.
func isTokenPath(path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	return len(parts) == 3 && parts[1] == "api" && parts[2] == "token"
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		// EC2 answers other methods on the token path with 405; the SDKs
		// take 403, 404 and 405 as "no IMDSv2 here" and fall back to v1
		// (reference 1.1, SDK fallback).
		w.Header().Set("Allow", http.MethodPut)
		s.fail(w, r, http.StatusMethodNotAllowed, "token path takes only PUT")
		return
	}
	if strings.TrimSuffix(r.URL.Path, "/") != TokenPath {
		// "A PUT to a versioned path such as /2021-03-23/api/token returns
		// 403 Forbidden by design" (reference 1.1).
		s.fail(w, r, http.StatusForbidden, "token path must be "+TokenPath)
		return
	}
	if _, ok := r.Header["X-Forwarded-For"]; ok {
		// "PUT requests are rejected if they contain an X-Forwarded-For
		// header" (reference 1.1), so a token never leaves the instance
		// through a reverse proxy. AWS does not document the code; 403 is
		// "the request is not allowed" in its list and what proxies in
		// front of IMDS have met (kube2iam PR #279).
		s.log.Warn("imds refused a token request carrying X-Forwarded-For: a proxy forwarded it; EC2 refuses it too",
			"remote", r.RemoteAddr)
		s.fail(w, r, http.StatusForbidden, "token request carries X-Forwarded-For")
		return
	}
	ttl, ok := parseTTL(r.Header.Get(TokenTTLHeader))
	if !ok {
		// Missing or out of range: 400 "Missing or Invalid Parameters"
		// (reference 1.1); botocore raises BadIMDSRequestError on it.
		s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("%s must be an integer from %d to %d", TokenTTLHeader, MinTokenTTL, MaxTokenTTL))
		return
	}
	token := s.tokens.issue(time.Duration(ttl) * time.Second)
	// EC2 echoes the TTL; the Go SDK v2 reads it to know when to renew and
	// fails the token call without it.
	w.Header().Set(TokenTTLHeader, strconv.Itoa(ttl))
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(token))
	s.log.Debug("imds token issued", "ttl_seconds", ttl, "remote", r.RemoteAddr)
}

// parseTTL accepts decimal digits only, within [MinTokenTTL, MaxTokenTTL].
func parseTTL(v string) (int, bool) {
	if v == "" || len(v) > 5 {
		return 0, false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	ttl, err := strconv.Atoi(v)
	if err != nil || ttl < MinTokenTTL || ttl > MaxTokenTTL {
		return 0, false
	}
	return ttl, true
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// GET and HEAD are the methods of metadata requests (reference 1.1).
		w.Header().Set("Allow", "GET, HEAD")
		s.fail(w, r, http.StatusMethodNotAllowed, "metadata takes GET or HEAD")
		return
	}
	version := "v1"
	if values, ok := r.Header[http.CanonicalHeaderKey(TokenHeader)]; ok {
		version = "v2"
		if len(values) != 1 || !s.tokens.valid(values[0]) {
			// 401: "the GET carries an invalid token", expired included
			// (reference 1.1).
			s.fail(w, r, http.StatusUnauthorized, "token invalid or expired")
			return
		}
		if _, ok := r.Header["X-Forwarded-For"]; ok {
			// Token-carrying requests forwarded by a proxy are refused as
			// well: kube2iam met 403s on GETs with a token and
			// X-Forwarded-For after fixing its PUTs (kube2iam PR #279).
			s.fail(w, r, http.StatusForbidden, "token request carries X-Forwarded-For")
			return
		}
	} else if s.required {
		// HttpTokens=required: "a request with no token ... gets 401"
		// (reference 1.1).
		s.fail(w, r, http.StatusUnauthorized, "tokens required and none given")
		return
	}

	n := s.lookup(r.URL.Path)
	if n == nil {
		s.fail(w, r, http.StatusNotFound, "no such metadata")
		return
	}
	body := n.value
	if n.isDir() {
		body = n.listing()
	}
	// "All metadata is text/plain" (reference 1.1), the identity document
	// included.
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
	s.log.Debug("imds request", "method", r.Method, "path", r.URL.Path, "status", http.StatusOK, "imds_version", version)
}

// lookup resolves a URL path in the tree. A trailing slash is optional,
// on categories and leaves alike, as in AEMM's trailingSlashMiddleware
// (reference 2.3): /latest/meta-data and /latest/meta-data/ both list.
// Empty segments (a//b) are not paths EC2 serves: nil, so 404.
func (s *Server) lookup(path string) *node {
	path = strings.TrimPrefix(path, "/")
	path = strings.TrimSuffix(path, "/")
	if path == "" {
		return s.tree
	}
	segments := strings.Split(path, "/")
	for _, seg := range segments {
		if seg == "" {
			return nil
		}
	}
	return s.tree.lookup(segments)
}

// errorPage is the XHTML page EC2 and AEMM send with an error status
// ("<title>404 - Not Found</title>", reference 2.3).
const errorPage = `<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
	"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>%[1]d - %[2]s</title>
 </head>
 <body>
  <h1>%[1]d - %[2]s</h1>
 </body>
</html>
`

// fail answers with status and EC2's error page; why goes to the log only,
// as EC2 says no more than the status.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, why string) {
	s.refused.Add(1)
	body := fmt.Sprintf(errorPage, status, http.StatusText(status))
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
	s.log.Debug("imds request refused", "method", r.Method, "path", r.URL.Path, "status", status, "why", why)
}
