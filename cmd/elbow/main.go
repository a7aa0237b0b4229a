// Command elbow stands up what an AWS Elastic Beanstalk web environment is
// made of, on one machine: an Application Load Balancer, target-group health
// checks that behave as the ELB health checker does, enhanced health, a fleet
// of app instances with their own metadata services, and a diagnosis of why a
// target fails its health check.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/elbow-lb/elbow/internal/fleet"
)

func main() {
	// An instance's supervisor is this binary re-executed; it must run before anything else.
	fleet.MaybeRunShim()
	os.Exit(run(os.Args[1:]))
}

// exitError carries a specific exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// run executes the CLI and returns the process exit status: 0 success,
// 1 failure (invalid config, failing check), 2 usage error.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(os.Stderr, "elbow:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "elbow:", err)
	if isUsageError(err) {
		return 2
	}
	return 1
}
