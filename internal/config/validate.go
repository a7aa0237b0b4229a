package config

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/vpc"
)

// FieldError is one problem in a config file: where, which key, what is wrong
// and what is allowed.
type FieldError struct {
	File string
	Line int
	// Key is the dotted path of the key, such as target_groups[0].health_check.interval.
	Key string
	Msg string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a config, in file order.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// validator collects errors keyed by path; Load attaches file and line.
type validator struct{ errs Errors }

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

func (v *validator) intRange(key string, val, lo, hi int, unit string) {
	if val < lo || val > hi {
		v.add(key, "%d is out of range: must be between %d and %d%s", val, lo, hi, unit)
	}
}

func (v *validator) oneOf(key, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.add(key, "%q is not allowed: must be one of %s", val, strings.Join(allowed, ", "))
}

var targetGroupName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`)

func (c *Config) validate(v *validator) {
	if c.Name == "" {
		v.add("name", "the environment needs a name")
	}
	c.Instances.validate(v, c)
	c.LoadBalancer.validate(v)
	c.EnhancedHealth.validate(v)
	c.Console.validate(v)
	c.Deployment.validate(v)
	c.RollingUpdate.validate(v, &c.Instances)
	c.AutoScaling.validate(v)
	seen := map[string]bool{}
	for i := range c.TargetGroups {
		tg := &c.TargetGroups[i]
		key := fmt.Sprintf("target_groups[%d]", i)
		if seen[tg.Name] {
			v.add(key+".name", "%q is used by another target group: names must be unique", tg.Name)
		}
		seen[tg.Name] = true
		tg.validate(v, key)
	}
	for i := range c.Listeners {
		c.Listeners[i].validate(v, fmt.Sprintf("listeners[%d]", i), c)
	}
}

func (in *Instances) validate(v *validator, c *Config) {
	sources := 0
	for _, set := range []bool{!in.Command.IsZero(), in.SampleApp, len(in.Targets) > 0} {
		if set {
			sources++
		}
	}
	if sources != 1 && !(c.overlay && sources == 0) {
		v.add("instances", "give exactly one of command (the app to launch), sample_app: true, or targets (addresses already running)")
	}
	v.intRange("instances.port", in.Port, 1, 65535, "")
	if len(in.Targets) == 0 {
		v.intRange("instances.min", in.Min, 1, 64, " instances")
		if in.Max < in.Min {
			v.add("instances.max", "%d is smaller than min %d: max must be at least min", in.Max, in.Min)
		} else {
			// Instance N lives on 127.0.0.(N+1), so at most 253 fit in 127.0.0.0/24.
			v.intRange("instances.max", in.Max, 1, 253, " instances")
		}
	}
	for i, t := range in.Targets {
		if _, err := netip.ParseAddrPort(t); err != nil {
			v.add(fmt.Sprintf("instances.targets[%d]", i), "%q is not an ip:port address, such as 127.0.0.1:8000", t)
		}
	}
	v.oneOf("instances.metadata_options.http_tokens", in.MetadataOptions.HTTPTokens, "optional", "required")
	v.intRange("instances.metadata_options.port", in.MetadataOptions.Port, 1, 65535, "")
	// EC2's range for HttpPutResponseHopLimit (ModifyInstanceMetadataOptions).
	v.intRange("instances.metadata_options.http_put_response_hop_limit", in.MetadataOptions.HTTPPutResponseHopLimit, 1, 64, "")
	v.oneOf("instances.network", in.Network, "loopback", "vpc")
	if p, err := netip.ParsePrefix(in.VPCCIDR); err != nil {
		v.add("instances.vpc_cidr", "%q is not a CIDR block, such as 172.31.0.0/16", in.VPCCIDR)
	} else if err := vpc.ValidateCIDR(p); err != nil {
		v.add("instances.vpc_cidr", "%s %v", in.VPCCIDR, err)
	}
	if in.Network == "vpc" && len(in.Targets) > 0 {
		v.add("instances.network", "vpc places the instances elbow launches; targets already running elsewhere are reached where they are: use network: loopback with targets")
	}
	if in.MetadataOptions.Port == in.Port {
		v.add("instances.metadata_options.port", "%d is also the app's port: the metadata service needs its own port", in.Port)
	}
	if c.TargetGroup(in.TargetGroup) == nil {
		v.add("instances.target_group", "%q is not a target group of this environment", in.TargetGroup)
	}
}

func (lb *LoadBalancer) validate(v *validator) {
	// ALB idle timeout range, 1-4000 s (ELBv2 attribute idle_timeout.timeout_seconds).
	v.intRange("load_balancer.idle_timeout", lb.IdleTimeout, 1, 4000, " seconds")
	// ALB attribute routing.http.desync_mitigation_mode.
	v.oneOf("load_balancer.desync_mitigation_mode", lb.DesyncMitigationMode, "monitor", "defensive", "strictest")
	// Empty is unset (the diagnosis then uses the listener's address).
	if h := lb.PublicHost; strings.ContainsAny(h, " /\t") {
		v.add("load_balancer.public_host", "%q is not a host name: give the name your users send, such as www.example.com", h)
	}
	if lb.AccessLogs.Enabled && lb.AccessLogs.Path == "" {
		v.add("load_balancer.access_logs.path", "empty: give a file path, or - for standard output")
	}
}

func (tg *TargetGroup) validate(v *validator, key string) {
	if !targetGroupName.MatchString(tg.Name) {
		// CreateTargetGroup Name: up to 32 alphanumerics or hyphens, not starting or ending with a hyphen (ELBv2 API reference, CreateTargetGroup).
		v.add(key+".name", "%q is not a valid target group name: 1-32 letters, digits or hyphens, not beginning or ending with a hyphen", tg.Name)
	}
	v.oneOf(key+".protocol", tg.Protocol, "HTTP", "HTTPS")
	// ProtocolVersion: HTTP1, HTTP2 or GRPC (ELBv2 API reference, CreateTargetGroup).
	v.oneOf(key+".protocol_version", tg.ProtocolVersion, "HTTP1", "HTTP2", "GRPC")
	v.intRange(key+".port", tg.Port, 1, 65535, "")
	// deregistration_delay.timeout_seconds: 0-3600 (ELBv2 API reference, TargetGroupAttribute).
	v.intRange(key+".deregistration_delay", tg.DeregistrationDelay, 0, 3600, " seconds")
	// slow_start.duration_seconds: 30-900, or 0 for off (ELBv2 API reference, TargetGroupAttribute).
	if tg.SlowStart != 0 && (tg.SlowStart < 30 || tg.SlowStart > 900) {
		v.add(key+".slow_start", "%d is out of range: must be 0 (off) or between 30 and 900 seconds", tg.SlowStart)
	}
	v.oneOf(key+".load_balancing_algorithm_type", tg.LoadBalancingAlgorithmType, "round_robin", "least_outstanding_requests", "weighted_random")
	if tg.SlowStart != 0 && tg.LoadBalancingAlgorithmType == "least_outstanding_requests" {
		// "Slow start mode is not supported with the least outstanding requests algorithm" (ELBv2 API reference, TargetGroupAttribute).
		v.add(key+".slow_start", "slow start cannot be used with least_outstanding_requests: set slow_start to 0 or use round_robin or weighted_random")
	}
	tg.HealthCheck.validate(v, key+".health_check", tg.ProtocolVersion)
}

// ValidateHealthCheck checks a health_check block alone, for a target group
// of protocolVersion (HTTP1, HTTP2 or GRPC; "" is HTTP1), with the same
// rules and messages as the file; the API uses it for runtime changes.
// Keys are relative to the block (interval, matcher, ...).
func ValidateHealthCheck(h HealthCheck, protocolVersion string) Errors {
	var v validator
	h.validate(&v, "", protocolVersion)
	return v.errs
}

func (h *HealthCheck) validate(v *validator, key, protocolVersion string) {
	k := func(field string) string {
		if key == "" {
			return field
		}
		return key + "." + field
	}
	// One rule for the file, the console and elbow check: the probe writes
	// the path into its request line as it is; a GRPC group's path names a
	// gRPC method.
	grpc := protocolVersion == "GRPC"
	validatePath := healthcheck.ValidatePath
	if grpc {
		validatePath = healthcheck.ValidateGRPCPath
	}
	if err := validatePath(h.Path); err != nil {
		v.add(k("path"), "%s", err)
	}
	if h.Port != "traffic-port" {
		if p, err := strconv.Atoi(h.Port); err != nil || p < 1 || p > 65535 {
			v.add(k("port"), "%q is not allowed: must be traffic-port or a port between 1 and 65535", h.Port)
		}
	}
	v.oneOf(k("protocol"), h.Protocol, "HTTP", "HTTPS")
	// Ranges from the ELBv2 API model (botocore elbv2/2015-12-01/service-2.json).
	v.intRange(k("interval"), h.Interval, 5, 300, " seconds")
	v.intRange(k("timeout"), h.Timeout, 2, 120, " seconds")
	if h.Timeout >= h.Interval {
		// AWS's ValidationError, verbatim (botocore elbv2/2015-12-01/service-2.json).
		v.add(key, "Health check interval must be greater than the timeout. (interval %d, timeout %d)", h.Interval, h.Timeout)
	}
	v.intRange(k("healthy_threshold"), h.HealthyThreshold, 2, 10, "")
	v.intRange(k("unhealthy_threshold"), h.UnhealthyThreshold, 2, 10, "")
	if grpc {
		if _, err := healthcheck.ParseGRPCMatcher(h.Matcher); err != nil {
			if errors.Is(err, healthcheck.ErrEmptyGRPCMatcher) {
				v.add(k("matcher"), "%v (allowed: gRPC codes between 0 and 99 as 12, 0,1 or 0-5)", err)
			} else {
				v.add(k("matcher"), "%q: %v; a GRPC target group's matcher holds gRPC codes 0-99, as 12, 0,1 or 0-5", h.Matcher, err)
			}
		}
	} else if _, err := healthcheck.ParseMatcher(h.Matcher); err != nil {
		if errors.Is(err, healthcheck.ErrEmptyMatcher) {
			v.add(k("matcher"), "%v (allowed: codes between 200 and 499 as 200, 200,202 or 200-299)", err)
		} else {
			v.add(k("matcher"), "%q: %v; the forms are 200, 200,202 or 200-299", h.Matcher, err)
		}
	}
}

func (l *Listener) validate(v *validator, key string, c *Config) {
	v.oneOf(key+".protocol", l.Protocol, "HTTP", "HTTPS")
	if _, err := netip.ParseAddr(l.Address); err != nil && l.Address != "localhost" {
		v.add(key+".address", "%q is not an IP address, such as 127.0.0.1", l.Address)
	}
	v.intRange(key+".port", l.Port, 1, 65535, "")
	if (l.CertificateFile == "") != (l.KeyFile == "") {
		v.add(key, "give both certificate_file and key_file, or neither for a self-signed certificate")
	}
	if l.Protocol == "HTTP" && l.CertificateFile != "" {
		v.add(key+".certificate_file", "is set on an HTTP listener: certificates apply to HTTPS listeners only")
	}
	l.DefaultAction.validate(v, key+".default_action", c)
	l.checkProtocolVersions(v, key+".default_action", &l.DefaultAction, c)
	priorities := map[int]bool{}
	for i := range l.Rules {
		r := &l.Rules[i]
		rk := fmt.Sprintf("%s.rules[%d]", key, i)
		v.intRange(rk+".priority", r.Priority, 1, 50000, "")
		if priorities[r.Priority] {
			v.add(rk+".priority", "%d is used by another rule of this listener: priorities must be unique", r.Priority)
		}
		priorities[r.Priority] = true
		if len(r.Conditions) == 0 {
			v.add(rk+".conditions", "a rule needs at least one condition")
		}
		for j := range r.Conditions {
			r.Conditions[j].validate(v, fmt.Sprintf("%s.conditions[%d]", rk, j))
		}
		r.Action.validate(v, rk+".action", c)
		l.checkProtocolVersions(v, rk+".action", &r.Action, c)
	}
}

// checkProtocolVersions refuses an HTTP listener that forwards to an HTTP2
// or GRPC group: HTTP/2 to targets needs HTTP/2 from clients, which only
// HTTPS listeners offer. The message is CreateListener's ValidationError.
func (l *Listener) checkProtocolVersions(v *validator, key string, a *Action, c *Config) {
	if l.Protocol != "HTTP" || a.Type != "forward" {
		return
	}
	for _, g := range a.TargetGroups() {
		if tg := c.TargetGroup(g.Name); tg != nil && (tg.ProtocolVersion == "HTTP2" || tg.ProtocolVersion == "GRPC") {
			v.add(key, "Listener protocol 'HTTP' is not supported with a target group with the protocol-version '%s' (target group %q): use an HTTPS listener, or protocol_version HTTP1", tg.ProtocolVersion, g.Name)
		}
	}
}

func (cd *Condition) validate(v *validator, key string) {
	set := 0
	for _, b := range []bool{len(cd.HostHeader) > 0, len(cd.PathPattern) > 0, len(cd.HTTPRequestMethod) > 0,
		cd.HTTPHeader != nil, len(cd.QueryString) > 0, len(cd.SourceIP) > 0} {
		if b {
			set++
		}
	}
	if set != 1 {
		v.add(key, "a condition has exactly one of host_header, path_pattern, http_request_method, http_header, query_string or source_ip")
	}
	for i, m := range cd.HTTPRequestMethod {
		if m == "" || strings.ToUpper(m) != m || strings.ContainsAny(m, " \t") {
			v.add(fmt.Sprintf("%s.http_request_method[%d]", key, i), "%q is not a method name: use upper case, such as GET or POST", m)
		}
	}
	if cd.HTTPHeader != nil {
		if cd.HTTPHeader.HTTPHeaderName == "" {
			v.add(key+".http_header.http_header_name", "empty: name the header to match")
		}
		if len(cd.HTTPHeader.Values) == 0 {
			v.add(key+".http_header.values", "empty: give at least one value pattern")
		}
	}
	for i, q := range cd.QueryString {
		if q.Value == "" {
			v.add(fmt.Sprintf("%s.query_string[%d].value", key, i), "empty: a query_string pair needs a value pattern")
		}
	}
	for i, s := range cd.SourceIP {
		if _, err := netip.ParsePrefix(s); err != nil {
			v.add(fmt.Sprintf("%s.source_ip[%d]", key, i), "%q is not a CIDR block, such as 127.0.0.0/8", s)
		}
	}
}

var fixedStatus = regexp.MustCompile(`^[245]\d\d$`)

func (a *Action) validate(v *validator, key string, c *Config) {
	v.oneOf(key+".type", a.Type, "forward", "redirect", "fixed-response")
	switch a.Type {
	case "forward":
		if a.Redirect != nil || a.FixedResponse != nil {
			v.add(key, "a forward action takes target_group or forward, not redirect or fixed_response")
		}
		if (a.TargetGroup == "") == (a.Forward == nil) {
			v.add(key, "a forward action takes exactly one of target_group or forward")
			return
		}
		groups := a.TargetGroups()
		if len(groups) == 0 {
			v.add(key+".forward.target_groups", "empty: forward to at least one target group")
		}
		for i, g := range groups {
			gk := key + ".target_group"
			if a.Forward != nil {
				gk = fmt.Sprintf("%s.forward.target_groups[%d]", key, i)
			}
			if c.TargetGroup(g.Name) == nil {
				v.add(gk, "%q is not a target group of this environment", g.Name)
			}
			// Forward weights 0-999 (ELBv2 API reference, Action).
			v.intRange(gk+".weight", *g.Weight, 0, 999, "")
		}
	case "redirect":
		r := a.Redirect
		if r == nil {
			v.add(key+".redirect", "missing: a redirect action needs a redirect block")
			return
		}
		v.oneOf(key+".redirect.status_code", r.StatusCode, "HTTP_301", "HTTP_302")
		if r.Protocol != "" && r.Protocol != "#{protocol}" {
			v.oneOf(key+".redirect.protocol", r.Protocol, "HTTP", "HTTPS", "#{protocol}")
		}
		if r.Protocol == "" && r.Host == "" && r.Port == "" && r.Path == "" && r.Query == "" {
			// "You must change at least one of protocol, host, port or path" (ELBv2 API reference, Action).
			v.add(key+".redirect", "a redirect must change at least one of protocol, host, port or path")
		}
		if r.Path != "" && !strings.HasPrefix(r.Path, "/") {
			v.add(key+".redirect.path", "%q must begin with /", r.Path)
		}
	case "fixed-response":
		f := a.FixedResponse
		if f == nil {
			v.add(key+".fixed_response", "missing: a fixed-response action needs a fixed_response block")
			return
		}
		if !fixedStatus.MatchString(f.StatusCode) {
			v.add(key+".fixed_response.status_code", "%q is not allowed: must be a 2XX, 4XX or 5XX code", f.StatusCode)
		}
		v.oneOf(key+".fixed_response.content_type", f.ContentType, "text/plain", "text/css", "text/html", "application/javascript", "application/json")
		if len(f.MessageBody) > 1024 {
			v.add(key+".fixed_response.message_body", "has %d characters: at most 1024", len(f.MessageBody))
		}
	}
}
