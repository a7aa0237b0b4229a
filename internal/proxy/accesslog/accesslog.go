// Package accesslog owns the load balancer's access log: one line per
// request in the ALB access-log format, field for field
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html), written by one goroutine so that the
// request path only hands over an Entry and never waits on the disk.
// Health checks never reach it: only the proxy writes entries.
package accesslog

import (
	"bufio"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Entry is one request. Zero values render as the ALB renders absent
// values: "-" for strings, -1 for times, "-" for a target status code.
type Entry struct {
	// Type is http, https or h2.
	Type string
	// Time is when the load balancer sent the last byte of the response.
	Time time.Time
	// ELB is the load balancer's resource id, app/<name>/<id>.
	ELB string
	// Client is ip:port of the client.
	Client string
	// Target is ip:port of the target that answered; "" when none did.
	Target string
	// RequestProcessing, TargetProcessing and ResponseProcessing are negative
	// when the request was not dispatched to a target (logged as -1).
	RequestProcessing, TargetProcessing, ResponseProcessing time.Duration
	ELBStatusCode                                           int
	// TargetStatusCode is 0 when the target sent no response.
	TargetStatusCode int
	ReceivedBytes    int64
	SentBytes        int64
	// Request is "METHOD scheme://host:port/uri PROTO".
	Method, URL, Proto string
	UserAgent          string
	SSLCipher          string
	SSLProtocol        string
	TargetGroupARN     string
	TraceID            string
	DomainName         string
	ChosenCertARN      string
	// MatchedRulePriority is 0 for the default action.
	MatchedRulePriority int
	RequestCreation     time.Time
	ActionsExecuted     string
	RedirectURL         string
	ErrorReason         string
	// TargetList and TargetStatusList hold every target tried, in order,
	// space-separated, as the ALB's target:port_list.
	TargetList       string
	TargetStatusList string
	// Classification and ClassificationReason are the request's desync
	// classification ("Acceptable", "Ambiguous", "Severe") and its reason
	// ("BothTeClPresent"); both "" for a compliant request (logged "-").
	Classification, ClassificationReason string
	ConnTraceID                          string
}

const timeLayout = "2006-01-02T15:04:05.000000Z"

// AppendLine appends e as one access-log line, newline included.
func AppendLine(b []byte, e *Entry) []byte {
	b = append(b, e.Type...)
	b = append(b, ' ')
	b = e.Time.UTC().AppendFormat(b, timeLayout)
	b = append(b, ' ')
	b = appendDash(b, e.ELB)
	b = append(b, ' ')
	b = appendDash(b, e.Client)
	b = append(b, ' ')
	b = appendDash(b, e.Target)
	b = append(b, ' ')
	b = appendSeconds(b, e.RequestProcessing)
	b = append(b, ' ')
	b = appendSeconds(b, e.TargetProcessing)
	b = append(b, ' ')
	b = appendSeconds(b, e.ResponseProcessing)
	b = append(b, ' ')
	b = appendCode(b, e.ELBStatusCode)
	b = append(b, ' ')
	b = appendCode(b, e.TargetStatusCode)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.ReceivedBytes, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.SentBytes, 10)
	b = append(b, ' ', '"')
	b = appendEscaped(b, e.Method)
	b = append(b, ' ')
	b = appendEscaped(b, e.URL)
	b = append(b, ' ')
	b = appendEscaped(b, e.Proto)
	b = append(b, '"', ' ')
	b = appendQuoted(b, e.UserAgent)
	b = append(b, ' ')
	b = appendDash(b, e.SSLCipher)
	b = append(b, ' ')
	b = appendDash(b, e.SSLProtocol)
	b = append(b, ' ')
	b = appendDash(b, e.TargetGroupARN)
	b = append(b, ' ')
	b = appendQuoted(b, e.TraceID)
	b = append(b, ' ')
	b = appendQuoted(b, e.DomainName)
	b = append(b, ' ')
	b = appendQuoted(b, e.ChosenCertARN)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(e.MatchedRulePriority), 10)
	b = append(b, ' ')
	b = e.RequestCreation.UTC().AppendFormat(b, timeLayout)
	b = append(b, ' ')
	b = appendQuoted(b, e.ActionsExecuted)
	b = append(b, ' ')
	b = appendQuoted(b, e.RedirectURL)
	b = append(b, ' ')
	b = appendQuoted(b, e.ErrorReason)
	b = append(b, ' ')
	b = appendQuoted(b, e.TargetList)
	b = append(b, ' ')
	b = appendQuoted(b, e.TargetStatusList)
	b = append(b, ' ')
	b = appendQuoted(b, e.Classification)
	b = append(b, ' ')
	b = appendQuoted(b, e.ClassificationReason)
	b = append(b, ' ')
	b = appendDash(b, e.ConnTraceID)
	// transformed_host, transformed_uri, request_transform_status: no transforms.
	b = append(b, ` "-" "-" "-"`...)
	return append(b, '\n')
}

func appendDash(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendEscaped(b, s)
}

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	if s == "" {
		b = append(b, '-')
	} else {
		b = appendEscaped(b, s)
	}
	return append(b, '"')
}

// appendEscaped keeps a field within its quotes and on its line.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendSeconds(b []byte, d time.Duration) []byte {
	if d < 0 {
		return append(b, '-', '1')
	}
	return strconv.AppendFloat(b, d.Seconds(), 'f', 3, 64)
}

func appendCode(b []byte, code int) []byte {
	if code <= 0 {
		return append(b, '-')
	}
	return strconv.AppendInt(b, int64(code), 10)
}

// Writer writes entries from one goroutine. Log never blocks: when the
// queue is full the entry is dropped and counted, and after Close it is
// dropped.
type Writer struct {
	// mu orders Log's send before Close's close of the queue (a send on a
	// closed channel panics); closed is set under it.
	mu      sync.RWMutex
	closed  bool
	queue   chan Entry
	swap    chan swapOutput
	done    chan struct{}
	dropped atomic.Int64
	close   sync.Once
}

// swapOutput asks the writing goroutine to write to out from now on.
type swapOutput struct {
	out  io.Writer
	done chan struct{}
}

// QueueLength bounds the entries waiting to be written.
const QueueLength = 8192

// NewWriter starts writing to w. Close flushes and stops it.
func NewWriter(w io.Writer) *Writer {
	lw := &Writer{queue: make(chan Entry, QueueLength), swap: make(chan swapOutput), done: make(chan struct{})}
	go lw.run(w)
	return lw
}

// Log queues e.
func (w *Writer) Log(e *Entry) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		return
	}
	select {
	case w.queue <- *e:
	default:
		w.dropped.Add(1)
	}
}

// Dropped is the number of entries dropped because the writer fell behind.
func (w *Writer) Dropped() int64 { return w.dropped.Load() }

// Close writes what is queued and stops; entries logged after it are
// dropped.
func (w *Writer) Close() {
	w.close.Do(func() {
		w.mu.Lock()
		w.closed = true
		close(w.queue)
		w.mu.Unlock()
	})
	<-w.done
}

// SetOutput makes the writer write to out (nil: nowhere) from now on: the
// entries queued before the call are written to the output they were
// queued for and flushed first, so that the caller may close that output
// once SetOutput returns. It returns false when the writer is closed.
func (w *Writer) SetOutput(out io.Writer) bool {
	if out == nil {
		out = io.Discard
	}
	s := swapOutput{out: out, done: make(chan struct{})}
	select {
	case w.swap <- s:
		<-s.done
		return true
	case <-w.done:
		return false
	}
}

func (w *Writer) run(out io.Writer) {
	defer close(w.done)
	bw := bufio.NewWriterSize(out, 64<<10)
	var line []byte
	for {
		select {
		case e, ok := <-w.queue:
			if !ok {
				_ = bw.Flush()
				return
			}
			line = AppendLine(line[:0], &e)
			_, _ = bw.Write(line)
			if len(w.queue) == 0 {
				// Flush when idle, so that a tail -f sees each request at
				// once and a burst is written in few syscalls.
				_ = bw.Flush()
			}
		case s := <-w.swap:
			for n := len(w.queue); n > 0; n-- {
				e, ok := <-w.queue
				if !ok {
					break
				}
				line = AppendLine(line[:0], &e)
				_, _ = bw.Write(line)
			}
			_ = bw.Flush()
			bw.Reset(s.out)
			close(s.done)
		}
	}
}
