package monitor

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

// BenchmarkRecordRequest records from 8 goroutines per GOMAXPROCS into 4
// instances, as the proxy does, while nothing else runs.
func BenchmarkRecordRequest(b *testing.B) {
	m := New(Options{Rules: config.DefaultEnhancedHealth, Processes: &fakeProcs{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ids := []string{"i-1", "i-2", "i-3", "i-4"}
	for _, id := range ids {
		m.AddInstance(id, time.Now(), nil)
	}
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.RecordRequest(ids[i&3], 200, time.Duration(i&1023)*time.Millisecond)
			i++
		}
	})
}

// BenchmarkEvaluate is one 10 s evaluation of 16 instances with traffic.
func BenchmarkEvaluate(b *testing.B) {
	c := &clock{t: t0}
	m := New(Options{Rules: config.DefaultEnhancedHealth, Now: c.now, Processes: &fakeProcs{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for i := 0; i < 16; i++ {
		m.AddInstance(string(rune('a'+i)), t0, nil)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < 16; i++ {
			m.RecordRequest(string(rune('a'+i)), 200, time.Millisecond)
		}
		m.Evaluate(c.tick())
	}
}
