package environment

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/autoscale"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/elbow-lb/elbow/internal/proxy"
)

// BenchmarkRecorders is what `elbow up` does with each proxied response
// off the request path: the monitor's window, the console's series and
// the scaling figures, fed 640 records (about 10 ms of 60,000 requests/s,
// the proxy's gathering interval) in 16 batches of 40, one per buffer of
// the proxy's pump, alternating two targets as round robin does.
func BenchmarkRecorders(b *testing.B) {
	m := monitor.New(monitor.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	targets := []healthcheck.Target{{ID: "i-0a1b2c3d4e5f60718", IP: "127.0.0.2", Port: 8000}, {ID: "i-0f1e2d3c4b5a69788", IP: "127.0.0.3", Port: 8000}}
	for _, t := range targets {
		m.AddInstance(t.ID, time.Now(), nil)
	}
	rec := recorders{monitorRecorder{m}, console.New(console.Options{}), figuresRecorder{autoscale.NewFigures()}}
	batch := make([]proxy.ResponseRecord, 640)
	for i := range batch {
		batch[i] = proxy.ResponseRecord{Time: time.Now(), LoadBalancer: "app/web/0123456789abcdef", Group: "web",
			Target: targets[i%2], StatusCode: 200, TargetStatusCode: 200,
			Latency: time.Duration(300+i) * time.Microsecond, TargetLatency: time.Duration(250+i) * time.Microsecond,
			ReceivedBytes: 120, SentBytes: 240}
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < len(batch); i += 40 {
			rec.RecordResponses(batch[i : i+40])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
}
