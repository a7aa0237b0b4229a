package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/spf13/cobra"
)

// consoleFlags say which environment `elbow health`, `targets` and
// `modify-target-group` talk to, as `eb` reads the environment of the
// folder from .elasticbeanstalk/config.yml
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/eb-cli3-configuration.html):
// --console URL if given, else console.address of the environment file
// (-c FILE, or elbow.yaml in the working directory), else the default.
type consoleFlags struct {
	url  string
	file string
}

func (f *consoleFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "console", "",
		"URL of the environment's console (default: console.address of the environment file, else "+apiv1.DefaultURL+")")
	cmd.Flags().StringVarP(&f.file, "config", "c", "",
		"environment file whose console to use, and whose console.credentials to send (default: elbow.yaml in the current directory)")
}

// credentialsHint says where a command finds the credentials a console asks for.
const credentialsHint = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to the access key id and secret of its console.credentials, " +
	"or run from the directory of its elbow.yaml"

// client returns the API client of the console the flags name. The file is
// read when it gives the address; with --console it is read only if the
// console asks for credentials, and then a file that does not load just
// has none.
func (f *consoleFlags) client() (*apiv1.Client, error) {
	path, _ := configPath(f.file)
	var cfg *config.Config
	base := f.url
	if base == "" {
		base = apiv1.DefaultURL
		if path != "" {
			var err error
			if cfg, err = config.Load(path); err != nil {
				return nil, fmt.Errorf("finding the console in %s (or give --console URL): %w", path, err)
			}
			base = "http://" + dialAddr(cfg.Console.Address)
		}
	}
	credentials := func() (id, secret string, ok bool) {
		id, secret = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if id != "" && secret != "" {
			return id, secret, true // the aws CLI's variables take precedence, as they do for it
		}
		if cfg == nil && path != "" {
			cfg, _ = config.Load(path)
		}
		if cfg == nil || cfg.Console.Credentials == nil {
			return "", "", false
		}
		return cfg.Console.Credentials.AccessKeyID, cfg.Console.Credentials.Secret(), true
	}
	c, err := apiv1.NewClient(base, apiv1.ClientOptions{Credentials: credentials, CredentialsHint: credentialsHint})
	if err != nil {
		return nil, usageError{fmt.Errorf("--console %q: want a URL such as %s", base, apiv1.DefaultURL)}
	}
	return c, nil
}

// dialAddr is the address to reach a console listening on addr: an
// unspecified host (every interface) is reached on loopback.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr // validated at load
	}
	if host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		if ip.Is6() && !ip.Is4In6() {
			return net.JoinHostPort("::1", port)
		}
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}
