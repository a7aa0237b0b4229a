package environment

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

// SourceConfig events are about the environment's configuration: a change
// made through the API that its file could not take.
const SourceConfig EventSource = "config"

// fileState is what the environment's file describes, so that a change
// made through the API is written into it (Update) and a reload of the
// file says which of those changes it undoes (ReloadFile).
type fileState struct {
	// mu serialises Update and ReloadFile: each reads the running config,
	// changes it and the file, and must not interleave with the other.
	mu sync.Mutex
	// cfg is the config the file describes when it differs from the running
	// one (a write back failed, or there is no file); nil when they agree.
	cfg *config.Config
}

// writeBack writes the change from running to next into the environment's
// file. A failure leaves the live change in place and says so as an event.
// Called with e.file.mu held.
func (e *Env) writeBack(running, next *config.Config) {
	known := e.file.cfg
	if known == nil {
		known = running
	}
	err := config.WriteBack(next.File, known, next)
	if err == nil {
		e.file.cfg = nil
		return
	}
	e.file.cfg = known
	if errors.Is(err, config.ErrNoFile) {
		e.events(Event{Time: time.Now(), Source: SourceConfig, Severity: "INFO",
			Message: "The change applies to the running environment only: it has no elbow.yaml to write it to."})
		return
	}
	e.log.Warn("configuration change not written back", "file", next.File, "err", err)
	e.events(Event{Time: time.Now(), Source: SourceConfig, Severity: "WARN",
		Message: fmt.Sprintf("The change applies to the running environment, but %s was not updated: %v. A reload of the file would undo it.", next.File, err)})
}

// ReloadFile is Reload for a config read from the environment's file (the
// `elbow up` file watcher). Before applying, it says, as a WARN event and
// in the returned list, each change made through the API that the file
// does not have and the reload undoes: "the file sets X back to Y; the
// running value Z came from the API". The reload then applies as any.
func (e *Env) ReloadFile(ctx context.Context, next *config.Config) ([]string, error) {
	e.file.mu.Lock()
	defer e.file.mu.Unlock()
	undone := e.undoneByFile(next)
	for _, msg := range undone {
		e.events(Event{Time: time.Now(), Source: SourceConfig, Severity: "WARN", Message: msg})
	}
	applied, err := e.Reload(ctx, next)
	if err == nil {
		e.file.cfg = nil
	}
	if len(applied) > 0 || err == nil {
		applied = append(undone, applied...)
	}
	return applied, err
}

// undoneByFile lists the API's changes that next, read from the file, sets
// back: keys where the running value differs from what the file said and
// the file still says it. Called with e.file.mu held.
func (e *Env) undoneByFile(next *config.Config) []string {
	known := e.file.cfg
	if known == nil {
		return nil
	}
	running := e.Config()
	fromAPI := map[string]bool{}
	for _, c := range config.Diff(known, running) {
		fromAPI[c.Path] = true
	}
	var out []string
	for _, c := range config.Diff(running, next) {
		if !fromAPI[c.Path] {
			continue
		}
		file, inFile := config.ValueAt(next, c.Path)
		was, _ := config.ValueAt(known, c.Path)
		if inFile && file != was {
			continue // the file has a new value of its own: an edit, not an undo
		}
		now, inRunning := config.ValueAt(running, c.Path)
		switch {
		case !inFile:
			out = append(out, fmt.Sprintf("the file removes %s; it came from the API", c.Path))
		case !inRunning:
			out = append(out, fmt.Sprintf("the file sets %s back to %s; the API had removed it", c.Path, file))
		default:
			out = append(out, fmt.Sprintf("the file sets %s back to %s; the running value %s came from the API", c.Path, file, now))
		}
	}
	return out
}
