package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/spf13/cobra"
)

func newStatusCmd() *cobra.Command {
	var (
		target consoleFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the environment's details, as `eb status` does",
		Long: `status prints what ` + "`eb status`" + ` prints of the running environment: application, region,
deployed version, environment id, platform, tier, CNAME, last update, status (Ready or Updating) and
health color, and how many instances run.`,
		Args: cobraArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := target.client()
			if err != nil {
				return err
			}
			st, raw, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				_, err = out.Write(raw)
				return err
			}
			_, err = io.WriteString(out, renderStatus(st))
			return err
		},
	}
	target.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the console's document")
	return cmd
}

// renderStatus is the layout of `eb status` (ebcli's
// operations/statusops.py): "Environment details for:" and indented
// "Name: value" lines; Updated as Python prints a UTC datetime.
func renderStatus(st apiv1.EnvironmentStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Environment details for: %s\n", st.EnvironmentName)
	line := func(name, value string) { fmt.Fprintf(&b, "  %s: %s\n", name, value) }
	line("Application name", st.ApplicationName)
	line("Region", st.Region)
	line("Deployed Version", st.VersionLabel)
	line("Environment ID", st.EnvironmentId)
	line("Platform", st.SolutionStackName)
	line("Tier", st.Tier)
	line("CNAME", st.CNAME)
	updated := ""
	if !st.DateUpdated.IsZero() {
		updated = st.DateUpdated.UTC().Format("2006-01-02 15:04:05.000000+00:00")
	}
	line("Updated", updated)
	line("Status", st.Status)
	line("Health", st.Health)
	line("Running instances", fmt.Sprint(st.Instances))
	return b.String()
}
