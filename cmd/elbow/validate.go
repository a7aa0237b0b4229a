package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/ebproject"
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
			if wd, _ := os.Getwd(); path == "" && !ebproject.Detect(wd) {
				return usageError{errNoEnvironment}
			}
			src, err := loadEnvironment(file, "", "")
			if err != nil {
				var es config.Errors
				if errors.As(err, &es) {
					for _, e := range es {
						fmt.Fprintln(cmd.ErrOrStderr(), e)
					}
					return &exitError{code: 1, err: fmt.Errorf("%s: %d error(s)", orProject(path), len(es))}
				}
				return &exitError{code: 1, err: err}
			}
			c := src.cfg
			if src.project != nil {
				for _, n := range src.plan.Notices {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", n.Severity, n.Message)
				}
			}
			if print {
				b, err := printableWithSources(c, src.prov)
				if err != nil {
					return err
				}
				if src.project != nil {
					b = append(b, projectSettings(src.project)...)
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			if src.project != nil {
				path = "the Elastic Beanstalk project " + src.project.Dir
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

func orProject(path string) string {
	if path == "" {
		return "the Elastic Beanstalk project"
	}
	return path
}

// projectSettings lists the project's option settings with their sources,
// as a YAML comment after the config.
func projectSettings(p *ebproject.Project) []byte {
	var b strings.Builder
	b.WriteString("# The project's Elastic Beanstalk option settings (namespace: option = value, and where each came from):\n")
	for _, s := range p.Settings {
		fmt.Fprintf(&b, "#   %s: %s = %s   (%s)\n", s.Namespace, s.Option, s.Value, s.Source)
	}
	return []byte(b.String())
}
