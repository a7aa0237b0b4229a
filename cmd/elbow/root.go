package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// usageError marks errors in how a command was called (exit status 2).
type usageError struct{ error }

func isUsageError(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "elbow",
		Short: "An Elastic Beanstalk web environment on your machine: ALB, health checks, enhanced health",
		Long: `elbow stands up what an AWS Elastic Beanstalk web environment is made of, with real
traffic and real probes: an Application Load Balancer, target-group health checks that
behave on the wire as the ELB health checker does, Elastic Beanstalk enhanced health,
a fleet of app instances each with its own private IP and metadata service, and a
diagnosis that says why a target fails its health check and how to fix it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nrun '%s --help' for usage", err, c.CommandPath())}
	})
	root.AddCommand(
		newVersionCmd(),
		newValidateCmd(),
		newUpCmd(),
		newSampleAppCmd(),
		newCheckCmd(),
		newHealthCmd(),
		newTargetsCmd(),
		newModifyTargetGroupCmd(),
		newSSHCmd(),
		newLogsCmd(),
		newEBEngineCmd(),
		newDeployCmd(),
		newAbortCmd(),
		newScaleCmd(),
		newStatusCmd(),
		newEventsCmd(),
	)
	return root
}

// configPath resolves -c: the flag if given, else elbow.yaml in the working
// directory if present, else "" (the built-in default environment).
func configPath(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if _, err := os.Stat("elbow.yaml"); err == nil {
		return "elbow.yaml", nil
	}
	return "", nil
}

// cobraArgs wraps a positional-args validator so its errors are usage errors.
func cobraArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
