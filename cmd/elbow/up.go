package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/ebengine"
	"github.com/elbow-lb/elbow/internal/environment"
	"github.com/elbow-lb/elbow/internal/vpc"
	"github.com/spf13/cobra"
)

func newUpCmd() *cobra.Command {
	var file string
	var verbose bool
	var network string
	cmd := &cobra.Command{
		Use:   "up [-c FILE] [BUNDLE.zip]",
		Short: "Stand up the environment: instances, load balancer, health checks, console",
		Long: `up runs the environment described by elbow.yaml (or -c FILE). Without a file it runs
the built-in sample environment: the sample application on 2 instances (127.0.0.2 and
127.0.0.3, port 8000, each with its own metadata service) behind an HTTP listener on
http://127.0.0.1:8080, with the console on http://127.0.0.1:8099.

It prints the listeners, the console and the instances, then every target health
change, enhanced-health event and instance event as it happens. Ctrl-C (SIGINT or
SIGTERM) drains and stops every instance, then exits.

In an Elastic Beanstalk project folder (Procfile, .ebextensions, .platform,
.elasticbeanstalk/config.yml, application.py, package.json or application.go), or given
a source bundle zip, up runs the project as Beanstalk does on each instance: hooks,
container_commands, every Procfile process, Beanstalk's nginx in front of web, the logs
(elbow logs). An elbow.yaml beside the project adds to or overrides its settings.`,
		Args: cobraArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if network != "" && network != "loopback" && network != "vpc" {
				return fmt.Errorf("--network %q: must be loopback (instances on 127.0.0.N, no privilege) or vpc (each instance in its own network namespace with a 172.31.x.y address, needs root)", network)
			}
			bundle := ""
			if len(args) == 1 {
				bundle = args[0]
			}
			src, err := loadEnvironment(file, bundle, network)
			if err != nil {
				return err
			}
			cfg := src.cfg
			if network != "" {
				if network == "vpc" && len(cfg.Instances.Targets) > 0 {
					return fmt.Errorf("--network vpc: the environment registers targets already running (instances.targets); vpc mode places instances elbow launches")
				}
				cfg.Instances.Network = network
			}
			w := &watched{files: watchedFiles(cfg, src.plan, bundle)}
			w.load = func(running *config.Config) (*config.Config, error) {
				src, err := loadEnvironment(file, "", network)
				if err != nil {
					return nil, err
				}
				if network != "" {
					src.cfg.Instances.Network = network
				}
				if src.plan != nil {
					keepInstancePort(src.cfg, running)
				}
				return src.cfg, nil
			}
			tuneGC(os.Getenv)
			return runUp(cmd.Context(), cfg, src.plan, w, cmd.OutOrStdout(), cmd.ErrOrStderr(), verbose)
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "environment file (default: elbow.yaml in the current directory, else the built-in sample environment)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also log every internal step to standard error")
	cmd.Flags().StringVar(&network, "network", "", "loopback or vpc: overrides instances.network (vpc needs root)")
	return cmd
}

func runUp(ctx context.Context, cfg *config.Config, plan *ebengine.Plan, w *watched, stdout, stderr io.Writer, verbose bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	out := &upOutput{stdout: stdout, stderr: stderr}
	logger := slog.New(&logHandler{out: out, level: level})
	say := out.say
	source := "the built-in sample environment"
	switch {
	case plan != nil && cfg.File != "":
		source = "the Elastic Beanstalk project " + plan.Spec.ProjectDir + " and " + cfg.File
	case plan != nil:
		source = "the Elastic Beanstalk project " + plan.Spec.ProjectDir
	case cfg.File != "":
		source = cfg.File
	}
	say("elbow: starting environment %q from %s", cfg.Name, source)
	env, err := environment.Start(ctx, cfg, environment.Options{
		Logger:    logger,
		Beanstalk: plan,
		Events: func(ev environment.Event) {
			out.event(stdout, ev.Time, ev.Severity, ev.Message)
		},
	})
	if err != nil {
		return fmt.Errorf("starting environment %q: %w", cfg.Name, err)
	}
	for _, l := range env.Listeners() {
		line := fmt.Sprintf("  listener  %-5s %s", l.Protocol(), l.URL())
		if fp := l.CertificateFingerprint(); fp != "" {
			line += "  (self-signed certificate, SHA-256 " + fp + ")"
		}
		say("%s", line)
	}
	say("  console   %s  (elbow health, elbow targets, %s/metrics)", env.ConsoleURL(), env.ConsoleURL())
	if n := env.VPC(); n != nil {
		say("  vpc       %s  (load balancer %s; instances reached only inside it: elbow ssh INSTANCE)", n.CIDR(), n.LoadBalancerAddr())
	}
	for _, in := range env.Instances() {
		if env.VPC() != nil {
			say("  instance  %s  %s  %s  (metadata service http://169.254.169.254)", in.ID, in.Addr(), vpc.Hostname(in.IP))
			continue
		}
		say("  instance  %s  %s  (metadata service http://%s:%d)", in.ID, in.Addr(), in.IP, cfg.Instances.MetadataOptions.Port)
	}
	for _, t := range cfg.Instances.Targets {
		say("  target    %s", t)
	}
	say("elbow: environment %q is up; Ctrl-C stops it", cfg.Name)
	if w != nil && len(w.files()) > 0 {
		go watchConfig(ctx, env, w, say)
	}

	<-ctx.Done()
	stop()
	say("elbow: stopping: draining and stopping every instance (Ctrl-C again to force)")
	stopCtx, cancel := context.WithTimeout(context.Background(), time.Duration(maxDrain(cfg))*time.Second+15*time.Second)
	defer cancel()
	force := make(chan os.Signal, 1)
	signal.Notify(force, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(force)
	go func() {
		select {
		case <-force:
			cancel()
		case <-stopCtx.Done():
		}
	}()
	if err := env.Stop(stopCtx); err != nil {
		return err
	}
	say("elbow: environment %q stopped", cfg.Name)
	return nil
}

// watched is what the environment is read from, and how to read it again:
// elbow.yaml, and for a Beanstalk project its .ebextensions and
// .elasticbeanstalk/config.yml too.
type watched struct {
	files func() []string
	load  func(running *config.Config) (*config.Config, error)
}

// keepInstancePort keeps the port a project's instances run on: elbow
// chose it at start (nginx on 80, or 10080 where 80 cannot be bound), and
// reading the project again while its nginx holds port 80 would choose
// otherwise.
func keepInstancePort(next, running *config.Config) {
	port := next.Instances.Port
	next.Instances.Port = running.Instances.Port
	for i, tg := range next.TargetGroups {
		if tg.Name == next.Instances.TargetGroup && tg.Port == port {
			if old := running.TargetGroup(tg.Name); old != nil {
				next.TargetGroups[i].Port = old.Port
			}
		}
	}
}

// watchedFiles lists the files whose change reloads the environment: its
// elbow.yaml, and a project's configuration files (a source bundle is
// read once).
func watchedFiles(cfg *config.Config, plan *ebengine.Plan, bundle string) func() []string {
	return func() []string {
		var files []string
		if cfg.File != "" {
			files = append(files, cfg.File)
		}
		if plan != nil && bundle == "" {
			dir := plan.Spec.ProjectDir
			found, _ := filepath.Glob(filepath.Join(dir, ".ebextensions", "*.config"))
			files = append(files, found...)
			files = append(files, filepath.Join(dir, ".elasticbeanstalk", "config.yml"))
		}
		return files
	}
}

// fingerprint is the content of every watched file, with its name.
func (w *watched) fingerprint() []byte {
	var b bytes.Buffer
	for _, f := range w.files() {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		b.WriteString(f)
		b.WriteByte(0)
		b.Write(data)
		b.WriteByte(0)
	}
	return b.Bytes()
}

// watchConfig reloads the environment on SIGHUP and when a watched file
// changes (polled every second: no dependency, and editors that replace the
// file are seen too). An invalid file is refused with its errors printed, and
// the running environment stays as it was.
func watchConfig(ctx context.Context, env *environment.Env, w *watched, say func(string, ...any)) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	last := w.fingerprint()
	waiting := false // a reload waits for an update to end
	path := strings.Join(w.files(), ", ")
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		forced := false
		select {
		case <-ctx.Done():
			return
		case <-hup:
			forced = true
		case <-tick.C:
		}
		data := w.fingerprint()
		if !forced && bytes.Equal(data, last) {
			continue
		}
		last = data
		next, err := w.load(env.Config())
		if err != nil {
			var es config.Errors
			if errors.As(err, &es) {
				say("elbow: reload of %s refused, the environment is unchanged; %d error(s):", path, len(es))
				for _, e := range es {
					say("  %s", e)
				}
			} else {
				say("elbow: reload of %s refused, the environment is unchanged: %v", path, err)
			}
			continue
		}
		// ReloadFile, not Reload: it says first which change made through
		// the API or the console the file would undo.
		applied, err := env.ReloadFile(ctx, next)
		if err != nil && len(applied) > 0 {
			say("elbow: reloaded %s: applied %s; then failed: %v", path, strings.Join(applied, "; "), err)
			continue
		}
		if errors.Is(err, console.ErrUpdateInProgress) {
			// Tried again each second until the update ends.
			if !waiting {
				say("elbow: reload of %s waits: an update is in progress; the change applies when it ends", path)
				waiting = true
			}
			last = nil
			continue
		}
		waiting = false
		if err != nil {
			say("elbow: reload of %s refused, the environment is unchanged:\n  %s", path, strings.ReplaceAll(err.Error(), "\n", "\n  "))
			continue
		}
		if len(applied) == 0 {
			say("elbow: reloaded %s: nothing changed", path)
			continue
		}
		say("elbow: reloaded %s: applied %s", path, strings.Join(applied, "; "))
	}
}

func maxDrain(cfg *config.Config) int {
	m := 0
	for _, tg := range cfg.TargetGroups {
		m = max(m, tg.DeregistrationDelay)
	}
	return m
}
