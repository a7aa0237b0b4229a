package main

import (
	"errors"
	"fmt"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	var file string
	var print bool
	cmd := &cobra.Command{
		Use:   "validate [-c FILE]",
		Short: "Check elbow.yaml and print every error; exit 0 when valid, 1 when not",
		Long: `Validate reads the environment file (elbow.yaml in the current directory, or -c FILE),
applies the defaults and checks every value against the AWS ranges. It prints all
errors, each with file, line, key, value and what is allowed, and exits 1; it exits 0
when the file is valid. --print shows the file as you would write it, with every
default filled in and the settings left unset left out.`,
		Args: cobraArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := configPath(file)
			if err != nil {
				return err
			}
			if path == "" {
				return usageError{errors.New("no elbow.yaml in this directory: give one with -c FILE")}
			}
			c, err := config.Load(path)
			if err != nil {
				var es config.Errors
				if errors.As(err, &es) {
					for _, e := range es {
						fmt.Fprintln(cmd.ErrOrStderr(), e)
					}
					return &exitError{code: 1, err: fmt.Errorf("%s: %d error(s)", path, len(es))}
				}
				return err
			}
			if print {
				b, err := printableConfig(c)
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (environment %q, %d target group(s), %d listener(s))\n",
				path, c.Name, len(c.TargetGroups), len(c.Listeners))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "environment file (default: elbow.yaml in the current directory)")
	cmd.Flags().BoolVar(&print, "print", false, "print the config with every default filled in")
	return cmd
}
