package ebproject

import (
	"sort"
	"strings"
)

// What the AWS API (package awsapi/ebapi) reads of the option table:
// DescribeConfigurationOptions lists the options, UpdateEnvironment checks
// a value with the same rules and wording as an .ebextensions file.

// OptionDescription is one option of the table, in the terms of
// Beanstalk's ConfigurationOptionDescription
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_ConfigurationOptionDescription.html).
type OptionDescription struct {
	Namespace string
	Name      string
	// Default is Beanstalk's default, "" when it has none.
	Default string
	// Min and Max bound a whole number; nil when unbounded or not a number.
	Min, Max *int
	// Values are the allowed values of an enumeration or a boolean.
	Values []string
	// Regex is the pattern a path or status-code list must match, "" for none.
	Regex string
}

// OptionTable lists the options of the table's namespaces, by namespace then
// name. Templates appear once, as their "default" namespace
// (aws:elasticbeanstalk:environment:process:default); namespaces that take
// any option name (environment properties, static files) have no entries.
func OptionTable() []OptionDescription {
	var out []OptionDescription
	for ns, spec := range namespaces {
		for name, o := range spec.options {
			d := OptionDescription{Namespace: ns, Name: name, Default: o.def}
			switch o.kind {
			case kInt, kNumber:
				lo := o.min
				d.Min = &lo
				if o.hasMax {
					hi := o.max
					d.Max = &hi
				}
			case kEnum:
				d.Values = append([]string(nil), o.enum...)
			case kBool:
				d.Values = []string{"true", "false"}
			case kPath:
				d.Regex = "^/.*$"
			case kMatcher:
				d.Regex = `^((\d{3}(-\d{3})?)|(\d{3}(,\d{3})*))$`
			}
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// CheckOption checks value for ns/option as an .ebextensions file's
// option_settings are checked. known is false when the table has no such
// namespace or option (the caller words that itself); msg is "" when the
// value is valid, else Beanstalk's "Invalid option value: ..." message.
func CheckOption(ns, option, value string) (msg string, known bool) {
	spec, ok := lookup(ns)
	if !ok {
		return "", false
	}
	if spec.free {
		return checkOption(ns, option, value), true
	}
	if _, ok := spec.options[option]; !ok {
		return "", false
	}
	return checkOption(ns, option, value), true
}

// OptionDefault is Beanstalk's default for ns/option, ok false when the
// table has none.
func OptionDefault(ns, option string) (string, bool) {
	spec, ok := lookup(ns)
	if !ok || spec.free {
		return "", false
	}
	o, ok := spec.options[option]
	if !ok || o.def == "" {
		return "", false
	}
	return o.def, true
}

// ProcessNamespace reports whether ns is a process namespace
// (aws:elasticbeanstalk:environment:process:NAME) and names the process.
func ProcessNamespace(ns string) (name string, ok bool) {
	name, ok = strings.CutPrefix(ns, nsProcessPrefix)
	return name, ok && name != ""
}
