package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/elbow-lb/elbow/internal/console"
	"github.com/spf13/cobra"
)

func newModifyTargetGroupCmd() *cobra.Command {
	var (
		consoleURL string
		asJSON     bool
		m          console.TargetGroupModification
		flags      struct {
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
			c, err := newConsoleClient(consoleURL)
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
				// Also accept the AWS CLI's shorthand, HttpCode=200-301.
				code := strings.TrimPrefix(flags.matcher, "HttpCode=")
				m.Matcher = &console.MatcherChange{HttpCode: &code}
			}
			if m == (console.TargetGroupModification{}) {
				return usageError{fmt.Errorf("nothing to change: give at least one setting, such as --matcher 200-301\nrun '%s --help' for usage", cmd.CommandPath())}
			}
			raw, groups, err := modifyTargetGroup(cmd.Context(), c, args[0], m)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				_, err := out.Write(raw)
				return err
			}
			return printTargetGroup(out, groups)
		},
	}
	f := cmd.Flags()
	f.StringVar(&consoleURL, "console", defaultConsoleURL, "URL of the environment's console")
	f.BoolVar(&asJSON, "json", false, "print the ModifyTargetGroup answer as JSON")
	f.StringVar(&flags.path, "health-check-path", "", "path of the health check, 1-1024 characters beginning with /")
	f.StringVar(&flags.port, "health-check-port", "", "port of the health check: traffic-port or 1-65535")
	f.StringVar(&flags.protocol, "health-check-protocol", "", "HTTP or HTTPS")
	f.IntVar(&flags.interval, "health-check-interval-seconds", 0, "seconds between checks of a target, 5-300")
	f.IntVar(&flags.timeout, "health-check-timeout-seconds", 0, "seconds without an answer that fail a check, 2-120, less than the interval")
	f.IntVar(&flags.healthy, "healthy-threshold-count", 0, "consecutive passes that make an unhealthy target healthy, 2-10")
	f.IntVar(&flags.unhealthy, "unhealthy-threshold-count", 0, "consecutive failures that make a healthy target unhealthy, 2-10")
	f.StringVar(&flags.matcher, "matcher", "", "success codes, 200-499: 200, 200,202 or 200-299")
	f.IntVar(&flags.deregister, "deregistration-delay", 0, "seconds a deregistered target drains, 0-3600")
	f.BoolVar(&flags.enabled, "health-check-enabled", true, "turn health checks on or off")
	return cmd
}

// modifyTargetGroup PATCHes the group and returns the answer as received
// and decoded. A refused change is an error listing every problem.
func modifyTargetGroup(ctx context.Context, c *consoleClient, name string, m console.TargetGroupModification) ([]byte, console.TargetGroupsResponse, error) {
	var groups console.TargetGroupsResponse
	body, err := json.Marshal(m)
	if err != nil {
		return nil, groups, fmt.Errorf("encoding the change: %w", err)
	}
	path := "/api/v1/target-groups/" + url.PathEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, groups, fmt.Errorf("console request %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.do(req)
	if err != nil {
		var ce *credentialsError
		if ctx.Err() != nil {
			return nil, groups, ctx.Err()
		}
		if errors.As(err, &ce) {
			return nil, groups, err
		}
		return nil, groups, fmt.Errorf("no elbow environment answering at %s: is `elbow up` running? (%w)", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, groups, fmt.Errorf("reading %s%s: %w", c.base, path, err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &groups); err != nil || len(groups.TargetGroups) != 1 {
			return nil, groups, fmt.Errorf("%s%s: unexpected answer: %s", c.base, path, raw)
		}
		return raw, groups, nil
	}
	var e console.ValidationErrorResponse
	if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
		return nil, groups, fmt.Errorf("%s%s answered %s: is it an elbow console?", c.base, path, resp.Status)
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, groups, fmt.Errorf("target group %q: %w", name, &apiError{status: resp.StatusCode, code: e.Error.Code, message: e.Error.Message})
	}
	if e.Error.Code == "ValidationError" && len(e.Errors) > 0 {
		lines := make([]string, len(e.Errors))
		for i, fe := range e.Errors {
			lines[i] = "  " + fe.Field + ": " + fe.Message
		}
		return nil, groups, fmt.Errorf("target group %s was not changed:\n%s", name, strings.Join(lines, "\n"))
	}
	return nil, groups, errors.Join(fmt.Errorf("target group %s was not changed", name),
		&apiError{status: resp.StatusCode, code: e.Error.Code, message: e.Error.Message})
}

// printTargetGroup prints the group's settings after the change, one per line.
func printTargetGroup(out io.Writer, groups console.TargetGroupsResponse) error {
	g := groups.TargetGroups[0]
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
		{"Matcher", g.Matcher.HttpCode},
	}
	if g.DeregistrationDelay != nil {
		rows = append(rows, [2]string{"DeregistrationDelay", fmt.Sprint(*g.DeregistrationDelay)})
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}
