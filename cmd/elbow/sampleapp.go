package main

import (
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/elbow-lb/elbow/internal/sampleapp"
	"github.com/spf13/cobra"
)

// newSampleAppCmd runs the built-in sample application. `elbow up` starts it
// as each instance's process, with HOST, PORT and the metadata endpoint in
// its environment; it is hidden from help because users run it through up.
func newSampleAppCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "sample-app",
		Short:  "Run the built-in sample application on $HOST:$PORT",
		Hidden: true,
		Args:   cobraArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, port := os.Getenv("HOST"), os.Getenv("PORT")
			if host == "" {
				host = "127.0.0.1"
			}
			if port == "" {
				port = "8000"
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return sampleapp.Run(ctx, net.JoinHostPort(host, port), os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"), logger)
		},
	}
}
