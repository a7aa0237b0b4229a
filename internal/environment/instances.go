package environment

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// startInstances registers the targets the file names, or launches the
// fleet of instances in the instances' target group.
func (e *Env) startInstances(ctx context.Context) error {
	in := e.cfg.Instances
	group := e.groups[in.TargetGroup]
	if len(in.Targets) > 0 {
		for _, addr := range in.Targets {
			ap := netip.MustParseAddrPort(addr) // validated at load
			t := healthcheck.Target{ID: ap.Addr().String(), IP: ap.Addr().String(), Port: int(ap.Port())}
			e.monitor.AddInstance(t.ID, time.Now(), func() int { return 0 })
			group.Register(t)
		}
		e.monitor.SetCapacity(len(in.Targets), len(in.Targets))
		return nil
	}
	f, err := e.newFleet(e.opts, group)
	if err != nil {
		return err
	}
	e.fleet = f
	return f.Start(ctx)
}

func (e *Env) newFleet(o Options, group *targetgroup.Group) (*fleet.Fleet, error) {
	in := e.cfg.Instances
	base := e.baseDir()
	argv, err := e.instanceCommand(e.cfg)
	if err != nil {
		return nil, err
	}
	prepare := e.startMetadataService
	var output func(fleet.Instance, string)
	if e.beanstalk != nil {
		if argv, err = e.engineCommand(e.beanstalk.specPath); err != nil {
			return nil, err
		}
		prepare, output = e.prepareBeanstalk, e.engineOutput
	}
	dir := in.Dir
	if dir != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join(base, dir)
	}
	logDir := in.LogDir
	if logDir == "" {
		logDir = filepath.Join(base, ".elbow", "logs")
	} else if !filepath.IsAbs(logDir) {
		logDir = filepath.Join(base, logDir)
	}
	if e.beanstalk == nil {
		e.mu.Lock()
		e.logDir = logDir
		e.mu.Unlock()
	}
	return fleet.New(fleet.Config{
		Command: argv, Dir: dir, Env: instanceEnv(in.Env), Port: in.Port, Min: in.Min, Max: in.Max, LogDir: logDir,
		Version: initialLabel(e.cfg, e.started),
		Logger:  e.log, Network: e.placer(),
		Hooks: fleet.Hooks{
			Prepare: prepare,
			Output:  output,
			Launched: func(inst fleet.Instance) {
				if e.beanstalk == nil {
					e.linkInstanceLog(logDir, inst.ID)
				}
				t := targetOf(inst)
				e.mu.Lock()
				e.targets[inst.ID] = t
				online := len(e.targets)
				e.mu.Unlock()
				e.monitor.AddInstance(inst.ID, time.Now(), func() int {
					if st, ok := e.fleet.Status(inst.ID); ok {
						return st.SupervisorPID
					}
					return 0
				})
				e.monitor.SetCapacity(e.Config().Instances.Min, online)
				if st, ok := e.fleet.Status(inst.ID); ok {
					e.monitor.SetInstanceVersion(inst.ID, st.Version, st.Deployment)
				}
				group.Register(t)
			},
			Terminating: func(ctx context.Context, inst fleet.Instance) {
				select {
				case <-group.Deregister(targetOf(inst)):
				case <-ctx.Done():
				}
				e.mu.Lock()
				delete(e.targets, inst.ID)
				online := len(e.targets)
				e.mu.Unlock()
				e.monitor.RemoveInstance(inst.ID)
				e.monitor.SetCapacity(e.Config().Instances.Min, online)
			},
			Event: func(ev fleet.Event) {
				e.events(Event{Time: ev.Time, Source: SourceInstance, Severity: string(ev.Severity), Message: ev.Message})
			},
		},
	})
}

func targetOf(inst fleet.Instance) healthcheck.Target {
	return healthcheck.Target{ID: inst.ID, IP: inst.IP.String(), Port: inst.Port}
}

func (e *Env) baseDir() string {
	if e.cfg.File == "" {
		wd, _ := os.Getwd()
		return wd
	}
	return filepath.Dir(e.cfg.File)
}

// placer is the fleet's network: the VPC in vpc mode, else none (loopback).
func (e *Env) placer() fleet.Network {
	if e.vpc == nil {
		return nil
	}
	return vpcPlacer{e}
}
