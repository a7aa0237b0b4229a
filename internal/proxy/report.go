package proxy

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/elbow-lb/elbow/internal/proxy/accesslog"
	"github.com/elbow-lb/elbow/internal/proxy/desync"
	"github.com/elbow-lb/elbow/internal/proxy/monotime"
)

// keepsStrings reports whether the strings of a request that begins with
// attributes a outlive it: the access log writes its entries later, on its
// own goroutine. Without it the connection loop lets a request's strings
// share the bytes of its connection's buffers instead of copying them; the
// request's access log entry is decided by the same a (exchange.attrs).
func (a *attributes) keepsStrings() bool { return a.access != nil }

// finish hands the response to the recorder and the access log.
func (l *Listener) finish(ex *exchange, r *http.Request) {
	p := l.p
	size := requestSize(r)
	p.stats.processedBytes.Add(size + ex.sent)
	access := ex.attrs.access
	if p.records == nil && access == nil {
		return
	}
	end := monotime.Now(ex.start)
	if p.records != nil && ex.fw != nil {
		rec := ResponseRecord{Time: end, LoadBalancer: p.elbID, Group: ex.fw.group.Name(), StatusCode: ex.status,
			TargetStatusCode: ex.targetStatus, Latency: end.Sub(ex.start),
			ReceivedBytes: size, SentBytes: ex.sent}
		if ex.member != nil {
			rec.Target = ex.member.Target()
		}
		if ex.targetStatus != 0 {
			rec.TargetLatency = ex.headersAt.Sub(ex.sentAt)
		}
		p.records.send(uintptr(unsafe.Pointer(ex)), &rec)
	}
	if access != nil {
		access.Log(l.accessEntry(ex, r, end, size))
	}
}

func (l *Listener) accessEntry(ex *exchange, r *http.Request, end time.Time, size int64) *accesslog.Entry {
	e := &accesslog.Entry{
		Type: l.accessType, Time: end, ELB: l.p.elbID, Client: r.RemoteAddr,
		RequestProcessing: -1, TargetProcessing: -1, ResponseProcessing: -1,
		ELBStatusCode: ex.status, TargetStatusCode: ex.targetStatus,
		ReceivedBytes: size, SentBytes: ex.sent,
		Method: r.Method, URL: l.accessURL(r), Proto: r.Proto,
		UserAgent: r.UserAgent(), TraceID: ex.traceHdr[0],
		MatchedRulePriority: ex.priority, RequestCreation: ex.start,
		ActionsExecuted: ex.action.name, RedirectURL: ex.redirectURL, ConnTraceID: ex.connTraceID,
	}
	if ex.verdict.desync.Class != desync.Compliant {
		e.Classification, e.ClassificationReason = ex.verdict.desync.LogFields()
	}
	if r.Method == "" {
		// Refused before a request line could be read.
		e.Method, e.URL, e.Proto = "-", "-", "-"
	}
	if r.ProtoMajor == 2 {
		// "h2 — HTTP/2 over TLS", "grpcs — gRPC over TLS" (ALB access
		// logs, https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html).
		e.Type = "h2"
		if isGRPCRequest(r) {
			e.Type = "grpcs"
		}
	}
	if r.TLS != nil {
		e.SSLProtocol = tlsVersionName(r.TLS.Version)
		e.SSLCipher = tlsCipherName(r.TLS.CipherSuite)
		e.DomainName = r.TLS.ServerName
	}
	if ex.fw != nil {
		e.TargetGroupARN = ex.fw.arn
	}
	switch {
	case ex.targetStatus != 0:
		e.Target = ex.member.Addr()
		e.RequestProcessing = ex.sentAt.Sub(ex.start)
		e.TargetProcessing = ex.headersAt.Sub(ex.sentAt)
		e.ResponseProcessing = end.Sub(ex.headersAt)
	case ex.member != nil:
		// Dispatched, no response: the target is logged, times are -1.
		e.Target = ex.member.Addr()
	case ex.fw == nil:
		// Redirects and fixed responses are answered by the load balancer itself.
		e.RequestProcessing, e.TargetProcessing, e.ResponseProcessing = end.Sub(ex.start), 0, 0
	}
	targets, codes := e.Target, "-"
	if ex.targetStatus != 0 {
		codes = strconv.Itoa(ex.targetStatus)
	}
	if ex.failedTarget != "" {
		targets = ex.failedTarget + " " + targets
		codes = "- " + codes
	}
	e.TargetList, e.TargetStatusList = targets, codes
	if e.TargetList == "" {
		e.TargetStatusList = ""
	}
	return e
}

func (l *Listener) accessURL(r *http.Request) string {
	scheme := "http://"
	if l.protocol == "HTTPS" {
		scheme = "https://"
	}
	return scheme + strings.ToLower(hostOnly(r.Host)) + ":" + l.port + r.RequestURI
}

// requestSize estimates the bytes the client sent: request line, headers, body.
func requestSize(r *http.Request) int64 {
	n := int64(len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len("Host: \r\n") + len(r.Host) + 2)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	if r.ContentLength > 0 {
		n += r.ContentLength
	}
	return n
}
