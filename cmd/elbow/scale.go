package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func newScaleCmd() *cobra.Command {
	var target consoleFlags
	cmd := &cobra.Command{
		Use:   "scale N",
		Short: "Set the number of instances, as `eb scale` does",
		Long: `scale sets the Auto Scaling group's desired capacity to N, which must be within its MinSize and
MaxSize (aws:autoscaling:asg). Instances are launched, or drained and terminated, with their events.`,
		Args: cobraArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 0 {
				return usageError{fmt.Errorf("N %q: want a whole number of instances, 0 or more", args[0])}
			}
			c, err := target.client()
			if err != nil {
				return err
			}
			st, err := c.Scale(cmd.Context(), n)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Desired capacity of %s set to %d (%d running now).\n", st.EnvironmentName, n, st.Instances)
			return err
		},
	}
	target.register(cmd)
	return cmd
}
