package environment

import (
	"context"
	"fmt"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

// What the AWS API (package awsapi) reads and changes of the environment.

// Update applies change to a copy of the running configuration, validates
// it as elbow validate does, and applies it live (Reload). A part that
// needs a restart refuses the whole change, naming it. Applied, the change
// is written into the environment's file (config.WriteBack), so that the
// file watcher's reload of it changes nothing; when the file cannot take it
// the change stays live and an event says why (writeBack).
func (e *Env) Update(ctx context.Context, change func(c *config.Config) error) error {
	e.file.mu.Lock()
	defer e.file.mu.Unlock()
	cur := e.Config()
	data, err := config.Marshal(cur)
	if err != nil {
		return fmt.Errorf("copying the configuration: %w", err)
	}
	next, err := config.Parse(cur.File, data)
	if err != nil {
		return fmt.Errorf("copying the configuration: %w", err)
	}
	if err := change(next); err != nil {
		return err
	}
	data, err = config.Marshal(next)
	if err != nil {
		return err
	}
	checked, err := config.Parse(cur.File, data)
	if err != nil {
		return err
	}
	checked.File = cur.File
	if _, err = e.Reload(ctx, checked); err != nil {
		return err
	}
	e.writeBack(cur, checked)
	return nil
}

// InstanceLog is the last lines of an instance's output.
func (e *Env) InstanceLog(id string, lines int) ([]string, bool) {
	l, _, ok := e.instanceLog(id, lines)
	return l, ok
}

// Started is when the environment started.
func (e *Env) Started() time.Time { return e.started }
