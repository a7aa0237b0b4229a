package config

import (
	"reflect"
	"strconv"
)

// Apply says how a running environment takes the change of one field.
type Apply int

const (
	// Restart: the environment must be stopped and started again (`elbow up`).
	Restart Apply = iota
	// Live: the environment applies the change while it runs.
	Live
	// Update: applied by a configuration update: the instances are
	// redeployed or replaced, batch by batch as rolling_update says, as
	// Beanstalk applies a change to an instance setting
	// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.rollingupdates.html).
	Update
)

func (a Apply) String() string {
	switch a {
	case Live:
		return "live"
	case Update:
		return "update"
	}
	return "restart"
}

// Change is one field that differs between two configs.
type Change struct {
	// Path is where the change is, in the file's own keys, with target
	// groups by name and other list items by index:
	// "target_groups[web].health_check.interval", "listeners[1]" (a listener
	// added or removed), "instances.min".
	Path string
	// Field is the Go field that changed, as the policy table names it:
	// "HealthCheck.Interval".
	Field string
	Apply Apply
}

// policy labels every field of the config structs. A field of struct type is
// not listed itself: its fields are. A list of structs or a pointer to one is
// listed (an item added or removed, a block set or dropped) and so are its
// item's fields. TestDiffCoversEveryField fails for a field without an entry,
// so a new key forces the decision: can a running environment take it?
//
// Update marks what the instances read when they start (their command,
// port, environment and metadata service): a configuration update
// redeploys or replaces them. Restart marks what the running parts read
// only when elbow starts: the console listens on its address; the network
// mode places every instance; the monitor is built with the
// enhanced-health thresholds; a target group's balancer is built with its
// protocol and port. The load balancer attributes and the target group
// attributes that AWS changes live (ModifyLoadBalancerAttributes,
// ModifyTargetGroupAttributes) are Live here too.
var policy = map[string]Apply{
	"Config.Name":         Restart,
	"Config.Region":       Restart,
	"Config.Listeners":    Live,
	"Config.TargetGroups": Live,

	"Instances.Command":          Update,
	"Instances.SampleApp":        Update,
	"Instances.Dir":              Update,
	"Instances.Env":              Update,
	"Instances.Port":             Update,
	"Instances.Min":              Live,
	"Instances.Max":              Live,
	"Instances.TargetGroup":      Restart,
	"Instances.Targets":          Restart,
	"Instances.LogDir":           Restart,
	"MetadataOptions.HTTPTokens": Update,
	"MetadataOptions.Port":       Update,
	"Instances.Network":          Restart,
	"Instances.VPCCIDR":          Restart,

	"MetadataOptions.HTTPPutResponseHopLimit": Update,

	"LoadBalancer.Name":                    Restart,
	"LoadBalancer.IdleTimeout":             Live,
	"LoadBalancer.DropInvalidHeaderFields": Live,
	"LoadBalancer.DesyncMitigationMode":    Live,
	"LoadBalancer.PublicHost":              Restart,
	"LoadBalancer.HTTP2Enabled":            Live,
	"AccessLogs.Enabled":                   Live,
	"AccessLogs.Path":                      Live,

	"Console.Address":                       Restart,
	"Console.Credentials":                   Restart,
	"ConsoleCredentials.AccessKeyID":        Restart,
	"ConsoleCredentials.SecretAccessKey":    Restart,
	"ConsoleCredentials.SecretAccessKeyEnv": Restart,

	"EnhancedHealth.EvaluationPeriod":      Restart,
	"EnhancedHealth.MinRequestRate":        Restart,
	"EnhancedHealth.LaunchGracePeriod":     Restart,
	"EnhancedHealth.TransitionEvaluations": Restart,
	"EnhancedHealth.EventHistory":          Restart,
	"Thresholds.Warning":                   Restart,
	"Thresholds.Degraded":                  Restart,
	"Thresholds.Severe":                    Restart,
	"SwitchableThresholds.Enabled":         Restart,
	"SwitchableThresholds.Warning":         Restart,
	"SwitchableThresholds.Degraded":        Restart,
	"SwitchableThresholds.Severe":          Restart,

	"TargetGroup.Name":                       Live, // the identity: a new name is a group removed and one added
	"TargetGroup.Protocol":                   Restart,
	"TargetGroup.ProtocolVersion":            Restart,
	"TargetGroup.Port":                       Restart,
	"TargetGroup.DeregistrationDelay":        Live,
	"TargetGroup.SlowStart":                  Live,
	"TargetGroup.LoadBalancingAlgorithmType": Live,
	"HealthCheck.Enabled":                    Live,
	"HealthCheck.Path":                       Live,
	"HealthCheck.Port":                       Live,
	"HealthCheck.Protocol":                   Live,
	"HealthCheck.Interval":                   Live,
	"HealthCheck.Timeout":                    Live,
	"HealthCheck.HealthyThreshold":           Live,
	"HealthCheck.UnhealthyThreshold":         Live,
	"HealthCheck.Matcher":                    Live,

	// Listeners: the proxy's Reconfigure swaps rules atomically and
	// replaces a listener whose address, protocol or certificate changed.
	"Listener.Protocol":                  Live,
	"Listener.Address":                   Live,
	"Listener.Port":                      Live,
	"Listener.CertificateFile":           Live,
	"Listener.KeyFile":                   Live,
	"Listener.Rules":                     Live,
	"Rule.Priority":                      Live,
	"Rule.Conditions":                    Live,
	"Condition.HostHeader":               Live,
	"Condition.PathPattern":              Live,
	"Condition.HTTPRequestMethod":        Live,
	"Condition.HTTPHeader":               Live,
	"Condition.QueryString":              Live,
	"Condition.SourceIP":                 Live,
	"HTTPHeaderCondition.HTTPHeaderName": Live,
	"HTTPHeaderCondition.Values":         Live,
	"QueryStringPair.Key":                Live,
	"QueryStringPair.Value":              Live,
	"Action.Type":                        Live,
	"Action.TargetGroup":                 Live,
	"Action.Forward":                     Live,
	"Action.Redirect":                    Live,
	"Action.FixedResponse":               Live,
	"ForwardAction.TargetGroups":         Live,
	"WeightedTargetGroup.Name":           Live,
	"WeightedTargetGroup.Weight":         Live,
	"RedirectAction.Protocol":            Live,
	"RedirectAction.Host":                Live,
	"RedirectAction.Port":                Live,
	"RedirectAction.Path":                Live,
	"RedirectAction.Query":               Live,
	"RedirectAction.StatusCode":          Live,
	"FixedResponseAction.StatusCode":     Live,
	"FixedResponseAction.ContentType":    Live,
	"FixedResponseAction.MessageBody":    Live,

	// Deployments, configuration updates and scaling read their settings
	// each time they act.
	"Deployment.Policy":                      Live,
	"Deployment.BatchSizeType":               Live,
	"Deployment.BatchSize":                   Live,
	"Deployment.Timeout":                     Live,
	"Deployment.IgnoreHealthCheck":           Live,
	"Deployment.HealthCheckSuccessThreshold": Live,
	"Deployment.NewVersionPercent":           Live,
	"Deployment.EvaluationTime":              Live,
	"HealthGate.Checks":                      Live,
	"HealthGate.Window":                      Live,
	"RollingUpdate.Enabled":                  Live,
	"RollingUpdate.Type":                     Live,
	"RollingUpdate.MaxBatchSize":             Live,
	"RollingUpdate.MinInstancesInService":    Live,
	"RollingUpdate.PauseTime":                Live,
	"RollingUpdate.Timeout":                  Live,
	"AutoScaling.Cooldown":                   Live,
	"AutoScaling.HealthCheckType":            Live,
	"AutoScaling.HealthCheckGracePeriod":     Live,
	"Trigger.MeasureName":                    Live,
	"Trigger.Statistic":                      Live,
	"Trigger.Unit":                           Live,
	"Trigger.Period":                         Live,
	"Trigger.BreachDuration":                 Live,
	"Trigger.UpperThreshold":                 Live,
	"Trigger.LowerThreshold":                 Live,
	"Trigger.UpperBreachScaleIncrement":      Live,
	"Trigger.LowerBreachScaleIncrement":      Live,
}

// Diff lists the fields that differ from cur to next, each labelled with how a
// running environment takes it, in the order of the file. Target groups pair
// by name (a group renamed is one removed and one added); other lists pair
// by position, and a list whose length changed is one change of the list.
// An empty list and an absent one are the same.
func Diff(cur, next *Config) []Change {
	var out []Change
	diffStruct(&out, "", reflect.ValueOf(cur).Elem(), reflect.ValueOf(next).Elem())
	return out
}

// Restarts are the changes a running environment cannot take.
func Restarts(changes []Change) []Change {
	var out []Change
	for _, c := range changes {
		if c.Apply == Restart {
			out = append(out, c)
		}
	}
	return out
}

// Updates are the changes a running environment applies by a configuration
// update of its instances (Apply Update).
func Updates(changes []Change) []Change {
	var out []Change
	for _, c := range changes {
		if c.Apply == Update {
			out = append(out, c)
		}
	}
	return out
}

// keyOf is a struct field's key in the file, or "" for a field that is not
// one (yaml:"-", unexported).
func keyOf(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("yaml")
	for i := 0; i < len(tag); i++ {
		if tag[i] == ',' {
			tag = tag[:i]
			break
		}
	}
	if tag == "-" || tag == "" {
		return ""
	}
	return tag
}

// isBlock reports whether t is a struct of file keys, walked field by field.
// A struct without keys (Command, which decodes from a string or a list) is
// a value.
func isBlock(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		if keyOf(t.Field(i)) != "" {
			return true
		}
	}
	return false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func diffStruct(out *[]Change, path string, a, b reflect.Value) {
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key := keyOf(f)
		if key == "" {
			continue
		}
		p, field := join(path, key), t.Name()+"."+f.Name
		change := func(p string) {
			apply, ok := policy[field]
			if !ok {
				apply = Restart // a field nobody decided on: the safe answer (and a failing test)
			}
			*out = append(*out, Change{Path: p, Field: field, Apply: apply})
		}
		fa, fb := a.Field(i), b.Field(i)
		ft := f.Type
		switch {
		case isBlock(ft):
			diffStruct(out, p, fa, fb)
		case ft.Kind() == reflect.Pointer && isBlock(ft.Elem()):
			switch {
			case fa.IsNil() && fb.IsNil():
			case fa.IsNil() || fb.IsNil():
				change(p)
			default:
				diffStruct(out, p, fa.Elem(), fb.Elem())
			}
		case ft.Kind() == reflect.Slice && isBlock(ft.Elem()):
			diffList(out, p, fa, fb, change)
		default:
			if !same(fa, fb) {
				change(p)
			}
		}
	}
}

// diffList pairs items by name when they have one (target groups, the
// groups of a forward), else by position.
func diffList(out *[]Change, path string, a, b reflect.Value, change func(string)) {
	if named(a.Type().Elem()) {
		index := func(v reflect.Value) map[string]int {
			m := make(map[string]int, v.Len())
			for i := range v.Len() {
				m[v.Index(i).FieldByName("Name").String()] = i
			}
			return m
		}
		ia, ib := index(a), index(b)
		for i := range a.Len() {
			name := a.Index(i).FieldByName("Name").String()
			if j, ok := ib[name]; ok {
				diffStruct(out, path+"["+name+"]", a.Index(i), b.Index(j))
			} else {
				change(path + "[" + name + "]")
			}
		}
		for j := range b.Len() {
			if name := b.Index(j).FieldByName("Name").String(); !has(ia, name) {
				change(path + "[" + name + "]")
			}
		}
		return
	}
	if a.Len() != b.Len() {
		change(path)
		return
	}
	for i := range a.Len() {
		diffStruct(out, path+"["+strconv.Itoa(i)+"]", a.Index(i), b.Index(i))
	}
}

// named reports whether items of type t are known by their name key.
func named(t reflect.Type) bool {
	f, ok := t.FieldByName("Name")
	return ok && f.Type.Kind() == reflect.String && keyOf(f) == "name"
}

func has(m map[string]int, k string) bool { _, ok := m[k]; return ok }

// same compares two values of a field; empty and absent lists and maps are the same.
func same(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice, reflect.Map:
		if a.Len() == 0 && b.Len() == 0 {
			return true
		}
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}
