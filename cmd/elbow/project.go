package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/ebengine"
	"github.com/elbow-lb/elbow/internal/ebproject"
)

// environmentSource is what `elbow up` and `elbow validate` run: elbow.yaml
// alone, or an Elastic Beanstalk project (a folder, or a source bundle)
// with an optional elbow.yaml beside it.
type environmentSource struct {
	cfg     *config.Config
	project *ebproject.Project
	prov    ebproject.Provenance
	plan    *ebengine.Plan
}

// loadEnvironment reads -c FILE (or ./elbow.yaml), then the Beanstalk
// project of the folder (or bundle, a zip). An elbow.yaml that names the
// app itself (instances.command, sample_app or targets) runs as before,
// whatever else the folder holds; otherwise its settings rank above the
// project's, as Beanstalk ranks settings applied directly to an
// environment above .ebextensions.
func loadEnvironment(file, bundle, network string) (*environmentSource, error) {
	path, err := configPath(file)
	if err != nil {
		return nil, err
	}
	var base *config.Config
	dir, _ := os.Getwd()
	if path != "" {
		// An overlay: beside a project, the file may leave the app to it.
		if base, err = config.LoadOverlay(path); err != nil {
			return nil, err
		}
		dir = filepath.Dir(base.File)
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		if base.Instances.SampleApp || len(base.Instances.Targets) > 0 || !base.Instances.Command.IsZero() {
			if bundle != "" {
				return nil, usageError{fmt.Errorf("%s names the app itself (instances.command, sample_app or targets): a source bundle has nothing to add; remove those keys to run the bundle", path)}
			}
			return &environmentSource{cfg: base}, nil
		}
	}
	opts := ebproject.Options{Branch: gitBranch(dir)}
	var p *ebproject.Project
	switch {
	case bundle != "":
		staging := filepath.Join(dir, ".elbow", "bundle", strings.TrimSuffix(filepath.Base(bundle), filepath.Ext(bundle)))
		if err := os.RemoveAll(staging); err != nil {
			return nil, err
		}
		if p, err = ebproject.LoadBundle(bundle, staging, opts); err != nil {
			return nil, err
		}
	case ebproject.Detect(dir):
		if p, err = ebproject.Load(dir, opts); err != nil {
			return nil, err
		}
	default:
		if base == nil {
			base = config.Default()
		} else if base, err = config.Load(path); err != nil {
			return nil, err // no project: the file must name the app itself
		}
		return &environmentSource{cfg: base}, nil
	}
	cfg, prov, err := p.Apply(base)
	if err != nil {
		return nil, err
	}
	if network != "" {
		cfg.Instances.Network = network
	}
	logDir := cfg.Instances.LogDir
	if logDir == "" {
		logDir = filepath.Join(dir, ".elbow", "logs")
	} else if !filepath.IsAbs(logDir) {
		logDir = filepath.Join(dir, logDir)
	}
	plan, err := ebengine.NewPlan(p, cfg, logDir, filepath.Join(dir, ".elbow", "eb"))
	if err != nil {
		return nil, err
	}
	cfg.Instances.LogDir = logDir
	prov["instances.port"] = ebproject.Source{Default: "the instance's proxy (Beanstalk's default process, port 80)"}
	if plan.Spec.Proxy == "none" {
		prov["instances.port"] = ebproject.Source{Default: "the web process's PORT (no proxy)"}
	}
	return &environmentSource{cfg: cfg, project: p, prov: prov, plan: &plan}, nil
}

// gitBranch is the folder's current git branch, for config.yml's
// branch-defaults; "" when there is none.
func gitBranch(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--abbrev-ref", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

var errNoEnvironment = errors.New("no elbow.yaml and no Elastic Beanstalk project (Procfile, .ebextensions, .platform, .elasticbeanstalk/config.yml, application.py, package.json, application.go) in this directory: give a file with -c FILE")
