// Command elbowlb runs elbow's load balancer alone, built from flags, for
// bench/proxy.sh: one HTTP listener forwarding to one target group of the
// given targets, with real health checks. The real `elbow up` wires the
// whole environment; this is the data path and nothing else.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/proxy"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8082", "listener address (ip:port)")
	targets := flag.String("targets", "127.0.0.2:8000,127.0.0.3:8000", "comma-separated target addresses")
	algorithm := flag.String("algorithm", "round_robin", "round_robin, least_outstanding_requests or weighted_random")
	accessLog := flag.String("access-log", "", "access log file, - for standard output; empty: none")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file until exit")
	gcPercent := flag.Int("gc-percent", 0, "garbage collection target percentage (debug.SetGCPercent); 0: the runtime's (GOGC)")
	memoryLimit := flag.Int64("memory-limit", 0, "soft memory limit in bytes (debug.SetMemoryLimit), with -gc-percent -1 the only GC trigger; 0: none")
	noLoop := flag.Bool("no-server-loop", false, "serve clients with net/http's server instead of the listener's connection loop")
	flag.Parse()
	// Process-wide GC settings: the load balancer's heap is small and
	// short-lived, so collecting less often trades a few MiB for CPU.
	if *gcPercent != 0 {
		debug.SetGCPercent(*gcPercent)
	}
	if *memoryLimit > 0 {
		debug.SetMemoryLimit(*memoryLimit)
	}

	o := proxy.Options{DisableServerLoop: *noLoop}
	if err := run(*listen, *targets, *algorithm, *accessLog, *cpuProfile, o); err != nil {
		fmt.Fprintln(os.Stderr, "elbowlb:", err)
		os.Exit(1)
	}
}

func run(listen, targets, algorithm, accessLog, cpuProfile string, o proxy.Options) error {
	ap, err := netip.ParseAddrPort(listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", listen, err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tg := config.DefaultTargetGroup
	tg.Name = "bench"
	tg.Port = 8000
	tg.LoadBalancingAlgorithmType = algorithm
	g, err := targetgroup.New(tg, targetgroup.Options{Logger: log})
	if err != nil {
		return err
	}
	for _, t := range strings.Split(targets, ",") {
		a, err := netip.ParseAddrPort(t)
		if err != nil {
			return fmt.Errorf("target %q: %w", t, err)
		}
		g.Register(healthcheck.Target{ID: t, IP: a.Addr().String(), Port: int(a.Port())})
	}
	cfg := &config.Config{Name: "bench", Region: "us-west-2",
		LoadBalancer: config.LoadBalancer{Name: "bench", IdleTimeout: 60},
		Listeners: []config.Listener{{Protocol: "HTTP", Address: ap.Addr().String(), Port: int(ap.Port()),
			DefaultAction: config.Action{Type: "forward", TargetGroup: "bench"}}}}
	o.Logger = log
	switch accessLog {
	case "":
	case "-":
		o.AccessLog = os.Stdout
	default:
		f, err := os.Create(accessLog)
		if err != nil {
			return err
		}
		defer f.Close()
		o.AccessLog = f
	}
	p, err := proxy.New(cfg, proxy.Groups{"bench": g}, o)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go g.Run(ctx)
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if err := p.Start(); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "elbowlb: listening on", p.Listeners()[0].URL())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.Shutdown(sctx)
}
