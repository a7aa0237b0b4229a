package console

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
)

const (
	// historyInterval is how often the console samples the environment's
	// metrics: the monitor's window, so that each point is one window.
	historyInterval = 10 * time.Second
	// historyPoints keeps the last 15 minutes of 10 s samples.
	historyPoints = 90
)

// history is a bounded ring of samples; the page draws its charts from it.
type history struct {
	mu     sync.Mutex
	points []apiv1.HistoryPoint // ring storage
	next   int
	full   bool
}

func newHistory(size int) *history { return &history{points: make([]apiv1.HistoryPoint, size)} }

func (h *history) add(p apiv1.HistoryPoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.points[h.next] = p
	h.next = (h.next + 1) % len(h.points)
	if h.next == 0 {
		h.full = true
	}
}

// all returns the points oldest first.
func (h *history) all() []apiv1.HistoryPoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.full {
		return append([]apiv1.HistoryPoint{}, h.points[:h.next]...)
	}
	out := make([]apiv1.HistoryPoint, 0, len(h.points))
	out = append(out, h.points[h.next:]...)
	return append(out, h.points[:h.next]...)
}

// sampleHistory records the environment's current window.
func (c *Console) sampleHistory(now time.Time) {
	if c.o.Health == nil {
		return
	}
	env := c.o.Health.EnvironmentHealth()
	m := env.ApplicationMetrics
	c.history.add(apiv1.HistoryPoint{
		Time: now.UTC(), RequestCount: m.RequestCount, StatusCodes: m.StatusCodes,
		P99: m.Latency.P99, P50: m.Latency.P50, HealthStatus: env.HealthStatus,
	})
}

// runHistory samples every HistoryInterval until ctx ends. The first
// sample comes after one interval, when the monitor has a full window.
func (c *Console) runHistory(ctx context.Context) {
	t := time.NewTicker(c.o.HistoryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c.sampleHistory(now)
		}
	}
}

func (c *Console) historyHandler(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, apiv1.HistoryResponse{
		IntervalSeconds: int(c.o.HistoryInterval / time.Second),
		Points:          c.history.all(),
	})
}
