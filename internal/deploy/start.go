package deploy

import (
	"context"
	"fmt"
)

// SetGate changes the health gate of the updates that start from now on;
// an update in progress keeps the gate it started with.
func (d *Deployer) SetGate(g Gate) {
	if g.Checks <= 0 || g.Window <= 0 {
		g = DefaultGate
	}
	d.mu.Lock()
	d.gate = g
	d.mu.Unlock()
}

// currentGate is the gate an update reads.
func (d *Deployer) currentGate() Gate {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gate
}

// startedKey carries the channel Start waits on through an update's context.
type startedKey struct{}

// tellStarted tells Start whether its update started (nil) or was refused.
func (d *Deployer) tellStarted(ctx context.Context, err error) {
	if ch, ok := ctx.Value(startedKey{}).(chan error); ok {
		select {
		case ch <- err:
		default:
		}
	}
}

// Start runs Deploy (configuration false) or UpdateConfiguration in a
// goroutine of its own and returns once the update started, or with the
// error that refused it (ErrUpdateInProgress, ErrInvalid). done receives
// the update's end.
func (d *Deployer) Start(ctx context.Context, run func(ctx context.Context) error, done func(error)) error {
	started := make(chan error, 1)
	ctx = context.WithValue(ctx, startedKey{}, started)
	go func() {
		err := run(ctx)
		select {
		case started <- err: // refused before it started: validation
		default:
		}
		done(err)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("%w", err)
	}
	return nil
}
