package fleet

import (
	"bufio"
	"errors"
	"io"
	"os"
	"sync"
)

const (
	// maxTailLineBytes bounds one line kept in memory; the log file gets the
	// whole line. With TailLines lines per instance, memory stays bounded
	// whatever the app prints.
	maxTailLineBytes = 4096
	readBufferBytes  = 64 << 10
)

// outputLog keeps one instance's stdout and stderr across its restarts: the
// whole of it appended to a file, the last lines in a ring for the console.
type outputLog struct {
	file *os.File // nil when the fleet keeps no log files; safe for concurrent Write
	// onLine, when set, sees every line (Hooks.Output); it must not block.
	onLine func(string)

	mu    sync.Mutex
	ring  []string
	next  int // index of the slot the next line goes to
	count int
}

func newOutputLog(file *os.File, lines int) *outputLog {
	return &outputLog{file: file, ring: make([]string, lines)}
}

// consume reads r (the read end of the process's output pipe) to EOF, which
// comes when the last process holding the write end is gone.
func (o *outputLog) consume(r io.ReadCloser) {
	defer r.Close()
	br := bufio.NewReaderSize(r, readBufferBytes)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			// A line longer than the buffer arrives in pieces; each piece is
			// kept as its own line rather than growing memory without bound.
			if o.file != nil {
				o.file.Write(chunk) // a full disk must not stop the app; the tail still works
			}
			o.addLine(chunk)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if len(chunk) > 0 && chunk[len(chunk)-1] != '\n' && o.file != nil {
				o.file.Write([]byte{'\n'})
			}
			return
		}
	}
}

func (o *outputLog) addLine(chunk []byte) {
	if n := len(chunk); n > 0 && chunk[n-1] == '\n' {
		chunk = chunk[:n-1]
	}
	if n := len(chunk); n > 0 && chunk[n-1] == '\r' {
		chunk = chunk[:n-1]
	}
	if len(chunk) > maxTailLineBytes {
		chunk = chunk[:maxTailLineBytes]
	}
	line := string(chunk)
	if o.onLine != nil {
		o.onLine(line)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.ring) == 0 {
		return
	}
	o.ring[o.next] = line
	o.next = (o.next + 1) % len(o.ring)
	if o.count < len(o.ring) {
		o.count++
	}
}

// tail returns the last n lines, oldest first.
func (o *outputLog) tail(n int) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n > o.count {
		n = o.count
	}
	if n <= 0 {
		return nil
	}
	out := make([]string, n)
	start := (o.next - n + len(o.ring)) % len(o.ring)
	for i := range n {
		out[i] = o.ring[(start+i)%len(o.ring)]
	}
	return out
}

func (o *outputLog) close() {
	if o.file != nil {
		o.file.Close()
	}
}
