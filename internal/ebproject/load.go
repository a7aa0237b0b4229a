package ebproject

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Options of Load.
type Options struct {
	// Branch is the git branch, for config.yml's branch-defaults; "" uses global.
	Branch string
	// Direct are settings applied directly to the environment (Beanstalk's
	// highest rank, above .ebextensions).
	Direct []Setting
}

// markers are the files and folders that make a folder a Beanstalk project.
var markers = []string{"Procfile", ".ebextensions", ".platform", ".elasticbeanstalk/config.yml", "application.py", "package.json", "application.go"}

// Detect reports whether dir holds a Beanstalk project.
func Detect(dir string) bool {
	for _, m := range markers {
		if _, err := os.Stat(filepath.Join(dir, m)); err == nil {
			return true
		}
	}
	return false
}

// Load reads the project in dir. A malformed Procfile, Buildfile,
// config.yml or an .ebextensions file that is not YAML or JSON is an error,
// as Beanstalk fails the deployment for them; other .ebextensions problems
// are Warnings and their file is ignored, as Beanstalk does.
func Load(dir string, opts Options) (*Project, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("project folder %s: %w", dir, err)
	}
	p := &Project{Dir: abs, Hooks: map[string][]string{}, ConfigHooks: map[string][]string{}}
	if p.EB, err = readEBConfig(abs, opts.Branch); err != nil {
		return nil, err
	}
	p.detectPlatform()
	var procfile, buildfile []Process
	if procfile, err = readProcfile(abs, "Procfile"); err != nil {
		return nil, err
	}
	if buildfile, err = readProcfile(abs, "Buildfile"); err != nil {
		return nil, err
	}
	p.Build = buildfile
	if procfile != nil {
		if _, ok := findProcess(procfile, "web"); !ok {
			return nil, fmt.Errorf(`Procfile: no "web" process: Beanstalk puts the process named web behind the proxy; add a line such as web: gunicorn --bind 127.0.0.1:8000 app.wsgi`)
		}
		p.Processes, p.HasProcfile = procfile, true
	}
	exts, err := p.readExtensions()
	if err != nil {
		return nil, err
	}
	p.merge(exts, opts.Direct)
	if !p.HasProcfile {
		p.platformDefault()
	}
	for _, stage := range []string{"prebuild", "predeploy", "postdeploy"} {
		p.Hooks[stage] = listFiles(abs, ".platform/hooks/"+stage, "")
		p.ConfigHooks[stage] = listFiles(abs, ".platform/confighooks/"+stage, "")
	}
	if fileExists(filepath.Join(abs, ".platform/nginx/nginx.conf")) {
		p.NginxConf = ".platform/nginx/nginx.conf"
	}
	p.NginxConfD = listFiles(abs, ".platform/nginx/conf.d", ".conf")
	return p, nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// listFiles lists the regular files of dir (relative to root) with suffix,
// sorted: hooks run "in lexicographical order of file name"
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/platforms-linux-extend.html).
func listFiles(root, dir, suffix string) []string {
	entries, err := os.ReadDir(filepath.Join(root, dir))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), suffix) {
			out = append(out, dir+"/"+e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// procLine is Beanstalk's rule for a Procfile or Buildfile line
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/platforms-linux-extend.html#platforms-linux-extend.proc).
var procLine = regexp.MustCompile(`^([A-Za-z0-9_-]+):\s*([^\s].*)$`)

// readProcfile parses name (Procfile or Buildfile); nil when it is absent.
// Blank lines are skipped; every other line, a # line included, must match
// Beanstalk's pattern, which has no comments.
func readProcfile(dir, name string) ([]Process, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	procs := []Process{}
	seen := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := procLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: %q is not a process line: each line is <name>: <command>, the name made of letters, digits, _ or - (Beanstalk's pattern ^[A-Za-z0-9_-]+:\\s*[^\\s].*$; a Procfile has no comments)", name, i+1, line)
		}
		if first, ok := seen[m[1]]; ok {
			return nil, fmt.Errorf("%s:%d: process %q is also defined at line %d: names must be unique", name, i+1, m[1], first)
		}
		seen[m[1]] = i + 1
		procs = append(procs, Process{Name: m[1], Command: strings.TrimRight(m[2], " \t"), Source: Source{File: name, Line: i + 1}})
	}
	if len(procs) == 0 {
		return nil, fmt.Errorf("%s: the file is empty: give at least one line <name>: <command>", name)
	}
	return procs, nil
}

func findProcess(ps []Process, name string) (Process, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return Process{}, false
}

const ebConfigFile = ".elasticbeanstalk/config.yml"

// readEBConfig reads the EB CLI's config.yml: a key of the branch's
// branch-defaults wins over global, as the EB CLI's
// get_config_setting_from_branch_or_default does
// (aws/aws-elastic-beanstalk-cli, ebcli/operations/commonops.py).
func readEBConfig(dir, branch string) (*EBConfig, error) {
	data, err := os.ReadFile(filepath.Join(dir, ebConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ebConfigFile, err)
	}
	var raw struct {
		BranchDefaults map[string]map[string]*string `yaml:"branch-defaults"`
		Global         map[string]any                `yaml:"global"`
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := splitLine(err.Error())
		if l := problemLine(data, msg); l > 0 {
			line = l
		}
		return nil, fmt.Errorf("%s:%d: not valid YAML: %s", ebConfigFile, line, msg)
	}
	if len(doc.Content) == 0 {
		return &EBConfig{Source: Source{File: ebConfigFile}}, nil
	}
	if err := doc.Content[0].Decode(&raw); err != nil {
		line, msg := splitLine(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "))
		return nil, fmt.Errorf("%s:%d: %s: want branch-defaults: {<branch>: {environment: …}} and global: {application_name: …, default_region: …, default_platform: …}", ebConfigFile, line, msg)
	}
	str := func(k string) string {
		if v, ok := raw.Global[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	c := &EBConfig{ApplicationName: str("application_name"), Region: str("default_region"),
		DefaultPlatform: str("default_platform"), Environment: str("environment"), Source: Source{File: ebConfigFile}}
	if b, ok := raw.BranchDefaults[branch]; ok && branch != "" {
		if e := b["environment"]; e != nil && *e != "" {
			c.Environment = *e
		}
	}
	return c, nil
}

// detectPlatform takes the platform config.yml names, else the one its files show
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/create-deploy-python-container.html,
// create_deploy_nodejs.container.html, go-environment.html).
func (p *Project) detectPlatform() {
	if p.EB != nil && p.EB.DefaultPlatform != "" {
		name := strings.ToLower(p.EB.DefaultPlatform)
		for _, c := range []struct{ prefix, platform string }{
			{"python", Python}, {"node.js", NodeJS}, {"nodejs", NodeJS}, {"node", NodeJS}, {"go ", Go}, {"go-", Go},
		} {
			if strings.HasPrefix(name, c.prefix) || name == strings.TrimSpace(c.prefix) {
				p.Platform, p.PlatformSource = c.platform, Source{File: ebConfigFile}
				return
			}
		}
	}
	for _, c := range []struct{ file, platform string }{
		{"application.py", Python}, {"requirements.txt", Python}, {"Pipfile", Python}, {"manage.py", Python},
		{"package.json", NodeJS}, {"app.js", NodeJS}, {"server.js", NodeJS},
		{"application.go", Go}, {"go.mod", Go}, {"bin/application", Go}, {"application", Go},
	} {
		if fileExists(filepath.Join(p.Dir, c.file)) {
			p.Platform, p.PlatformSource = c.platform, Source{File: c.file}
			return
		}
	}
}

// AppPort is the port the web process listens on: the PORT environment
// property, else the platform's default (Python 8000, Node.js 8080, Go
// 5000; https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/platforms-linux-extend.html#platforms-linux-extend.proxy).
func (p *Project) AppPort() (int, Source) {
	if s, ok := p.Setting(nsEnv, "PORT"); ok {
		if n, err := strconv.Atoi(s.Value); err == nil {
			return n, s.Source
		}
	}
	switch p.Platform {
	case Python:
		return 8000, PlatformDefault
	case NodeJS:
		return 8080, PlatformDefault
	}
	return 5000, PlatformDefault
}

// platformDefault is the web process Beanstalk's Amazon Linux 2 platforms
// start without a Procfile.
func (p *Project) platformDefault() {
	port, _ := p.AppPort()
	var cmd string
	switch p.Platform {
	case Python:
		// Gunicorn with WSGIPath, NumProcesses and NumThreads
		// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-specific.html#command-options-python).
		wsgi, _ := p.Setting(nsPython, "WSGIPath")
		procs, _ := p.Setting(nsPython, "NumProcesses")
		threads, _ := p.Setting(nsPython, "NumThreads")
		cmd = fmt.Sprintf("gunicorn --bind 127.0.0.1:%d --workers=%s --threads=%s %s", port, procs.Value, threads.Value, wsgi.Value)
	case NodeJS:
		// npm start with a package.json, else node app.js, then server.js
		// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/create_deploy_nodejs.container.html).
		switch {
		case fileExists(filepath.Join(p.Dir, "package.json")):
			cmd = "npm start"
		case fileExists(filepath.Join(p.Dir, "app.js")):
			cmd = "node app.js"
		case fileExists(filepath.Join(p.Dir, "server.js")):
			cmd = "node server.js"
		}
	case Go:
		// A binary at bin/application or application, else application.go built
		// to bin/application (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/go-environment.html).
		switch {
		case fileExists(filepath.Join(p.Dir, "bin/application")):
			cmd = "./bin/application"
		case fileExists(filepath.Join(p.Dir, "application")):
			cmd = "./application"
		case fileExists(filepath.Join(p.Dir, "application.go")):
			if p.Build == nil {
				p.Build = []Process{{Name: "build", Command: "go build -o bin/application application.go", Source: PlatformDefault}}
			}
			cmd = "./bin/application"
		}
	}
	if cmd != "" {
		p.Processes = []Process{{Name: "web", Command: cmd, Source: PlatformDefault}}
	}
}

// readExtensions parses .ebextensions/*.config in alphabetical order
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options.html#configuration-options-precedence).
// A file with a warning is ignored as a whole.
func (p *Project) readExtensions() ([]*extFile, error) {
	var out []*extFile
	for _, rel := range listFiles(p.Dir, ".ebextensions", ".config") {
		data, err := os.ReadFile(filepath.Join(p.Dir, rel))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", rel, err)
		}
		x, err := parseExtension(rel, data)
		if err != nil {
			return nil, err
		}
		if len(x.warnings) > 0 {
			p.Warnings = append(p.Warnings, x.warnings...)
			// Beanstalk: "Error processing file (Skipping)".
			p.Warnings = append(p.Warnings, Warning{File: rel, Message: "Error processing file (Skipping): none of its option_settings, container_commands or files are applied"})
			continue
		}
		out = append(out, x)
	}
	return out, nil
}

// merge ranks the sources as Beanstalk does: settings applied directly,
// then .ebextensions (a later file over an earlier one), then defaults.
func (p *Project) merge(exts []*extFile, direct []Setting) {
	type key struct{ ns, opt string }
	set := map[key]Setting{}
	for ns, spec := range namespaces {
		if strings.HasSuffix(ns, ":default") && ns != nsProcessDefault && ns != nsListenerPrefix+"default" {
			continue // the listener-rule template is not a rule
		}
		for opt, o := range spec.options {
			if o.def != "" {
				set[key{ns, opt}] = Setting{Namespace: ns, Option: opt, Value: o.def, Source: BeanstalkDefault}
			}
		}
	}
	named := map[string]bool{}
	for _, x := range exts {
		for _, s := range x.settings {
			if _, known := namespaces[s.Namespace]; !known && !named[s.Namespace] {
				if spec, ok := lookup(s.Namespace); ok {
					named[s.Namespace] = true
					for opt, o := range spec.options {
						if o.def != "" {
							set[key{s.Namespace, opt}] = Setting{Namespace: s.Namespace, Option: opt, Value: o.def, Source: BeanstalkDefault}
						}
					}
				} else {
					p.NotApplied = append(p.NotApplied, NotApplied{What: "namespace " + s.Namespace,
						Reason: "elbow does not model this namespace; its options are kept in the settings and not applied", Source: s.Source})
					named[s.Namespace] = true
				}
			}
			set[key{s.Namespace, s.Option}] = s
		}
		p.ContainerCommands = append(p.ContainerCommands, x.commands...)
		p.Files = append(p.Files, x.files...)
		p.NotApplied = append(p.NotApplied, x.notApplied...)
		if x.asg != nil {
			p.ASGHealthCheckType = x.asg
		}
		if x.asgGrace != nil {
			p.ASGHealthCheckGracePeriod = x.asgGrace
		}
	}
	for _, s := range direct {
		set[key{s.Namespace, s.Option}] = s
	}
	p.Settings = make([]Setting, 0, len(set))
	for _, s := range set {
		p.Settings = append(p.Settings, s)
	}
	sort.Slice(p.Settings, func(i, j int) bool {
		a, b := p.Settings[i], p.Settings[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Option < b.Option
	})
}
