package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/elbow-lb/elbow/internal/ebengine"
	"github.com/spf13/cobra"
)

// newEBEngineCmd is the deployment engine each instance of a Beanstalk
// project runs (package ebengine); elbow up starts it, users do not.
func newEBEngineCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "eb-engine SPEC",
		Short:  "Deploy and run an Elastic Beanstalk project on this instance (started by elbow up)",
		Hidden: true,
		Args:   cobraArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := ebengine.ReadSpec(args[0])
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(os.Getenv("HOST"))
			if err != nil || os.Getenv("ELBOW_INSTANCE_ID") == "" {
				return fmt.Errorf("eb-engine runs on an instance that elbow up launched (HOST and ELBOW_INSTANCE_ID are not set)")
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return ebengine.Run(ctx, spec, ebengine.Instance{
				ID: os.Getenv("ELBOW_INSTANCE_ID"), IP: ip, Leader: os.Getenv("ELBOW_EB_LEADER") == "1",
			}, cmd.OutOrStdout())
		},
	}
}
