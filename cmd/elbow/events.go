package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/spf13/cobra"
)

// eventLayout is how `eb events` and `eb deploy` print an event's date
// ("2022-11-03 16:04:14    INFO    Environment update is starting.", in the
// logs quoted by github.com/aws/aws-elastic-beanstalk-cli issue 50); elbow
// prints it in UTC.
const eventLayout = "2006-01-02 15:04:05"

// formatEvent is one event as `eb events` prints it.
func formatEvent(e monitor.Event) string {
	return fmt.Sprintf("%s    %s    %s\n", e.EventDate.UTC().Format(eventLayout), e.Severity, e.Message)
}

// eventKey tells events apart when several share a date.
type eventKey struct {
	date     time.Time
	instance string
	message  string
}

// eventTail prints an environment's events once each, oldest first.
type eventTail struct {
	c     *apiv1.Client
	out   io.Writer
	since time.Time
	seen  map[eventKey]bool
	// errors counts the ERROR events printed.
	errors int
}

func newEventTail(c *apiv1.Client, out io.Writer, since time.Time) *eventTail {
	return &eventTail{c: c, out: out, since: since, seen: map[eventKey]bool{}}
}

// skip marks the events there are now as seen, without printing them.
func (t *eventTail) skip(ctx context.Context) error {
	out := t.out
	t.out = io.Discard
	defer func() { t.out = out }()
	return t.poll(ctx)
}

// poll prints the events that came since the last poll.
func (t *eventTail) poll(ctx context.Context) error {
	// Ask again from a second before the newest seen: events dated alike
	// may arrive in different polls, and seen drops the repeats.
	resp, err := t.c.Events(ctx, t.since)
	if err != nil {
		return err
	}
	events := resp.Events
	slices.Reverse(events) // the console answers newest first
	for _, e := range events {
		k := eventKey{e.EventDate, e.InstanceId, e.Message}
		if t.seen[k] {
			continue
		}
		t.seen[k] = true
		if (e.Severity == "ERROR" || e.Severity == "FATAL") && t.out != io.Discard {
			t.errors++
		}
		if _, err := io.WriteString(t.out, formatEvent(e)); err != nil {
			return err
		}
	}
	if n := len(events); n > 0 {
		if last := events[n-1].EventDate.Add(-time.Second); last.After(t.since) {
			t.since = last
			// Events before since are never asked for again.
			for k := range t.seen {
				if !k.date.After(t.since) {
					delete(t.seen, k)
				}
			}
		}
	}
	return nil
}

func newEventsCmd() *cobra.Command {
	var (
		target consoleFlags
		follow bool
		poll   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print the environment's events, as `eb events` does",
		Long: `events prints the running environment's events, oldest first, one a line:
date (UTC), severity and message. With -f it keeps printing new events until interrupted.`,
		Args: cobraArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if poll <= 0 {
				return usageError{fmt.Errorf("--poll-interval %s: must be positive", poll)}
			}
			c, err := target.client()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			tail := newEventTail(c, cmd.OutOrStdout(), time.Time{})
			if err := tail.poll(ctx); err != nil || !follow {
				return err
			}
			tick := time.NewTicker(poll)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-tick.C:
					if err := tail.poll(ctx); err != nil {
						if ctx.Err() != nil {
							return nil
						}
						return err
					}
				}
			}
		},
	}
	target.register(cmd)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	cmd.Flags().DurationVar(&poll, "poll-interval", time.Second, "how often -f asks the console for new events")
	_ = cmd.Flags().MarkHidden("poll-interval")
	return cmd
}
