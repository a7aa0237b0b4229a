package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/spf13/cobra"
)

func newDeployCmd() *cobra.Command {
	var (
		target  consoleFlags
		label   string
		message string
		nowait  bool
		timeout time.Duration
		poll    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy the project folder as a new application version, as `eb deploy` does",
		Long: `deploy copies the project folder as it is now into a new application version (labelled
--label, or app-YYMMDD_HHMMSS as the EB CLI labels one) and deploys it to the running environment with
its deployment policy (aws:elasticbeanstalk:command, or deployment: in elbow.yaml). It then prints the
environment's events until the update ends, and exits 1 if the deployment failed. With --nowait it
returns once the deployment has started.`,
		Args: cobraArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if poll <= 0 || timeout <= 0 {
				return usageError{errors.New("--timeout and --poll-interval must be positive")}
			}
			c, err := target.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// The events from a second before the request on, less those
			// there were before it: the console runs on this machine's clock.
			tail := newEventTail(c, out, time.Now().Add(-time.Second))
			if !nowait {
				if err := tail.skip(ctx); err != nil {
					return err
				}
			}
			res, err := c.Deploy(ctx, apiv1.DeployRequest{VersionLabel: label, Description: message})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Created application version %q (deployment %d).\n", res.VersionLabel, res.Deployment)
			if nowait {
				return nil
			}
			return followUpdate(ctx, c, tail, timeout, poll)
		},
	}
	target.register(cmd)
	cmd.Flags().StringVarP(&label, "label", "l", "", "label of the new application version (default app-YYMMDD_HHMMSS)")
	cmd.Flags().StringVarP(&message, "message", "m", "", "description of the new application version")
	cmd.Flags().BoolVar(&nowait, "nowait", false, "return once the deployment has started, without following its events")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "how long to follow the update before giving up (the update goes on)")
	cmd.Flags().DurationVar(&poll, "poll-interval", time.Second, "how often to ask the console for new events")
	_ = cmd.Flags().MarkHidden("poll-interval")
	return cmd
}

// followUpdate prints the events until the environment is no longer
// Updating, then fails if any was an ERROR (Beanstalk's "Failed to deploy
// application.").
func followUpdate(ctx context.Context, c *apiv1.Client, tail *eventTail, timeout, poll time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if err := tail.poll(ctx); err != nil {
			return followError(ctx, err, timeout)
		}
		st, _, err := c.Status(ctx)
		if err != nil {
			return followError(ctx, err, timeout)
		}
		if st.Status != "Updating" {
			// The events of the update's end may be newer than the last poll.
			if err := tail.poll(ctx); err != nil {
				return followError(ctx, err, timeout)
			}
			if tail.errors > 0 {
				return &exitError{code: 1, err: fmt.Errorf("the update of %s failed: see the events above", st.EnvironmentName)}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return followError(ctx, ctx.Err(), timeout)
		case <-tick.C:
		}
	}
}

func followError(ctx context.Context, err error, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the update is still running after %s: it goes on; follow it with `elbow events -f`", timeout)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("stopped following the update (it goes on): %w", ctx.Err())
	}
	return err
}
