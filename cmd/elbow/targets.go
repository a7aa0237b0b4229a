package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/spf13/cobra"
)

func newTargetsCmd() *cobra.Command {
	var (
		target consoleFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "targets [GROUP]",
		Short: "Show target health, as `aws elbv2 describe-target-health` does",
		Long: `targets reads the running environment's console and prints the health of the targets of
GROUP (every target group when none is given) as a table: Id, PrivateIpAddress, Port, HealthCheckPort, State,
Reason, Description, with the diagnosis of an unhealthy target under it.`,
		Args: cobraArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := target.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var names []string
			if len(args) == 1 {
				names = args
			} else {
				groups, _, err := c.TargetGroups(ctx)
				if err != nil {
					return err
				}
				for _, g := range groups.TargetGroups {
					names = append(names, g.TargetGroupName)
				}
			}
			docs := make([]groupTargets, 0, len(names))
			for _, name := range names {
				d, err := fetchTargets(ctx, c, name)
				if err != nil {
					return err
				}
				docs = append(docs, d)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return printTargetsJSON(out, docs, len(args) == 1)
			}
			if len(docs) == 0 {
				_, err := fmt.Fprintln(out, "no target groups")
				return err
			}
			for i, d := range docs {
				if i > 0 {
					fmt.Fprintln(out)
				}
				if _, err := io.WriteString(out, renderTargets(d)); err != nil {
					return err
				}
			}
			return nil
		},
	}
	target.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the DescribeTargetHealth document(s)")
	return cmd
}

// groupTargets is one group's DescribeTargetHealth, decoded and as received.
type groupTargets struct {
	name string
	doc  apiv1.TargetHealthResponse
	raw  []byte
}

func fetchTargets(ctx context.Context, c *apiv1.Client, name string) (groupTargets, error) {
	d := groupTargets{name: name}
	var err error
	d.doc, d.raw, err = c.TargetHealth(ctx, name)
	if ae, ok := errors.AsType[*apiv1.Error](err); ok && ae.StatusCode == http.StatusNotFound {
		return d, fmt.Errorf("target group %q: %w", name, err)
	}
	return d, err
}

// printTargetsJSON prints one group's document as the console gave it, or
// for every group {"TargetGroups": [{"TargetGroupName", "TargetHealthDescriptions"}]}.
func printTargetsJSON(out io.Writer, docs []groupTargets, one bool) error {
	var b []byte
	var err error
	if one {
		var v any
		if err = json.Unmarshal(docs[0].raw, &v); err == nil {
			b, err = json.MarshalIndent(v, "", "  ")
		}
	} else {
		type entry struct {
			TargetGroupName          string          `json:"TargetGroupName"`
			TargetHealthDescriptions json.RawMessage `json:"TargetHealthDescriptions"`
		}
		all := struct {
			TargetGroups []entry `json:"TargetGroups"`
		}{TargetGroups: []entry{}}
		for _, d := range docs {
			var doc struct {
				TargetHealthDescriptions json.RawMessage `json:"TargetHealthDescriptions"`
			}
			if err = json.Unmarshal(d.raw, &doc); err != nil {
				break
			}
			all.TargetGroups = append(all.TargetGroups, entry{d.name, doc.TargetHealthDescriptions})
		}
		if err == nil {
			b, err = json.MarshalIndent(all, "", "  ")
		}
	}
	if err != nil {
		return fmt.Errorf("encoding target health: %w", err)
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

// renderTargets draws the table as the AWS CLI's --output table draws
// describe-target-health queried into columns.
func renderTargets(d groupTargets) string {
	headers := []string{"Id", "PrivateIpAddress", "Port", "HealthCheckPort", "State", "Reason", "Description"}
	type row struct {
		cells     []string
		diagnosis string
	}
	rows := make([]row, 0, len(d.doc.TargetHealthDescriptions))
	for _, t := range d.doc.TargetHealthDescriptions {
		ip := t.PrivateIpAddress
		if ip == "" {
			ip = t.Target.ID // a target registered by address
		}
		r := row{cells: []string{t.Target.ID, ip, strconv.Itoa(t.Target.Port), t.HealthCheckPort,
			string(t.TargetHealth.State), string(t.TargetHealth.Reason), t.TargetHealth.Description}}
		if t.Diagnosis != nil {
			r.diagnosis = t.Diagnosis.Summary
		}
		rows = append(rows, r)
	}
	widths := make([]int, len(headers))
	for i, h := range headers {
		widths[i] = len(h) + 4
	}
	for _, r := range rows {
		for i, c := range r.cells {
			widths[i] = max(widths[i], len(c)+4)
		}
	}
	title := "DescribeTargetHealth: " + d.name
	inner := func() int { // between the outer bars
		n := len(widths) - 1
		for _, w := range widths {
			n += w
		}
		return n
	}
	need := len(title) + 4
	for _, r := range rows {
		if r.diagnosis != "" {
			need = max(need, len("  diagnosis: "+r.diagnosis)+2)
		}
	}
	if extra := need - inner(); extra > 0 {
		widths[len(widths)-1] += extra
	}
	total := inner()

	var b strings.Builder
	sep := func() {
		b.WriteString("+")
		for _, w := range widths {
			b.WriteString(strings.Repeat("-", w) + "+")
		}
		b.WriteString("\n")
	}
	center := func(s string, w int) string {
		left := (w - len(s)) / 2
		return strings.Repeat(" ", left) + s + strings.Repeat(" ", w-len(s)-left)
	}
	b.WriteString(strings.Repeat("-", total+2) + "\n")
	b.WriteString("|" + center(title, total) + "|\n")
	sep()
	b.WriteString("|")
	for i, h := range headers {
		b.WriteString(center(h, widths[i]) + "|")
	}
	b.WriteString("\n")
	sep()
	for _, r := range rows {
		b.WriteString("|")
		for i, c := range r.cells {
			fmt.Fprintf(&b, "  %-*s|", widths[i]-2, c)
		}
		b.WriteString("\n")
		if r.diagnosis != "" {
			fmt.Fprintf(&b, "|%-*s|\n", total, "  diagnosis: "+r.diagnosis)
		}
	}
	sep()
	return b.String()
}
