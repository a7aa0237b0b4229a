package ebproject

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// kind is how an option's value is checked.
type kind int

const (
	kString kind = iota
	kInt
	kEnum
	kBool
	kPath
	kMatcher
	kHealthURL
	kDuration
	kJSON
	kNumber // a decimal number within min..max
)

// optionSpec is one option: its Beanstalk default ("" when Beanstalk has
// none) and what values it takes.
type optionSpec struct {
	def      string
	kind     kind
	min, max int
	hasMax   bool
	enum     []string
}

func intOpt(def string, lo, hi int) optionSpec {
	return optionSpec{def: def, kind: kInt, min: lo, max: hi, hasMax: true}
}
func minOpt(def string, lo int) optionSpec { return optionSpec{def: def, kind: kInt, min: lo} }
func enumOpt(def string, vals ...string) optionSpec {
	return optionSpec{def: def, kind: kEnum, enum: vals}
}
func boolOpt(def string) optionSpec { return optionSpec{def: def, kind: kBool} }
func strOpt(def string) optionSpec  { return optionSpec{def: def} }

// namespaceSpec is a namespace; free namespaces take any option name.
type namespaceSpec struct {
	options map[string]optionSpec
	free    bool
	// freeKey checks an option name of a free namespace.
	freeKey func(string) string
}

// Process options, the same for the default process and named ones
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html#command-options-general-environmentprocess).
// Elastic Beanstalk's defaults (interval 15, healthy 3, unhealthy 5,
// deregistration 20) differ from a bare target group's.
var processOptions = map[string]optionSpec{
	"DeregistrationDelay":        intOpt("20", 0, 3600),
	"HealthCheckInterval":        intOpt("15", 5, 300),
	"HealthCheckPath":            {def: "/", kind: kPath},
	"HealthCheckTimeout":         intOpt("5", 1, 60),
	"HealthyThresholdCount":      intOpt("3", 2, 10),
	"UnhealthyThresholdCount":    intOpt("5", 2, 10),
	"MatcherHTTPCode":            {def: "200", kind: kMatcher},
	"Port":                       intOpt("80", 1, 65535),
	"Protocol":                   enumOpt("HTTP", "HTTP", "HTTPS", "TCP"),
	"StickinessEnabled":          boolOpt("false"),
	"StickinessLBCookieDuration": intOpt("86400", 1, 604800),
	"StickinessType":             enumOpt("lb_cookie", "lb_cookie"),
}

// Listener options (command-options-general.html#command-options-general-elbv2-listener).
var listenerOptions = map[string]optionSpec{
	"DefaultProcess":     strOpt("default"),
	"ListenerEnabled":    boolOpt("true"),
	"Protocol":           enumOpt("HTTP", "HTTP", "HTTPS"),
	"Rules":              strOpt(""),
	"SSLCertificateArns": strOpt(""),
	"SSLPolicy":          strOpt(""),
}

// Listener rule options (command-options-general.html#command-options-general-elbv2-listenerrule).
var listenerRuleOptions = map[string]optionSpec{
	"HostHeaders":  strOpt(""),
	"PathPatterns": strOpt(""),
	"Priority":     intOpt("1", 1, 1000),
	"Process":      strOpt("default"),
}

const (
	nsProcessPrefix  = "aws:elasticbeanstalk:environment:process:"
	nsProcessDefault = nsProcessPrefix + "default"
	nsApplication    = "aws:elasticbeanstalk:application"
	nsEnv            = "aws:elasticbeanstalk:application:environment"
	nsPython         = "aws:elasticbeanstalk:container:python"
	nsProxy          = "aws:elasticbeanstalk:environment:proxy"
	nsStatic         = "aws:elasticbeanstalk:environment:proxy:staticfiles"
	nsASG            = "aws:autoscaling:asg"
	nsListenerPrefix = "aws:elbv2:listener:"
	nsRulePrefix     = "aws:elbv2:listenerrule:"
	nsLB             = "aws:elbv2:loadbalancer"
	nsHealth         = "aws:elasticbeanstalk:healthreporting:system"
	nsCommand        = "aws:elasticbeanstalk:command"
	nsTrigger        = "aws:autoscaling:trigger"
	nsRolling        = "aws:autoscaling:updatepolicy:rollingupdate"
	nsTraffic        = "aws:elasticbeanstalk:trafficsplitting"
	nsEnvironment    = "aws:elasticbeanstalk:environment"
	nsHealthURL      = "Application Healthcheck URL"
	nsASGResource    = "Resources.AWSEBAutoScalingGroup.Properties"
)

// namespaces is the option table elbow knows, with Beanstalk's defaults and
// ranges from https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html
// and (Python) https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-specific.html.
// The process, listener and listener-rule namespaces are templates: see lookup.
var namespaces = map[string]namespaceSpec{
	nsProcessDefault: {options: processOptions},
	nsApplication: {options: map[string]optionSpec{
		// "If this path isn't set, the load balancer attempts to make a TCP connection on port 80".
		nsHealthURL: {kind: kHealthURL},
	}},
	nsEnv: {free: true, freeKey: func(k string) string {
		if k == "" {
			return "an environment property needs a name"
		}
		return ""
	}},
	nsPython: {options: map[string]optionSpec{
		"WSGIPath":     strOpt("application"),
		"NumProcesses": minOpt("1", 1),
		"NumThreads":   minOpt("15", 1),
	}},
	nsProxy: {options: map[string]optionSpec{
		"ProxyServer": enumOpt("nginx", "nginx", "apache", "none"),
	}},
	nsStatic: {free: true, freeKey: func(k string) string {
		if !strings.HasPrefix(k, "/") {
			return fmt.Sprintf("%q is not a URL path: a static-files mapping is /path: folder, such as /static: static", k)
		}
		return ""
	}},
	nsASG: {options: map[string]optionSpec{
		"MinSize":                   intOpt("1", 1, 10000),
		"MaxSize":                   intOpt("4", 1, 10000),
		"Cooldown":                  intOpt("360", 0, 10000),
		"Availability Zones":        enumOpt("Any", "Any", "Any 1", "Any 2", "Any 3"),
		"Custom Availability Zones": strOpt(""),
		"EnableCapacityRebalancing": boolOpt("false"),
	}},
	nsListenerPrefix + "default": {options: listenerOptions},
	nsRulePrefix + "default":     {options: listenerRuleOptions},
	nsLB: {options: map[string]optionSpec{
		// ALB idle timeout, 1-4000 s (ELBv2 attribute idle_timeout.timeout_seconds).
		"IdleTimeout":          intOpt("", 1, 4000),
		"AccessLogsS3Enabled":  boolOpt("false"),
		"AccessLogsS3Bucket":   strOpt(""),
		"AccessLogsS3Prefix":   strOpt(""),
		"SecurityGroups":       strOpt(""),
		"ManagedSecurityGroup": strOpt(""),
		"SharedLoadBalancer":   strOpt(""),
	}},
	nsHealth: {options: map[string]optionSpec{
		"SystemType":                  enumOpt("basic", "basic", "enhanced"),
		"ConfigDocument":              {kind: kJSON},
		"EnhancedHealthAuthEnabled":   boolOpt("true"),
		"HealthCheckSuccessThreshold": enumOpt("Ok", "Ok", "Warning", "Degraded", "Severe"),
	}},
	nsCommand: {options: map[string]optionSpec{
		"DeploymentPolicy":  enumOpt("AllAtOnce", "AllAtOnce", "Rolling", "RollingWithAdditionalBatch", "Immutable", "TrafficSplitting"),
		"Timeout":           intOpt("600", 1, 3600),
		"BatchSizeType":     enumOpt("Percentage", "Percentage", "Fixed"),
		"BatchSize":         intOpt("100", 1, 10000),
		"IgnoreHealthCheck": boolOpt("false"),
		// The health-enhanced page shows it here too; the options table puts it
		// under healthreporting:system. Both are accepted.
		"HealthCheckSuccessThreshold": enumOpt("Ok", "Ok", "Warning", "Degraded", "Severe"),
	}},
	nsTrigger: {options: map[string]optionSpec{
		"MeasureName": enumOpt("NetworkOut", "CPUUtilization", "NetworkIn", "NetworkOut", "DiskWriteOps", "DiskReadBytes",
			"DiskReadOps", "DiskWriteBytes", "Latency", "RequestCount", "HealthyHostCount", "UnhealthyHostCount", "TargetResponseTime"),
		"Statistic":         enumOpt("Average", "Minimum", "Maximum", "Sum", "Average"),
		"Unit":              enumOpt("Bytes", "Seconds", "Percent", "Bytes", "Bits", "Count", "Bytes/Second", "Bits/Second", "Count/Second", "None"),
		"Period":            minOpt("5", 1),
		"EvaluationPeriods": minOpt("1", 1),
		"BreachDuration":    minOpt("5", 1),
		// Decimals are taken: a Latency threshold is in seconds, such as 0.5.
		"UpperThreshold":            {def: "6000000", kind: kNumber, min: 0, max: 20000000, hasMax: true},
		"LowerThreshold":            {def: "2000000", kind: kNumber, min: 0, max: 20000000, hasMax: true},
		"UpperBreachScaleIncrement": {def: "1", kind: kInt, min: -10000, max: 10000, hasMax: true},
		"LowerBreachScaleIncrement": {def: "-1", kind: kInt, min: -10000, max: 10000, hasMax: true},
	}},
	// Minutes (command-options-general.html#command-options-general-elasticbeanstalktrafficsplitting).
	nsTraffic: {options: map[string]optionSpec{
		"NewVersionPercent": intOpt("10", 1, 100),
		"EvaluationTime":    intOpt("5", 3, 600),
	}},
	nsRolling: {options: map[string]optionSpec{
		"RollingUpdateEnabled":  boolOpt("false"),
		"RollingUpdateType":     enumOpt("Time", "Time", "Health", "Immutable"),
		"MaxBatchSize":          intOpt("", 1, 10000),
		"MinInstancesInService": intOpt("", 0, 9999),
		"PauseTime":             {kind: kDuration},
		"Timeout":               {def: "PT30M", kind: kDuration},
	}},
	nsEnvironment: {options: map[string]optionSpec{
		"EnvironmentType": enumOpt("LoadBalanced", "LoadBalanced", "SingleInstance"),
		// The API's default is classic; the console and EB CLI create application
		// load balancers, and elbow is one.
		"LoadBalancerType":     enumOpt("application", "classic", "application", "network"),
		"LoadBalancerIsShared": boolOpt("false"),
		"ServiceRole":          strOpt(""),
	}},
}

// lookup returns the spec of a namespace, with the template of named
// processes, listeners (default or a port) and listener rules.
func lookup(ns string) (namespaceSpec, bool) {
	if s, ok := namespaces[ns]; ok {
		return s, true
	}
	switch {
	case strings.HasPrefix(ns, nsProcessPrefix) && len(ns) > len(nsProcessPrefix):
		return namespaces[nsProcessDefault], true
	case strings.HasPrefix(ns, nsListenerPrefix) && isPort(ns[len(nsListenerPrefix):]):
		return namespaces[nsListenerPrefix+"default"], true
	case strings.HasPrefix(ns, nsRulePrefix) && len(ns) > len(nsRulePrefix):
		return namespaces[nsRulePrefix+"default"], true
	}
	return namespaceSpec{}, false
}

func isPort(s string) bool {
	p, err := strconv.Atoi(s)
	return err == nil && p >= 1 && p <= 65535 && strconv.Itoa(p) == s
}

// checkOption returns "" when ns/option=value is valid, or Beanstalk's
// message with elbow's fix. Unknown options use Beanstalk's wording
// ("Invalid option specification (Namespace: '…', OptionName: '…'):
// Unknown configuration setting.", as quoted in
// https://github.com/aws/aws-elastic-beanstalk-cli/issues/532).
func checkOption(ns, option, value string) string {
	spec, ok := lookup(ns)
	if !ok {
		return ""
	}
	if spec.free {
		if msg := spec.freeKey(option); msg != "" {
			return fmt.Sprintf("Invalid option specification (Namespace: '%s', OptionName: '%s'): %s", ns, option, msg)
		}
		return ""
	}
	o, ok := spec.options[option]
	if !ok {
		return fmt.Sprintf("Invalid option specification (Namespace: '%s', OptionName: '%s'): Unknown configuration setting. %s",
			ns, option, unknownHint(ns, option, spec))
	}
	if msg := o.check(value); msg != "" {
		return fmt.Sprintf("Invalid option value: '%s' (Namespace: '%s', OptionName: '%s'): %s", value, ns, option, msg)
	}
	return ""
}

// unknownHint says where an option belongs, or the nearest name.
func unknownHint(ns, option string, spec namespaceSpec) string {
	var homes []string
	for name, s := range namespaces {
		if _, ok := s.options[option]; ok && name != ns {
			homes = append(homes, name)
		}
	}
	if len(homes) > 0 {
		sort.Strings(homes)
		return fmt.Sprintf("%s belongs in %s.", option, strings.Join(homes, " or "))
	}
	best, bestD := "", 1<<30
	for name := range spec.options {
		if d := distance(strings.ToLower(option), strings.ToLower(name)); d < bestD || d == bestD && name < best {
			best, bestD = name, d
		}
	}
	if best != "" && bestD <= max(2, len(option)/3) {
		return fmt.Sprintf("Did you mean %s?", best)
	}
	return "Options of this namespace: " + strings.Join(optionNames(spec), ", ") + "."
}

func optionNames(spec namespaceSpec) []string {
	names := make([]string, 0, len(spec.options))
	for n := range spec.options {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var (
	healthURL   = regexp.MustCompile(`^(/\S*|(HTTP|HTTPS|TCP|SSL):\d{1,5}(/\S*)?)$`)
	isoDuration = regexp.MustCompile(`^PT(\d+H)?(\d+M)?(\d+S)?$`)
	matcherPart = regexp.MustCompile(`^(\d{3})(-(\d{3}))?$`)
)

// check validates a value; the range wording is Beanstalk's
// ("Value is less than minimum allowed value: 5").
func (o optionSpec) check(v string) string {
	switch o.kind {
	case kInt:
		n, err := strconv.Atoi(v)
		if err != nil {
			return "Value is not a whole number."
		}
		if n < o.min {
			return fmt.Sprintf("Value is less than minimum allowed value: %d", o.min)
		}
		if o.hasMax && n > o.max {
			return fmt.Sprintf("Value is greater than maximum allowed value: %d", o.max)
		}
	case kNumber:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "Value is not a number."
		}
		if f < float64(o.min) {
			return fmt.Sprintf("Value is less than minimum allowed value: %d", o.min)
		}
		if o.hasMax && f > float64(o.max) {
			return fmt.Sprintf("Value is greater than maximum allowed value: %d", o.max)
		}
	case kEnum:
		for _, e := range o.enum {
			if v == e {
				return ""
			}
		}
		return "Value is not one of the allowed values: " + strings.Join(o.enum, ", ")
	case kBool:
		if v != "true" && v != "false" {
			return "Value is not one of the allowed values: true, false"
		}
	case kPath:
		if !strings.HasPrefix(v, "/") {
			return "Value is not a path beginning with /"
		}
	case kHealthURL:
		if !healthURL.MatchString(v) {
			return "Value is not a health check URL: give a path such as /health, or PROTOCOL:PORT/path such as HTTPS:443/health"
		}
	case kMatcher:
		for _, part := range strings.Split(v, ",") {
			m := matcherPart.FindStringSubmatch(part)
			if m == nil {
				return "Value is not a list of HTTP codes such as 200, 200,202 or 200-299"
			}
			lo, _ := strconv.Atoi(m[1])
			hi := lo
			if m[3] != "" {
				hi, _ = strconv.Atoi(m[3])
			}
			// An application load balancer's matcher takes codes 200-499.
			if lo < 200 || hi > 499 || hi < lo {
				return "Value is out of range: HTTP codes between 200 and 499"
			}
		}
	case kDuration:
		if v != "" && (!isoDuration.MatchString(v) || v == "PT") {
			return "Value is not an ISO 8601 duration such as PT30M"
		}
	case kJSON:
		if v != "" && !json.Valid([]byte(v)) {
			return "Value is not a JSON document"
		}
	}
	return ""
}
