package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// colorOutput reports whether w is a terminal that should get colors:
// not when piped, not with --mono, not with NO_COLOR set.
func colorOutput(w io.Writer, mono bool) bool {
	if mono || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(w)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newHealthCmd() *cobra.Command {
	var (
		target   consoleFlags
		refresh  bool
		asJSON   bool
		mono     bool
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Show the environment's enhanced health, as `eb health` does",
		Long: `health reads the running environment's console and prints its enhanced health in the
layout of ` + "`eb health`" + `: the environment's status, the instances by status, and per instance
its status and causes, requests (r/sec, %2xx..%5xx, latency percentiles) and CPU.`,
		Args: cobraArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if refresh && asJSON {
				return usageError{errors.New("--refresh and --json cannot be combined")}
			}
			if interval <= 0 {
				return usageError{fmt.Errorf("--refresh-interval %s: must be positive", interval)}
			}
			c, err := target.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if asJSON {
				return printHealthJSON(ctx, c, out)
			}
			color := colorOutput(out, mono)
			if !refresh {
				doc, err := fetchHealth(ctx, c)
				if err != nil {
					return err
				}
				_, err = io.WriteString(out, renderHealth(doc, time.Now(), color))
				return err
			}
			return refreshHealth(ctx, c, out, color, isTerminal(out), interval)
		},
	}
	target.register(cmd)
	cmd.Flags().BoolVarP(&refresh, "refresh", "r", false, "redraw every 10 seconds until Ctrl-C")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the console's DescribeEnvironmentHealth and DescribeInstancesHealth documents")
	cmd.Flags().BoolVar(&mono, "mono", false, "no colors")
	cmd.Flags().DurationVar(&interval, "refresh-interval", 10*time.Second, "time between redraws with --refresh")
	_ = cmd.Flags().MarkHidden("refresh-interval")
	return cmd
}

// healthDoc is what `elbow health` shows.
type healthDoc struct {
	Environment monitor.EnvironmentHealth
	Instances   monitor.InstancesHealth
	rawEnv      json.RawMessage
	rawInst     json.RawMessage
}

func fetchHealth(ctx context.Context, c *apiv1.Client) (*healthDoc, error) {
	var d healthDoc
	var err error
	if d.Environment, d.rawEnv, err = c.EnvironmentHealth(ctx); err != nil {
		return nil, err
	}
	if d.Instances, d.rawInst, err = c.InstancesHealth(ctx); err != nil {
		return nil, err
	}
	return &d, nil
}

// printHealthJSON prints the two API documents as the console gave them.
func printHealthJSON(ctx context.Context, c *apiv1.Client, out io.Writer) error {
	d, err := fetchHealth(ctx, c)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(struct {
		Environment json.RawMessage `json:"Environment"`
		Instances   json.RawMessage `json:"Instances"`
	}{d.rawEnv, d.rawInst}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the health documents: %w", err)
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

// refreshHealth redraws until ctx ends. A console that stops answering is
// shown in place of the tables, and polled again.
func refreshHealth(ctx context.Context, c *apiv1.Client, out io.Writer, color, tty bool, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		var screen bytes.Buffer
		if tty {
			screen.WriteString("\x1b[H\x1b[2J") // home, clear
		}
		doc, err := fetchHealth(ctx, c)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			fmt.Fprintf(&screen, "%s  elbow: %v\n", time.Now().Format(time.DateTime), err)
		default:
			screen.WriteString(renderHealth(doc, time.Now(), color))
		}
		fmt.Fprintf(&screen, "\n(refreshing every %s; Ctrl-C to quit)\n", interval)
		if !tty {
			screen.WriteString("\n")
		}
		if _, err := out.Write(screen.Bytes()); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

var statusColors = map[monitor.Color]string{
	monitor.Green:  "\x1b[32m",
	monitor.Yellow: "\x1b[33m",
	monitor.Red:    "\x1b[31m",
	monitor.Grey:   "\x1b[90m",
}

// paint pads s to width, then colors it, so that escapes do not upset columns.
func paint(s string, width int, c monitor.Color, color bool) string {
	padded := fmt.Sprintf("%-*s", width, s)
	if !color {
		return padded
	}
	code, ok := statusColors[c]
	if !ok {
		return padded
	}
	return code + s + "\x1b[0m" + padded[len(s):]
}

// renderHealth lays the documents out as `eb health` does
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-ebcli.html).
func renderHealth(d *healthDoc, now time.Time, color bool) string {
	var b strings.Builder
	env, list := d.Environment, d.Instances.InstanceHealthList
	status := env.HealthStatus.Name()
	fmt.Fprintf(&b, " %-57s%s%s\n", env.EnvironmentName, paint(status, 25, env.HealthStatus.Color(), color), now.Format(time.DateTime))
	fmt.Fprintf(&b, "%-86s%17s\n", "WebServer", "elbow "+env.Status)

	s := env.InstancesHealth
	total := s.Ok + s.Warning + s.Degraded + s.Severe + s.Info + s.Pending + s.Unknown + s.NoData
	b.WriteString("  total      ok    warning  degraded  severe    info   pending  unknown\n")
	fmt.Fprintf(&b, "%5d%9d%9d%9d%9d%9d%9d%9d\n\n", total, s.Ok, s.Warning, s.Degraded, s.Severe, s.Info, s.Pending, s.Unknown+s.NoData)

	idw := 14
	for _, in := range list {
		idw = max(idw, len(in.InstanceId)+2)
	}
	id := func(s string) string { return fmt.Sprintf("  %-*s", idw, s) }
	overall := id("  Overall")

	// Status and causes: one cause a line, under the cause column.
	fmt.Fprintf(&b, "%s%-11s%-55s%s\n", id("instance-id"), "status", "cause", "health")
	statusRow := func(first string, st monitor.Status, causes []string) {
		if len(causes) == 0 {
			fmt.Fprintf(&b, "%s%s\n", first, paint(st.Name(), 0, st.Color(), color))
			return
		}
		fmt.Fprintf(&b, "%s%s", first, paint(st.Name(), 11, st.Color(), color))
		b.WriteString(causes[0] + "\n")
		for _, c := range causes[1:] {
			fmt.Fprintf(&b, "%s%11s%s\n", strings.Repeat(" ", len(first)), "", c)
		}
	}
	statusRow(overall, env.HealthStatus, env.Causes)
	for _, in := range list {
		statusRow(id(in.InstanceId), in.HealthStatus, in.Causes)
	}

	// Requests: the Overall row in percent, instance rows in counts, over
	// the evaluation period the causes above were read from, so that a
	// cause of "100.0 % ... 4xx" stands above 100.0 %4xx (Beanstalk's
	// causes and metrics agree so). A console that predates
	// EvaluationMetrics gives the last 10 s window only; the header says
	// which window the figures cover.
	envMetrics, instMetrics := requestFigures(d)
	b.WriteString(windowHeader(d.Environment.EvaluationMetrics, envMetrics.Duration) + "\n")
	fmt.Fprintf(&b, "%s%5s%8s%7s%7s%7s%9s%9s%9s%8s%8s%11s\n", id("instance-id"),
		"r/sec", "%2xx", "%3xx", "%4xx", "%5xx", "p99", "p90", "p75", "p50", "p10", "requests")
	requestRow := func(first string, m monitor.ApplicationMetrics, percent bool) {
		sc := m.StatusCodes
		codes := []string{strconv.Itoa(sc.Status2xx), strconv.Itoa(sc.Status3xx), strconv.Itoa(sc.Status4xx), strconv.Itoa(sc.Status5xx)}
		if percent {
			for i, n := range []int{sc.Status2xx, sc.Status3xx, sc.Status4xx, sc.Status5xx} {
				pct := 0.0
				if m.RequestCount > 0 {
					pct = 100 * float64(n) / float64(m.RequestCount)
				}
				codes[i] = fmt.Sprintf("%.1f", pct)
			}
		}
		rate := 0.0
		if m.Duration > 0 {
			rate = float64(m.RequestCount) / float64(m.Duration)
		}
		// EBCLI marks percentiles read from too few requests.
		p99, p90 := fmt.Sprintf("%.3f", m.Latency.P99), fmt.Sprintf("%.3f", m.Latency.P90)
		if m.RequestCount < 100 {
			p99 += "*"
		}
		if m.RequestCount < 10 {
			p90 += "*"
		}
		fmt.Fprintf(&b, "%s%5.1f%8s%7s%7s%7s%9s%9s%9.3f%8.3f%8.3f\n", first, rate, codes[0], codes[1], codes[2], codes[3],
			p99, p90, m.Latency.P75, m.Latency.P50, m.Latency.P10)
	}
	requestRow(overall, envMetrics, true)
	for i, in := range list {
		requestRow(id(in.InstanceId), instMetrics[i], false)
	}

	// CPU: what the monitor measured of each instance's process tree.
	fmt.Fprintf(&b, "%s%-11s%-5s%-10s%8s%8s%11s%7s%9s%7s%10s%6s\n", id("instance-id"),
		"type", "az", "running", "load 1", "load 5", "user%", "nice%", "system%", "idle%", "iowait%", "cpu")
	for _, in := range list {
		typ, az := orDash(in.InstanceType), "-"
		if len(in.AvailabilityZone) >= 2 {
			az = in.AvailabilityZone[len(in.AvailabilityZone)-2:]
		}
		fmt.Fprintf(&b, "%s%-11s%-5s%-10s", id(in.InstanceId), typ, az, running(now, in.LaunchedAt))
		if in.System == nil || len(in.System.LoadAverage) < 2 {
			fmt.Fprintf(&b, "%8s%8s%11s%7s%9s%7s%10s\n", "-", "-", "-", "-", "-", "-", "-")
			continue
		}
		cpu := in.System.CPUUtilization
		fmt.Fprintf(&b, "%8.2f%8.2f%11.1f%7.1f%9.1f%7.1f%10.1f\n", in.System.LoadAverage[0], in.System.LoadAverage[1],
			cpu.User, cpu.Nice, cpu.System, cpu.Idle, cpu.IOWait)
	}
	renderDeployments(&b, list, id, now)
	return b.String()
}

// renderDeployments is eb health's deployments table: the version each
// instance runs (its deployment number, label, status and when it was
// deployed), so that a rolling deployment's mixed versions show. Nothing
// when no instance has a version (targets that run elsewhere).
func renderDeployments(b *strings.Builder, list []monitor.SingleInstanceHealth, id func(string) string, now time.Time) {
	w := len("version") + 2
	any := false
	for _, in := range list {
		if in.Deployment != nil {
			any = true
			w = max(w, len(in.Deployment.VersionLabel)+2)
		}
	}
	if !any {
		return
	}
	fmt.Fprintf(b, "%s%-11s%-5s%-*s%-10s%s\n", id("instance-id"), "status", "id", w, "version", "ago", "deployments")
	for _, in := range list {
		d := in.Deployment
		if d == nil {
			fmt.Fprintf(b, "%s%-11s%-5s%-*s%s\n", id(in.InstanceId), "-", "-", w, "-", "-")
			continue
		}
		fmt.Fprintf(b, "%s%-11s%-5d%-*s%s\n", id(in.InstanceId), d.Status, d.DeploymentId, w, d.VersionLabel, running(now, d.DeploymentTime))
	}
}

// requestFigures picks the figures of the requests table: the evaluation
// period's when the console gives them, else the last 10 s window's, the
// same window for every row.
func requestFigures(d *healthDoc) (monitor.ApplicationMetrics, []monitor.ApplicationMetrics) {
	list := d.Instances.InstanceHealthList
	inst := make([]monitor.ApplicationMetrics, len(list))
	if d.Environment.EvaluationMetrics == nil {
		for i, in := range list {
			inst[i] = in.ApplicationMetrics
		}
		return d.Environment.ApplicationMetrics, inst
	}
	for i, in := range list {
		// An instance not yet evaluated has no requests of the period.
		if in.EvaluationMetrics != nil {
			inst[i] = in.EvaluationMetrics.ApplicationMetrics
		}
	}
	return d.Environment.EvaluationMetrics.ApplicationMetrics, inst
}

// windowHeader says which window the requests table covers.
func windowHeader(p *monitor.PeriodMetrics, seconds int) string {
	if p == nil {
		return fmt.Sprintf("  requests over the last %d s", seconds)
	}
	return fmt.Sprintf("  requests over the %d s to %s, the evaluation period the causes are read from", seconds, p.End.Local().Format(time.TimeOnly))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// running words an uptime as EBCLI does: "12 mins".
func running(now, since time.Time) string {
	if since.IsZero() {
		return "-"
	}
	d := now.Sub(since)
	unit := func(n int, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return strconv.Itoa(n) + " " + name + "s"
	}
	switch {
	case d < time.Minute:
		return unit(max(int(d/time.Second), 0), "sec")
	case d < time.Hour:
		return unit(int(d/time.Minute), "min")
	case d < 24*time.Hour:
		return unit(int(d/time.Hour), "hour")
	}
	return unit(int(d/(24*time.Hour)), "day")
}
