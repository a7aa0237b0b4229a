package main

import (
	"fmt"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/spf13/cobra"
)

func newUpCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "up [-c FILE]",
		Short: "Stand up the environment: instances, load balancer, health checks, console",
		Args:  cobraArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := configPath(file)
			if err != nil {
				return err
			}
			c := config.Default()
			if path != "" {
				if c, err = config.Load(path); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "environment %q: %d listener(s), %d target group(s)\n", c.Name, len(c.Listeners), len(c.TargetGroups))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "environment file (default: elbow.yaml in the current directory, else the built-in sample environment)")
	return cmd
}
