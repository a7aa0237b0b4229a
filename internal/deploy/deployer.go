package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options wire a Deployer; every field may be left zero.
type Options struct {
	Gate   Gate  // zero: DefaultGate
	Clock  Clock // nil: the wall clock
	Logger *slog.Logger
}

// Deployer runs one update at a time on an environment.
type Deployer struct {
	env   Environment
	gate  Gate
	clock Clock
	log   *slog.Logger

	mu     sync.Mutex
	cancel context.CancelCauseFunc // non-nil while an update runs
	// expected is the release every instance should run: the last one
	// deployed successfully (known once set or learnt from the members).
	expected Release
	known    bool
	commands map[string]time.Time
	total    int
	// progressMu orders Progress calls: taken before mu and held across
	// the call, so that the environment never sees an older state after
	// a newer one (Progress must not call back into the Deployer).
	progressMu sync.Mutex
}

// New returns a Deployer acting on env.
func New(env Environment, o Options) *Deployer {
	if o.Gate.Checks <= 0 || o.Gate.Window <= 0 {
		o.Gate = DefaultGate
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Deployer{env: env, gate: o.Gate, clock: o.Clock, log: o.Logger}
}

// stateError is the refusal of a second update while one runs, in AWS's
// words (the InvalidRequestException of UpdateEnvironment).
type stateError struct{ name string }

func (e stateError) Error() string {
	return fmt.Sprintf("Environment named %s is in an invalid state for this operation. Must be Ready.", e.name)
}
func (e stateError) Unwrap() error { return ErrUpdateInProgress }

// Running reports whether an update is in progress.
func (d *Deployer) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel != nil
}

// Expected is the release every instance should run now.
func (d *Deployer) Expected() Release {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expected
}

// Abort stops the update in progress as AbortEnvironmentUpdate does
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_AbortEnvironmentUpdate.html):
// the running policy undoes what it can (traffic splitting moves the
// traffic back, immutable and traffic splitting terminate the new
// instances; batches already deployed keep the new version) and the update
// ends with ErrAborted. Abort returns at once; ErrNoUpdate when none runs.
func (d *Deployer) Abort() error {
	d.mu.Lock()
	cancel := d.cancel
	d.mu.Unlock()
	if cancel == nil {
		return fmt.Errorf("environment %s: %w", d.env.Name(), ErrNoUpdate)
	}
	// elbow's words: Beanstalk's abort event is not published.
	d.env.Event(Info, "Aborting the environment update.")
	cancel(ErrAborted)
	return nil
}

// update is one running deployment or configuration update.
type update struct {
	d          *Deployer
	env        Environment
	ctx        context.Context // ends on Abort
	undo       context.Context // for rolling back: survives Abort
	to         Release
	policy     Policy
	healthGate Gate // the gate when the update started
}

// run runs body as the one update in progress.
func (d *Deployer) run(ctx context.Context, to Release, p Policy, body func(u *update) error) error {
	members := d.env.Members()
	d.mu.Lock()
	if d.cancel != nil {
		d.mu.Unlock()
		d.tellStarted(ctx, stateError{d.env.Name()})
		return stateError{d.env.Name()}
	}
	uctx, cancel := context.WithCancelCause(ctx)
	d.cancel = cancel
	if !d.known {
		d.expected, d.known = majority(members), true
	}
	u := &update{d: d, env: d.env, ctx: uctx, undo: context.WithoutCancel(uctx), to: to, policy: p, healthGate: d.gate}
	d.commands, d.total = nil, len(members)
	d.mu.Unlock()
	defer cancel(nil)
	d.tellStarted(ctx, nil)

	d.progress(true)
	err := body(u)
	if err != nil && context.Cause(uctx) == ErrAborted && !errors.Is(err, ErrAborted) {
		err = fmt.Errorf("%w: %w", ErrAborted, err)
	}
	// Ready is told before the next update may start, so that its
	// Updating cannot be overtaken by this one's Ready.
	d.progressMu.Lock()
	d.mu.Lock()
	if err == nil {
		d.expected = to
	}
	d.commands = nil
	d.mu.Unlock()
	d.progressLocked(false)
	d.mu.Lock()
	d.cancel = nil
	d.mu.Unlock()
	d.progressMu.Unlock()
	if err != nil {
		d.log.Warn("update failed", "environment", d.env.Name(), "to", to.Label, "err", err)
		return fmt.Errorf("environment %s: deploying %s (deployment %d): %w", d.env.Name(), to.Label, to.Deployment, err)
	}
	d.log.Info("update completed", "environment", d.env.Name(), "to", to.Label)
	return nil
}

// majority is the release most members run (the oldest member's on a tie).
func majority(ms []Member) Release {
	n := map[Release]int{}
	var best Release
	for _, m := range ms {
		n[m.Release]++
		if n[m.Release] > n[best] {
			best = m.Release
		}
	}
	return best
}

func (d *Deployer) progress(updating bool) {
	d.progressMu.Lock()
	defer d.progressMu.Unlock()
	d.progressLocked(updating)
}

// progressLocked tells the environment the current state; progressMu held.
func (d *Deployer) progressLocked(updating bool) {
	d.mu.Lock()
	p := Progress{Updating: updating, Total: d.total, Expected: d.expected}
	if len(d.commands) > 0 {
		p.Commands = maps.Clone(d.commands)
	}
	d.mu.Unlock()
	d.env.Progress(p)
}

func (d *Deployer) command(id string, running bool) {
	d.progressMu.Lock()
	defer d.progressMu.Unlock()
	d.mu.Lock()
	if running {
		if d.commands == nil {
			d.commands = map[string]time.Time{}
		}
		d.commands[id] = d.clock.Now()
	} else {
		delete(d.commands, id)
	}
	d.mu.Unlock()
	d.progressLocked(true)
}

func (u *update) info(format string, a ...any) { u.env.Event(Info, fmt.Sprintf(format, a...)) }
func (u *update) warn(format string, a ...any) { u.env.Event(Warn, fmt.Sprintf(format, a...)) }
func (u *update) fail(format string, a ...any) { u.env.Event(Error, fmt.Sprintf(format, a...)) }

// aborted reports whether the update was aborted (or its caller's context ended).
func (u *update) aborted() error {
	if u.ctx.Err() == nil {
		return nil
	}
	if c := context.Cause(u.ctx); c != nil && errors.Is(c, ErrAborted) {
		return ErrAborted
	}
	return u.ctx.Err()
}

// brackets formats ids as Beanstalk's batch events do: [i-a, i-b].
func brackets(ids []string) string { return "[" + strings.Join(ids, ", ") + "]" }

// parens formats ids as its immutable events do: (i-a,i-b).
func parens(ids []string) string { return "(" + strings.Join(ids, ",") + ")" }

// quoted formats ids as its failure events do: 'i-a,i-b'.
func quoted(ids []string) string { return "'" + strings.Join(ids, ",") + "'" }

// redeploy runs u.to on ids at once and reports the ones whose command
// failed, each with its error; "Instance deployment completed
// successfully." is the instance's own event when its command completes.
func (u *update) redeploy(ids []string) (failed []string, errs map[string]error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs = map[string]error{}
	for _, id := range ids {
		wg.Go(func() {
			u.d.command(id, true)
			ctx, cancel := u.ctx, context.CancelFunc(func() {})
			if u.policy.Timeout > 0 {
				// The command timeout (aws:elasticbeanstalk:command Timeout).
				ctx, cancel = context.WithTimeout(u.ctx, u.policy.Timeout)
			}
			err := u.env.Redeploy(ctx, id, u.to)
			cancel()
			u.d.command(id, false)
			if err != nil {
				mu.Lock()
				errs[id] = err
				mu.Unlock()
				return
			}
			u.info("Instance deployment completed successfully.")
		})
	}
	wg.Wait()
	for _, id := range ids {
		if errs[id] != nil {
			failed = append(failed, id)
		}
	}
	return failed, errs
}

// commandFailed writes the events of failed commands, Beanstalk's
// command-failure sequence, and returns the error; cleanup, if not nil,
// runs before the closing event.
func (u *update) commandFailed(failed []string, errs map[string]error, ran int, closing string, cleanup func()) error {
	for _, id := range failed {
		u.fail("[Instance: %s] Command failed on instance. Output: %s.", id, strings.TrimSuffix(errs[id].Error(), "."))
	}
	u.info("Command execution completed on all instances. Summary: [Successful: %d, Failed: %d].", ran-len(failed), len(failed))
	u.fail("Unsuccessful command execution on instance id(s) %s. Aborting the operation.", quoted(failed))
	if cleanup != nil {
		cleanup()
	}
	u.fail("%s", closing)
	return fmt.Errorf("%w: %s: %w", ErrCommandFailed, strings.Join(failed, ", "), errs[failed[0]])
}

// launch starts n instances running u.to at once and returns their IDs
// sorted (events list them in a stable order); on error the ones launched
// are returned with it.
func (u *update) launch(n int) ([]string, error) {
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i], errs[i] = u.env.Launch(u.ctx, u.to) })
	}
	wg.Wait()
	var got []string
	for i := range n {
		if errs[i] == nil {
			got = append(got, ids[i])
		}
	}
	slices.Sort(got)
	return got, errors.Join(errs...)
}

// terminate stops ids at once (with u.undo, so that a rollback completes
// after Abort); failures are logged and reported as WARN events.
func (u *update) terminate(ids []string) {
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if err := u.env.Terminate(u.undo, id); err != nil {
				u.d.log.Warn("terminate failed", "instance", id, "err", err)
				u.warn("Failed to terminate instance %s: %s.", id, strings.TrimSuffix(err.Error(), "."))
			}
		})
	}
	wg.Wait()
}

func ids(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}
