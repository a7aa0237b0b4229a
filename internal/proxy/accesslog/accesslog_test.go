package accesslog

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestAppendLineALBExample(t *testing.T) {
	// The ALB user guide's example entry ("Access logs for your Application Load Balancer"), with elbow's
	// trailing fields: classification, classification_reason,
	// conn_trace_id and the three transform fields.
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	e := Entry{
		Type: "http", Time: at("2018-07-02T22:23:00.186641Z"), ELB: "app/my-loadbalancer/50dc6c495c0c9188",
		Client: "192.168.131.39:2817", Target: "10.0.0.1:80",
		RequestProcessing: 0, TargetProcessing: time.Millisecond, ResponseProcessing: 0,
		ELBStatusCode: 200, TargetStatusCode: 200, ReceivedBytes: 34, SentBytes: 366,
		Method: "GET", URL: "http://www.example.com:80/", Proto: "HTTP/1.1", UserAgent: "curl/7.46.0",
		TargetGroupARN: "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067",
		TraceID:        "Root=1-58337262-36d228ad5d99923122bbe354", RequestCreation: at("2018-07-02T22:22:48.364Z"),
		ActionsExecuted: "forward", TargetList: "10.0.0.1:80", TargetStatusList: "200",
	}
	want := `http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" - "-" "-" "-"` + "\n"
	if got := string(AppendLine(nil, &e)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAppendLineAbsentAndEscaped(t *testing.T) {
	e := Entry{Type: "https", RequestProcessing: -1, TargetProcessing: -1, ResponseProcessing: -1,
		ELBStatusCode: 503, Method: "GET", URL: "/", Proto: "HTTP/1.1", UserAgent: "a \"b\"\n"}
	got := string(AppendLine(nil, &e))
	for _, part := range []string{" - -1 -1 -1 503 - 0 0 ", `"a \"b\"\x0a"`} {
		if !bytes.Contains([]byte(got), []byte(part)) {
			t.Errorf("%q lacks %q", got, part)
		}
	}
}

func TestWriterNeverBlocks(t *testing.T) {
	block := make(chan struct{})
	w := NewWriter(writerFunc(func(p []byte) (int, error) { <-block; return len(p), nil }))
	e := &Entry{Type: "http"}
	for range 2 * QueueLength { // the writer goroutine buffers some before it blocks
		w.Log(e)
	}
	if w.Dropped() == 0 {
		t.Fatal("a stuck writer dropped nothing: Log must have queued beyond its bound")
	}
	close(block)
	w.Close()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// An access log switched to another file (the attribute
// access_logs.s3.enabled or its path changed live) writes what was queued
// before the switch to the old output, flushed, and later entries to the
// new one only.
func TestWriterSetOutputSwitchesAfterQueued(t *testing.T) {
	var before, after bytes.Buffer
	w := NewWriter(&before)
	w.Log(&Entry{Type: "http", Method: "GET", URL: "http://a:80/old"})
	if !w.SetOutput(&after) {
		t.Fatal("SetOutput on an open writer returned false")
	}
	// SetOutput returned: the old output has all it will get.
	old := before.String()
	w.Log(&Entry{Type: "http", Method: "GET", URL: "http://a:80/new"})
	w.SetOutput(nil) // disabled: nowhere
	w.Log(&Entry{Type: "http", Method: "GET", URL: "http://a:80/dropped"})
	w.Close()
	if !strings.Contains(old, "/old") || strings.Contains(old, "/new") {
		t.Errorf("old output = %q, want the entry queued before the switch only", old)
	}
	if got := after.String(); !strings.Contains(got, "/new") || strings.Contains(got, "/old") || strings.Contains(got, "/dropped") {
		t.Errorf("new output = %q, want the entry logged after the switch only", got)
	}
	if before.String() != old {
		t.Errorf("the old output was written after SetOutput returned: %q", before.String())
	}
	if w.SetOutput(&after) {
		t.Error("SetOutput on a closed writer returned true")
	}
}
