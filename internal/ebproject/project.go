package ebproject

import (
	"fmt"
	"strconv"
)

// Source is where a setting came from: a file and line of the project, or
// Beanstalk's (or the platform's) default when File is empty.
type Source struct {
	// File is relative to the project folder, with slashes, such as
	// .ebextensions/healthcheck.config; "" for a default.
	File string
	Line int
	// Default names the default when File is "": "Beanstalk default" or
	// "platform default".
	Default string
}

// Beanstalk's defaults, as `elbow validate --print` shows them.
var (
	BeanstalkDefault = Source{Default: "Beanstalk default"}
	PlatformDefault  = Source{Default: "platform default"}
)

func (s Source) String() string {
	if s.File == "" {
		if s.Default == "" {
			return "Beanstalk default"
		}
		return s.Default
	}
	if s.Line > 0 {
		return s.File + ":" + strconv.Itoa(s.Line)
	}
	return s.File
}

// Setting is one option setting after merging.
type Setting struct {
	Namespace string
	Option    string
	Value     string
	Source    Source
}

// Process is a line of the Procfile or Buildfile, or the platform's default.
type Process struct {
	Name    string
	Command string
	Source  Source
}

// ContainerCommand is one entry of container_commands, run in the staging
// copy of the app before the web process starts.
type ContainerCommand struct {
	Name string
	// Command is a shell command; Argv is set instead when the file gave a list.
	Command      string
	Argv         []string
	Cwd          string
	Env          map[string]string
	LeaderOnly   bool
	IgnoreErrors bool
	Test         string
	Source       Source
}

// File is one entry of files. AppPath is its path inside the app folder
// ("" when it is outside and so not written).
type File struct {
	Path     string
	AppPath  string
	Content  string
	URL      string // "source" key: fetched by Beanstalk, not by elbow
	Mode     string
	Owner    string
	Group    string
	Encoding string
	Source   Source
}

// NotApplied is something the project asks for that elbow does not do, and why.
type NotApplied struct {
	// What names it: "commands", "files /etc/nginx/conf.d/proxy.conf", "Resources.MyBucket".
	What   string
	Reason string
	Source Source
}

// Warning is a problem Beanstalk reports as a warning event: the file it is
// in is ignored as a whole.
type Warning struct {
	File    string
	Line    int
	Message string
}

func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Message)
	}
	return w.File + ": " + w.Message
}

// EBConfig is what .elasticbeanstalk/config.yml names.
type EBConfig struct {
	ApplicationName string
	// Environment of the branch (branch-defaults), else of global.
	Environment     string
	Region          string
	DefaultPlatform string
	Source          Source
}

// Platform names elbow runs.
const (
	Python = "python"
	NodeJS = "nodejs"
	Go     = "go"
)

// Project is a Beanstalk project as Beanstalk reads it.
type Project struct {
	// Dir is the project folder (absolute).
	Dir string
	// Platform is python, nodejs, go, or "" when neither named nor detected.
	Platform       string
	PlatformSource Source
	// Processes of the Procfile in file order; without a Procfile, the
	// platform's default web process (Source PlatformDefault).
	Processes []Process
	// HasProcfile is false when Processes is the platform default.
	HasProcfile bool
	// Build holds the Buildfile's commands (or the Go platform's build).
	Build []Process
	// ContainerCommands of the applied .ebextensions files, file by file in
	// alphabetical order, and by name within a file, as Beanstalk runs them.
	ContainerCommands []ContainerCommand
	// Files of the applied .ebextensions files.
	Files []File
	// NotApplied lists what elbow does not do, each with the reason.
	NotApplied []NotApplied
	// ASGHealthCheckType is Resources.AWSEBAutoScalingGroup.Properties.HealthCheckType
	// (ELB replaces instances whose target fails), nil when not set.
	ASGHealthCheckType *Setting
	// ASGHealthCheckGracePeriod is Resources.AWSEBAutoScalingGroup.Properties.HealthCheckGracePeriod
	// (seconds), nil when not set.
	ASGHealthCheckGracePeriod *Setting
	// Hooks are .platform/hooks/<stage>/ files, and ConfigHooks
	// .platform/confighooks/<stage>/ ones, sorted as Beanstalk runs them,
	// for stages prebuild, predeploy and postdeploy; paths are relative to Dir.
	Hooks       map[string][]string
	ConfigHooks map[string][]string
	// NginxConf is .platform/nginx/nginx.conf when present; NginxConfD the
	// .platform/nginx/conf.d/*.conf files, sorted.
	NginxConf  string
	NginxConfD []string
	// EB is .elasticbeanstalk/config.yml, nil without one.
	EB *EBConfig
	// Settings is every option after merging, sorted by namespace and option.
	Settings []Setting
	// Warnings are the problems of ignored .ebextensions files.
	Warnings []Warning
}

// Setting returns the merged setting of namespace and option.
func (p *Project) Setting(namespace, option string) (Setting, bool) {
	for _, s := range p.Settings {
		if s.Namespace == namespace && s.Option == option {
			return s, true
		}
	}
	return Setting{}, false
}

// Web is the web process.
func (p *Project) Web() (Process, bool) {
	for _, pr := range p.Processes {
		if pr.Name == "web" {
			return pr, true
		}
	}
	return Process{}, false
}
