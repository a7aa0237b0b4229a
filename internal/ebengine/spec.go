package ebengine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/elbow-lb/elbow/internal/ebproject"
)

// Spec is what every instance of an environment deploys: the project as
// read, and where things go. elbow writes it once as JSON; each instance's
// engine reads it.
type Spec struct {
	// ProjectDir is the project folder, copied into each instance's staging folder.
	ProjectDir string
	// RunDir holds each instance's staging and current copies and nginx's
	// files: RunDir/<instance-id>/.
	RunDir string
	// LogDir holds each instance's logs: LogDir/<instance-id>/.
	LogDir   string
	Platform string
	// Network is loopback or vpc (see the package doc).
	Network string
	// Processes of the Procfile (web first is not required), or the
	// platform's default web process; HasProcfile tells which.
	Processes   []ebproject.Process
	HasProcfile bool
	Build       []ebproject.Process
	Commands    []ebproject.ContainerCommand
	Files       []ebproject.File
	// Hooks by stage (prebuild, predeploy, postdeploy), paths relative to the project.
	Hooks map[string][]string
	// AppPort is where the web process listens behind the proxy (PORT).
	AppPort int
	// InstancePort is the port the load balancer reaches each instance on:
	// nginx's, or the web process's own with no proxy.
	InstancePort int
	// Proxy is "nginx" or "none".
	Proxy       string
	StaticFiles map[string]string
	NginxConf   string   // .platform/nginx/nginx.conf, relative; "" for the platform's
	NginxConfD  []string // .platform/nginx/conf.d/*.conf, relative
}

// Write saves the spec to path.
func (s Spec) Write(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// ReadSpec reads a spec Write saved.
func ReadSpec(path string) (Spec, error) {
	var s Spec
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("deployment spec %s: %w", path, err)
	}
	return s, nil
}
