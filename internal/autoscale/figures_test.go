package autoscale

import (
	"sync"
	"testing"
	"time"
)

// TestRecordRequestAllocatesNothing: the record path sits on the proxy's
// hot path.
func TestRecordRequestAllocatesNothing(t *testing.T) {
	fig := NewFigures()
	id := "i-0123456789abcdef0"
	fig.RecordRequest(id, 1, 1, time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() { fig.RecordRequest(id, 100, 2000, 3*time.Millisecond) }); n != 0 {
		t.Errorf("RecordRequest allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(1000, func() { fig.SetCPU(id, 12.5) }); n != 0 {
		t.Errorf("SetCPU allocates %v times per call", n)
	}
}

// TestRecordRequestsAddsABatch: a batch's sums, least and most response
// times are the figures the same requests give recorded one by one.
func TestRecordRequestsAddsABatch(t *testing.T) {
	one, batched := NewFigures(), NewFigures()
	lat := []time.Duration{7 * time.Millisecond, 2 * time.Millisecond, 40 * time.Millisecond, 5 * time.Millisecond}
	var first, second Requests
	for i, d := range lat {
		one.RecordRequest("i-a", int64(100+i), int64(1000*i), d)
		if i < 2 {
			first.Add(int64(100+i), int64(1000*i), d)
		} else {
			second.Add(int64(100+i), int64(1000*i), d)
		}
	}
	batched.RecordRequests("i-a", &first)
	batched.RecordRequests("i-a", &second)
	batched.RecordRequests("i-a", &Requests{}) // empty: changes nothing
	want, got := one.take("i-a"), batched.take("i-a")
	want.cpu, got.cpu = 0, 0 // NaN, never sampled
	if got != want {
		t.Errorf("batched %+v, one by one %+v", got, want)
	}
	if got.requests != 4 || got.latMin != int64(2*time.Millisecond) || got.latMax != int64(40*time.Millisecond) {
		t.Errorf("batched %+v: want 4 requests, least 2ms, most 40ms", got)
	}
}

// TestConcurrentRecordAndTake: a request counts in exactly one period,
// with recorders racing the reader.
func TestConcurrentRecordAndTake(t *testing.T) {
	fig := NewFigures()
	const writers, each = 4, 5000
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				fig.RecordRequest("i-a", 1, 2, time.Microsecond)
			}
		})
	}
	var total, bytes int64
	stop := make(chan struct{})
	var rd sync.WaitGroup
	rd.Go(func() {
		for {
			s := fig.take("i-a")
			total += s.requests
			bytes += s.bytesOut
			select {
			case <-stop:
				return
			default:
			}
		}
	})
	wg.Wait()
	close(stop)
	rd.Wait()
	s := fig.take("i-a")
	total += s.requests
	bytes += s.bytesOut
	if total != writers*each || bytes != 2*writers*each {
		t.Errorf("counted %d requests and %d bytes, want %d and %d", total, bytes, writers*each, 2*writers*each)
	}
}

func BenchmarkRecordRequest(b *testing.B) {
	fig := NewFigures()
	ids := []string{"i-0000000000000000a", "i-0000000000000000b", "i-0000000000000000c"}
	for _, id := range ids {
		fig.RecordRequest(id, 0, 0, 0)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			fig.RecordRequest(ids[i%3], 512, 4096, time.Duration(i)*time.Microsecond)
			i++
		}
	})
}

// TestFiguresOfLeftInstancesDropped: a terminated instance's figures go at
// the next evaluation, and Forget drops one at once.
func TestFiguresOfLeftInstancesDropped(t *testing.T) {
	f, fig := newFleet(2), NewFigures()
	fig.RecordRequest("i-gone", 1, 1, time.Millisecond)
	fig.RecordRequest("i-a", 1, 1, time.Millisecond)
	fig.RecordRequest("i-b", 1, 1, time.Millisecond)
	s := New(Group{Min: 1, Max: 4}, netOut(time.Minute, time.Minute), f, fig, Options{Clock: fixedClock{t0}})
	s.Step(t0.Add(time.Minute))
	if _, ok := (*fig.inst.Load())["i-gone"]; ok || len(*fig.inst.Load()) != 2 {
		t.Errorf("figures kept for %v", *fig.inst.Load())
	}
	fig.Forget("i-a")
	if _, ok := (*fig.inst.Load())["i-a"]; ok {
		t.Error("Forget kept i-a")
	}
}
