package ebproject

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// extFile is what one .ebextensions file asks for.
type extFile struct {
	settings   []Setting
	commands   []ContainerCommand
	files      []File
	notApplied []NotApplied
	asg        *Setting
	asgGrace   *Setting
	warnings   []Warning
}

// validKeys are the top-level keys of a configuration file
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/ebextensions.html).
var validKeys = map[string]bool{
	"option_settings": true, "Resources": true, "packages": true, "groups": true, "users": true,
	"sources": true, "files": true, "commands": true, "services": true, "container_commands": true,
}

// notAppliedWhy says why elbow leaves a key alone: each changes the host,
// not the app, and elbow's instances share the machine elbow runs on.
var notAppliedWhy = map[string]string{
	"commands": "commands run as root on the instance before the app is extracted (packages, system settings); " +
		"elbow's instances share your machine, so it does not run them: use container_commands or .platform/hooks for app steps",
	"packages": "packages installs yum, rpm, rubygems or python packages on the instance's system; elbow does not install " +
		"packages on your machine: install them yourself, or list Python packages in requirements.txt",
	"users":    "users creates Linux users on the instance; elbow does not create users on your machine",
	"groups":   "groups creates Linux groups on the instance; elbow does not create groups on your machine",
	"services": "services manages sysvinit services on the instance; elbow does not manage your machine's services",
	"sources":  "sources downloads an archive from the network into a folder; elbow sends no traffic beyond loopback",
}

// appDirs are where Beanstalk's Linux platforms keep the app: the staging
// copy during deployment and the current one after
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/platforms-linux-extend.html).
var appDirs = []string{"/var/app/current/", "/var/app/staging/"}

// hardError is a problem Beanstalk fails the deployment for.
type hardError struct {
	file string
	line int
	msg  string
}

func (e *hardError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	}
	return e.file + ": " + e.msg
}

// parseExtension reads one configuration file; rel names it in messages.
func parseExtension(rel string, data []byte) (*extFile, error) {
	root, err := parseDoc(data)
	if err != nil {
		// Beanstalk's event for it, as quoted in
		// https://github.com/awsdocs/aws-elastic-beanstalk-developer-guide/issues/126.
		line, msg := splitLine(err.Error())
		if l := problemLine(data, msg); l > 0 {
			line = l
		}
		return nil, &hardError{rel, line, fmt.Sprintf("The configuration file %s contains invalid YAML or JSON: %s. Update the configuration file.", rel, msg)}
	}
	x := &extFile{}
	if root == nil {
		return x, nil
	}
	warn := func(line int, format string, args ...any) {
		x.warnings = append(x.warnings, Warning{File: rel, Line: line, Message: fmt.Sprintf(format, args...)})
	}
	if root.Kind != yaml.MappingNode {
		warn(root.Line, "the file is not a mapping of keys such as option_settings and container_commands")
		return x, nil
	}
	dupes(root, func(k *yaml.Node, first int) {
		// "each top-level key once per file": Beanstalk drops one of them
		// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/ebextensions.html).
		warn(k.Line, "%q is also a key at line %d: each key can appear once per configuration file, and Beanstalk would drop one of the sections; merge them", k.Value, first)
	})
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		src := Source{File: rel, Line: k.Line}
		switch {
		case !validKeys[k.Value]:
			// Beanstalk's warning, as quoted in https://github.com/blueimp/aws-lambda/pull/8.
			msg := fmt.Sprintf("Error processing file (Skipping): '%s' - Contains invalid key: '%s'. For information about valid keys, see https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/ebextensions.html", rel, k.Value)
			if near := nearest(k.Value, keysOf(validKeys)); near != "" {
				msg += " (did you mean " + near + "?)"
			}
			warn(k.Line, "%s", msg)
		case k.Value == "option_settings":
			if err := x.optionSettings(rel, v, warn); err != nil {
				return nil, err
			}
		case k.Value == "container_commands":
			x.containerCommands(rel, v, warn)
		case k.Value == "files":
			x.filesKey(rel, v, warn)
		case k.Value == "Resources":
			x.resources(rel, v)
		default:
			x.notApplied = append(x.notApplied, NotApplied{What: k.Value, Reason: notAppliedWhy[k.Value], Source: src})
		}
	}
	return x, nil
}

// parseDoc parses YAML, or JSON when the file begins with "{".
func parseDoc(data []byte) (*yaml.Node, error) {
	if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '{' {
		return jsonNode(data)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// splitLine takes "yaml: line N: msg" apart.
func splitLine(s string) (int, string) {
	s = strings.TrimPrefix(s, "yaml: ")
	var n int
	if _, err := fmt.Sscanf(s, "line %d:", &n); err == nil {
		if i := strings.Index(s, ": "); i >= 0 {
			return n, s[i+2:]
		}
	}
	return 0, s
}

// dupes calls f for each key of a mapping already seen in it, with the
// line of the first. yaml.v3 keeps both in the node tree (its decoder into
// maps would refuse, and into structs keep the last silently).
func dupes(m *yaml.Node, f func(k *yaml.Node, first int)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if l, ok := seen[k.Value]; ok {
			f(k, l)
			continue
		}
		seen[k.Value] = k.Line
	}
}

func (x *extFile) optionSettings(rel string, v *yaml.Node, warn func(int, string, ...any)) error {
	add := func(ns, opt string, val *yaml.Node, line int) {
		if val != nil && val.Kind != yaml.ScalarNode {
			warn(val.Line, "the value of %s %s must be a string, not a %s", ns, opt, kindName(val))
			return
		}
		value := ""
		if val != nil && val.Tag != "!!null" {
			value = val.Value
		}
		if msg := checkOption(ns, opt, value); msg != "" {
			warn(line, "%s", msg)
			return
		}
		x.settings = append(x.settings, Setting{Namespace: ns, Option: opt, Value: value, Source: Source{File: rel, Line: line}})
	}
	switch v.Kind {
	case yaml.SequenceNode:
		for _, item := range v.Content {
			if item.Kind != yaml.MappingNode {
				// Beanstalk's error, as quoted in
				// https://github.com/awsdocs/aws-elastic-beanstalk-developer-guide/issues/93.
				return &hardError{rel, item.Line, fmt.Sprintf("Each option setting in configuration file %s must be a map. Update each option setting in the configuration file.", rel)}
			}
			dupes(item, func(k *yaml.Node, first int) {
				warn(k.Line, "%q is also a key at line %d of this option setting", k.Value, first)
			})
			ns, opt, line := nsEnv, "", item.Line
			var val *yaml.Node
			for i := 0; i+1 < len(item.Content); i += 2 {
				k, iv := item.Content[i], item.Content[i+1]
				switch k.Value {
				case "namespace":
					ns = iv.Value
				case "option_name":
					opt, line = iv.Value, k.Line
				case "value":
					val = iv
				case "resource_name":
				default:
					warn(k.Line, "%q is not a key of an option setting: use namespace, option_name and value", k.Value)
				}
			}
			if opt == "" {
				warn(item.Line, "an option setting needs option_name")
				continue
			}
			add(ns, opt, val, line)
		}
	case yaml.MappingNode:
		dupes(v, func(k *yaml.Node, first int) {
			warn(k.Line, "namespace %q is also a key at line %d: merge its options into one", k.Value, first)
		})
		for i := 0; i+1 < len(v.Content); i += 2 {
			nsk, opts := v.Content[i], v.Content[i+1]
			if opts.Kind != yaml.MappingNode {
				warn(nsk.Line, "namespace %s must map option names to values, such as\n  %s:\n    OptionName: value", nsk.Value, nsk.Value)
				continue
			}
			dupes(opts, func(k *yaml.Node, first int) {
				warn(k.Line, "option %q of %s is also set at line %d", k.Value, nsk.Value, first)
			})
			for j := 0; j+1 < len(opts.Content); j += 2 {
				add(nsk.Value, opts.Content[j].Value, opts.Content[j+1], opts.Content[j].Line)
			}
		}
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return nil
		}
		fallthrough
	default:
		warn(v.Line, "option_settings must be a list of namespace/option_name/value, or a mapping of namespaces to options")
	}
	return nil
}

func (x *extFile) containerCommands(rel string, v *yaml.Node, warn func(int, string, ...any)) {
	if v.Kind != yaml.MappingNode {
		if v.Tag != "!!null" {
			warn(v.Line, "container_commands must map names to commands")
		}
		return
	}
	dupes(v, func(k *yaml.Node, first int) {
		warn(k.Line, "container command %q is also defined at line %d", k.Value, first)
	})
	var cmds []ContainerCommand
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, body := v.Content[i], v.Content[i+1]
		c := ContainerCommand{Name: k.Value, Source: Source{File: rel, Line: k.Line}}
		if body.Kind != yaml.MappingNode {
			warn(k.Line, "container command %s must be a mapping with command (and cwd, env, leader_only, ignoreErrors, test)", k.Value)
			continue
		}
		for j := 0; j+1 < len(body.Content); j += 2 {
			ok, ov := body.Content[j], body.Content[j+1]
			switch ok.Value {
			case "command":
				switch ov.Kind {
				case yaml.ScalarNode:
					c.Command = ov.Value
				case yaml.SequenceNode:
					for _, a := range ov.Content {
						c.Argv = append(c.Argv, a.Value)
					}
				}
			case "cwd":
				c.Cwd = ov.Value
			case "test":
				c.Test = ov.Value
			case "leader_only", "ignoreErrors":
				b, good := boolValue(ov)
				if !good {
					warn(ov.Line, "%s of container command %s is %q: it takes true or false", ok.Value, k.Value, ov.Value)
				}
				if ok.Value == "leader_only" {
					c.LeaderOnly = b
				} else {
					c.IgnoreErrors = b
				}
			case "env":
				c.Env = map[string]string{}
				for e := 0; e+1 < len(ov.Content); e += 2 {
					c.Env[ov.Content[e].Value] = ov.Content[e+1].Value
				}
			default:
				warn(ok.Line, "%q is not a key of a container command: use command, cwd, env, leader_only, ignoreErrors or test", ok.Value)
			}
		}
		if c.Command == "" && len(c.Argv) == 0 {
			warn(k.Line, "container command %s has no command", k.Value)
			continue
		}
		cmds = append(cmds, c)
	}
	// "Commands are processed in alphabetical order by name"
	// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/customize-containers-ec2.html#linux-container-commands).
	sort.SliceStable(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	x.commands = append(x.commands, cmds...)
}

func boolValue(n *yaml.Node) (bool, bool) {
	switch strings.ToLower(n.Value) {
	case "true":
		return true, true
	case "false", "":
		return false, true
	}
	return false, false
}

func (x *extFile) filesKey(rel string, v *yaml.Node, warn func(int, string, ...any)) {
	if v.Kind != yaml.MappingNode {
		if v.Tag != "!!null" {
			warn(v.Line, "files must map paths to file definitions")
		}
		return
	}
	dupes(v, func(k *yaml.Node, first int) { warn(k.Line, "file %q is also defined at line %d", k.Value, first) })
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, body := v.Content[i], v.Content[i+1]
		f := File{Path: k.Value, Source: Source{File: rel, Line: k.Line}}
		for j := 0; j+1 < len(body.Content); j += 2 {
			val := body.Content[j+1].Value
			switch body.Content[j].Value {
			case "content":
				f.Content = val
			case "source":
				f.URL = val
			case "mode":
				f.Mode = val
			case "owner":
				f.Owner = val
			case "group":
				f.Group = val
			case "encoding":
				f.Encoding = val
			case "authentication":
			default:
				warn(body.Content[j].Line, "%q is not a key of a file: use content or source, mode, owner, group, encoding", body.Content[j].Value)
			}
		}
		for _, d := range appDirs {
			if rest, ok := strings.CutPrefix(path.Clean(f.Path), d); ok && rest != "" && !strings.HasPrefix(rest, "../") {
				f.AppPath = rest
			}
		}
		switch {
		case f.AppPath == "":
			why := fmt.Sprintf("%s is outside the app folder (%s): elbow writes files only inside the app", f.Path, strings.TrimSuffix(appDirs[0], "/"))
			if strings.HasPrefix(f.Path, "/etc/nginx/conf.d/") && strings.HasSuffix(f.Path, ".conf") {
				why += "; put it in .platform/nginx/conf.d/" + path.Base(f.Path) + ", where the instance's nginx reads it"
			}
			x.notApplied = append(x.notApplied, NotApplied{What: "files " + f.Path, Reason: why, Source: f.Source})
		case f.URL != "":
			x.notApplied = append(x.notApplied, NotApplied{What: "files " + f.Path, Reason: "its source is fetched from " + f.URL + "; elbow sends no traffic beyond loopback", Source: f.Source})
		default:
			x.files = append(x.files, f)
		}
	}
}

// resources records the Auto Scaling group's health check type and grace
// period, which elbow applies, and lists every other resource as not applied.
func (x *extFile) resources(rel string, v *yaml.Node) {
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, body := v.Content[i], v.Content[i+1]
		src := Source{File: rel, Line: k.Line}
		if k.Value == "AWSEBAutoScalingGroup" {
			if props := child(body, "Properties"); props != nil {
				known := 0
				for _, opt := range []struct {
					name string
					dst  **Setting
				}{{"HealthCheckType", &x.asg}, {"HealthCheckGracePeriod", &x.asgGrace}} {
					if n := child(props, opt.name); n != nil {
						*opt.dst = &Setting{Namespace: nsASGResource, Option: opt.name, Value: n.Value, Source: Source{File: rel, Line: n.Line}}
						known++
					}
				}
				// An override of these two alone is applied in full;
				// anything more is listed as not applied.
				if known > 0 && len(props.Content) == 2*known && len(body.Content) == 2 {
					continue
				}
			}
		}
		x.notApplied = append(x.notApplied, NotApplied{What: "Resources." + k.Value,
			Reason: "Resources are CloudFormation resources of the AWS account; elbow does not create AWS resources", Source: src})
	}
}

func child(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "scalar"
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// nearest is the closest of names to s, when close enough to be a typo.
func nearest(s string, names []string) string {
	best, bestD := "", 1<<30
	for _, n := range names {
		if d := distance(strings.ToLower(s), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	if bestD <= max(2, len(s)/3) {
		return best
	}
	return ""
}

// problemLine is the first line at which data, cut there, fails with msg:
// yaml.v3 reports the line where the construct around a problem began, not
// the problem's own (gopkg.in/yaml.v3 parserc.go, context marks).
func problemLine(data []byte, msg string) int {
	end := 0
	for n := 1; end < len(data); n++ {
		if i := bytes.IndexByte(data[end:], '\n'); i < 0 {
			end = len(data)
		} else {
			end += i + 1
		}
		if _, err := parseDoc(data[:end]); err != nil {
			if _, m := splitLine(err.Error()); m == msg {
				return n
			}
		}
	}
	return 0
}
