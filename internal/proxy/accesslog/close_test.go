package accesslog

import "testing"

// TestLogAfterClose: an entry logged after the writer closed (a handler
// that outlived the proxy's shutdown) is dropped and counted, not a panic
// (a send on the closed queue).
func TestLogAfterClose(t *testing.T) {
	w := NewWriter(discard{})
	w.Close()
	w.Log(&Entry{})
	if got := w.Dropped(); got != 1 {
		t.Fatalf("Dropped() = %d after one entry logged past Close; want 1", got)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
