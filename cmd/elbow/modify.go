package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/spf13/cobra"
)

func newModifyTargetGroupCmd() *cobra.Command {
	var (
		target consoleFlags
		asJSON bool
		m      apiv1.TargetGroupModification
		flags  struct {
			path, port, protocol, matcher                     string
			interval, timeout, healthy, unhealthy, deregister int
			enabled                                           bool
		}
	)
	cmd := &cobra.Command{
		Use:   "modify-target-group NAME",
		Short: "Change a target group's health check while elbow up runs, as `aws elbv2 modify-target-group` does",
		Long: `modify-target-group changes the health-check settings (and the deregistration delay) of a
target group of the running environment, through its console. Settings not given keep
their values. The change is checked with the same rules as elbow.yaml and applies from
each target's next health check; requests in flight are not touched. It lasts until
elbow up stops or the config file is reloaded with other settings.

  elbow modify-target-group web --matcher 200-301
  elbow modify-target-group web --health-check-path /health --health-check-interval-seconds 10

Exit status: 0 applied, 1 refused (the errors are printed), 2 usage error.`,
		Args: cobraArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := target.client()
			if err != nil {
				return err
			}
			f := cmd.Flags()
			str := func(name string, v string) *string {
				if !f.Changed(name) {
					return nil
				}
				return &v
			}
			num := func(name string, v int) *int {
				if !f.Changed(name) {
					return nil
				}
				return &v
			}
			m.HealthCheckPath = str("health-check-path", flags.path)
			m.HealthCheckPort = str("health-check-port", flags.port)
			m.HealthCheckProtocol = str("health-check-protocol", flags.protocol)
			m.HealthCheckIntervalSeconds = num("health-check-interval-seconds", flags.interval)
			m.HealthCheckTimeoutSeconds = num("health-check-timeout-seconds", flags.timeout)
			m.HealthyThresholdCount = num("healthy-threshold-count", flags.healthy)
			m.UnhealthyThresholdCount = num("unhealthy-threshold-count", flags.unhealthy)
			m.DeregistrationDelay = num("deregistration-delay", flags.deregister)
			if f.Changed("health-check-enabled") {
				m.HealthCheckEnabled = &flags.enabled
			}
			if f.Changed("matcher") {
				// Also accept the AWS CLI's shorthand, HttpCode=200-301,
				// and GrpcCode=0 for a GRPC group's gRPC codes.
				if code, ok := strings.CutPrefix(flags.matcher, "GrpcCode="); ok {
					m.Matcher = &apiv1.MatcherChange{GrpcCode: &code}
				} else {
					code := strings.TrimPrefix(flags.matcher, "HttpCode=")
					m.Matcher = &apiv1.MatcherChange{HttpCode: &code}
				}
			}
			if m == (apiv1.TargetGroupModification{}) {
				return usageError{fmt.Errorf("nothing to change: give at least one setting, such as --matcher 200-301\nrun '%s --help' for usage", cmd.CommandPath())}
			}
			g, raw, err := modifyTargetGroup(cmd.Context(), c, args[0], m)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				_, err := out.Write(raw)
				return err
			}
			return printTargetGroup(out, g)
		},
	}
	f := cmd.Flags()
	target.register(cmd)
	f.BoolVar(&asJSON, "json", false, "print the ModifyTargetGroup answer as JSON")
	f.StringVar(&flags.path, "health-check-path", "", "path of the health check, 1-1024 characters beginning with /")
	f.StringVar(&flags.port, "health-check-port", "", "port of the health check: traffic-port or 1-65535")
	f.StringVar(&flags.protocol, "health-check-protocol", "", "HTTP or HTTPS")
	f.IntVar(&flags.interval, "health-check-interval-seconds", 0, "seconds between checks of a target, 5-300")
	f.IntVar(&flags.timeout, "health-check-timeout-seconds", 0, "seconds without an answer that fail a check, 2-120, less than the interval")
	f.IntVar(&flags.healthy, "healthy-threshold-count", 0, "consecutive passes that make an unhealthy target healthy, 2-10")
	f.IntVar(&flags.unhealthy, "unhealthy-threshold-count", 0, "consecutive failures that make a healthy target unhealthy, 2-10")
	f.StringVar(&flags.matcher, "matcher", "", "success codes, 200-499: 200, 200,202 or 200-299; for a GRPC group, gRPC codes 0-99 as GrpcCode=0, GrpcCode=0-5")
	f.IntVar(&flags.deregister, "deregistration-delay", 0, "seconds a deregistered target drains, 0-3600")
	f.BoolVar(&flags.enabled, "health-check-enabled", true, "turn health checks on or off")
	return cmd
}

// modifyTargetGroup PATCHes the group and returns it as it is after the
// change, decoded and as received. A refused change is an error listing
// every problem.
func modifyTargetGroup(ctx context.Context, c *apiv1.Client, name string, m apiv1.TargetGroupModification) (apiv1.TargetGroupDescription, []byte, error) {
	g, raw, err := c.ModifyTargetGroup(ctx, name, m)
	ae, ok := errors.AsType[*apiv1.Error](err)
	switch {
	case err == nil:
		return g, raw, nil
	case !ok: // not answered by the console: unreachable, credentials, not a console
		return g, nil, err
	case ae.StatusCode == http.StatusNotFound:
		return g, nil, fmt.Errorf("target group %q: %w", name, err)
	case ae.Code == "ValidationError" && len(ae.Fields) > 0:
		lines := make([]string, len(ae.Fields))
		for i, fe := range ae.Fields {
			lines[i] = "  " + fe.Field + ": " + fe.Message
		}
		return g, nil, fmt.Errorf("target group %s was not changed:\n%s", name, strings.Join(lines, "\n"))
	}
	return g, nil, errors.Join(fmt.Errorf("target group %s was not changed", name), err)
}

// printTargetGroup prints the group's settings after the change, one per line.
func printTargetGroup(out io.Writer, g apiv1.TargetGroupDescription) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Target group %s modified; it applies from each target's next health check.\n", g.TargetGroupName)
	rows := [][2]string{
		{"HealthCheckEnabled", fmt.Sprint(g.HealthCheckEnabled)},
		{"HealthCheckProtocol", g.HealthCheckProtocol},
		{"HealthCheckPath", g.HealthCheckPath},
		{"HealthCheckPort", g.HealthCheckPort},
		{"HealthCheckIntervalSeconds", fmt.Sprint(g.HealthCheckIntervalSeconds)},
		{"HealthCheckTimeoutSeconds", fmt.Sprint(g.HealthCheckTimeoutSeconds)},
		{"HealthyThresholdCount", fmt.Sprint(g.HealthyThresholdCount)},
		{"UnhealthyThresholdCount", fmt.Sprint(g.UnhealthyThresholdCount)},
		{"Matcher", g.Matcher.HttpCode + g.Matcher.GrpcCode},
	}
	if g.DeregistrationDelay != nil {
		rows = append(rows, [2]string{"DeregistrationDelay", fmt.Sprint(*g.DeregistrationDelay)})
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}
