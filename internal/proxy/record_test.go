package proxy

import (
	"sync"
	"testing"
	"time"
)

// countingRecorder counts records; block, when set, holds the pump inside
// RecordResponses until it is closed.
type countingRecorder struct {
	mu    sync.Mutex
	n     int
	codes map[int]int
	block chan struct{}
}

func (r *countingRecorder) RecordResponses(recs []ResponseRecord) {
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	for _, rec := range recs {
		r.n++
		if r.codes == nil {
			r.codes = map[int]int{}
		}
		r.codes[rec.StatusCode]++
	}
	r.mu.Unlock()
}

func (r *countingRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// TestRecordPumpDeliversEveryRecord: records sent from many goroutines
// at once all reach the recorder, each once; an idle pump wakes for the
// next record; close records what is still queued.
func TestRecordPumpDeliversEveryRecord(t *testing.T) {
	rec := &countingRecorder{}
	p := newRecordPump(rec)
	const senders, each = 8, 300
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				// Each request its own key, as each its own exchange.
				p.send(uintptr(g*each+i), &ResponseRecord{StatusCode: 200 + g})
				if i%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	eventually(t, 2*time.Second, func() bool { return rec.count() == senders*each }, "every record")
	for g := range senders {
		if got := rec.codes[200+g]; got != each {
			t.Fatalf("sender %d: %d records; want %d", g, got, each)
		}
	}
	// Idle now (the pump waits for a token): one more record still arrives.
	time.Sleep(3 * recordGather)
	p.send(1, &ResponseRecord{StatusCode: 299})
	eventually(t, 2*time.Second, func() bool { return rec.count() == senders*each+1 }, "the record after an idle time")
	// Queued when close comes: recorded before close returns.
	for i := range 10 {
		p.send(uintptr(i), &ResponseRecord{StatusCode: 298})
	}
	p.close()
	if got := rec.count(); got != senders*each+11 {
		t.Fatalf("%d records after close; want %d", got, senders*each+11)
	}
	if d := p.dropped.Load(); d != 0 {
		t.Fatalf("%d records dropped; want none", d)
	}
}

// TestRecordPumpDropsWhenTheRecorderFallsBehind: a recorder that does not
// keep up never blocks a sender; the records past the buffers are dropped
// and counted.
func TestRecordPumpDropsWhenTheRecorderFallsBehind(t *testing.T) {
	rec := &countingRecorder{block: make(chan struct{})}
	p := newRecordPump(rec)
	total := 3 * recordQueueLength
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range total {
			p.send(uintptr(i), &ResponseRecord{StatusCode: 200})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a sender blocked behind a recorder that does not keep up")
	}
	// The buffers hold recordQueueLength; the pump, stuck in a batch it
	// took, as many again at most.
	if d := p.dropped.Load(); d < int64(total-2*recordQueueLength) {
		t.Fatalf("%d records dropped; want at least %d past the buffers", d, total-2*recordQueueLength)
	}
	close(rec.block)
	p.close()
	if got, d := rec.count(), int(p.dropped.Load()); got+d != total {
		t.Fatalf("%d recorded + %d dropped; want %d in all", got, d, total)
	}
}

// TestRecordPumpRecordsAtOnceAfterIdle: the first record after an idle
// time is recorded when the pump wakes, not an interval later (the
// console shows a lone request at once); the next ones gather for the
// interval, here an hour, and close records them.
func TestRecordPumpRecordsAtOnceAfterIdle(t *testing.T) {
	rec := &countingRecorder{}
	p := startRecordPump(rec, time.Hour)
	p.send(1, &ResponseRecord{StatusCode: 200})
	eventually(t, 2*time.Second, func() bool { return rec.count() == 1 }, "the first record, at once")
	p.send(2, &ResponseRecord{StatusCode: 200})
	time.Sleep(50 * time.Millisecond)
	if got := rec.count(); got != 1 {
		t.Fatalf("%d records during the interval; want the second to wait for it", got)
	}
	p.close()
	if got := rec.count(); got != 2 {
		t.Fatalf("%d records after close; want 2", got)
	}
}
