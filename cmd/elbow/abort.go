package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newAbortCmd() *cobra.Command {
	var target consoleFlags
	cmd := &cobra.Command{
		Use:   "abort",
		Short: "Stop the update in progress, as `eb abort` does",
		Long: `abort stops the deployment or configuration update in progress, as AbortEnvironmentUpdate
does: traffic splitting moves the traffic back to the old instances, an immutable update terminates its
new instances, a rolling one stops after the batch in progress.`,
		Args: cobraArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := target.client()
			if err != nil {
				return err
			}
			st, err := c.Abort(cmd.Context())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Aborting update to environment %q.\n", st.EnvironmentName)
			return err
		},
	}
	target.register(cmd)
	return cmd
}
