package elbv2api

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/awsapi/arn"
	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// groupName is the name of the environment's target group a names, or
// AWS's ValidationError (not an ARN) or TargetGroupNotFound.
func groupName(c *config.Config, a string) (string, error) {
	if a == "" {
		return "", awsapi.Validation("A target group ARN must be specified")
	}
	name, ok := arn.TargetGroupName(a)
	if !ok {
		return "", awsapi.Validation("'%s' is not a valid target group ARN", a)
	}
	if c.TargetGroup(name) == nil || arn.TargetGroup(c.Region, name) != a {
		return "", errTargetGroupNotFound()
	}
	return name, nil
}

// forwardsTo reports whether a listener or a rule forwards to group.
func forwardsTo(c *config.Config, group string) bool {
	uses := func(a config.Action) bool {
		return slices.ContainsFunc(a.TargetGroups(), func(w config.WeightedTargetGroup) bool { return w.Name == group })
	}
	for _, l := range c.Listeners {
		if uses(l.DefaultAction) || slices.ContainsFunc(l.Rules, func(r config.Rule) bool { return uses(r.Action) }) {
			return true
		}
	}
	return false
}

func (s *Service) describeTargetGroup(c *config.Config, tg *config.TargetGroup) targetGroup {
	vpc, _ := s.place(c)
	h := tg.HealthCheck
	out := targetGroup{
		TargetGroupArn: arn.TargetGroup(c.Region, tg.Name), TargetGroupName: tg.Name,
		Protocol: tg.Protocol, Port: tg.Port, VpcID: vpc,
		HealthCheckProtocol: h.Protocol, HealthCheckPort: h.Port, HealthCheckEnabled: h.Enabled,
		HealthCheckIntervalSeconds: h.Interval, HealthCheckTimeoutSeconds: h.Timeout,
		HealthyThresholdCount: h.HealthyThreshold, UnhealthyThresholdCount: h.UnhealthyThreshold,
		HealthCheckPath: h.Path, Matcher: matcher{HTTPCode: h.Matcher},
		// Targets given as addresses are ip targets; the fleet's are instances.
		TargetType: "instance", ProtocolVersion: protocolVersionOf(tg), IPAddressType: "ipv4",
	}
	if out.ProtocolVersion == "GRPC" {
		out.Matcher = matcher{GRPCCode: h.Matcher}
	}
	if len(c.Instances.Targets) > 0 {
		out.TargetType = "ip"
	}
	if forwardsTo(c, tg.Name) {
		out.LoadBalancerArns = []string{s.lbARN(c)}
	}
	return out
}

// protocolVersionOf is the group's ProtocolVersion, HTTP1 when unset.
func protocolVersionOf(tg *config.TargetGroup) string {
	if tg.ProtocolVersion == "" {
		return "HTTP1"
	}
	return tg.ProtocolVersion
}

func (s *Service) describeTargetGroups(_ context.Context, p awsapi.Params) (any, error) {
	c := s.env.Config()
	var out targetGroupsResult
	arns, names := p.List("TargetGroupArns"), p.List("Names")
	switch {
	case len(arns) > 0:
		for _, a := range arns {
			name, err := groupName(c, a)
			if err != nil {
				return nil, err
			}
			out.TargetGroups = append(out.TargetGroups, s.describeTargetGroup(c, c.TargetGroup(name)))
		}
	case len(names) > 0:
		for _, n := range names {
			tg := c.TargetGroup(n)
			if tg == nil {
				return nil, errTargetGroupNotFound()
			}
			out.TargetGroups = append(out.TargetGroups, s.describeTargetGroup(c, tg))
		}
	case p.Has("LoadBalancerArn"):
		if err := s.checkLB(p, c); err != nil {
			return nil, err
		}
		for i := range c.TargetGroups {
			if forwardsTo(c, c.TargetGroups[i].Name) {
				out.TargetGroups = append(out.TargetGroups, s.describeTargetGroup(c, &c.TargetGroups[i]))
			}
		}
	default:
		for i := range c.TargetGroups {
			out.TargetGroups = append(out.TargetGroups, s.describeTargetGroup(c, &c.TargetGroups[i]))
		}
	}
	return out, nil
}

// apiField names the health_check block's keys (as config.ValidateHealthCheck
// reports them) by the API's parameters; "" is the interval-versus-timeout
// rule. A GRPC group's matcher is Matcher.GrpcCode.
var apiField = map[string]string{
	"path": "HealthCheckPath", "port": "HealthCheckPort", "protocol": "HealthCheckProtocol",
	"interval": "HealthCheckIntervalSeconds", "timeout": "HealthCheckTimeoutSeconds",
	"healthy_threshold": "HealthyThresholdCount", "unhealthy_threshold": "UnhealthyThresholdCount",
	"matcher": "Matcher.HttpCode",
}

// applyHealthCheck sets the health-check parameters p carries on h, the
// health check of a group of protocolVersion, and checks the result with
// elbow validate's rules and messages; the interval-versus-timeout rule
// answers AWS's own sentence. A GRPC group's codes are Matcher.GrpcCode,
// the others' Matcher.HttpCode (ELBv2 API reference, Matcher: "If the
// protocol version is gRPC, these are gRPC codes. Otherwise, these are
// HTTP codes.").
func applyHealthCheck(p awsapi.Params, h *config.HealthCheck, protocolVersion string) error {
	grpc := protocolVersion == "GRPC"
	codes := "Matcher.HttpCode"
	if grpc {
		codes = "Matcher.GrpcCode"
	}
	switch {
	case grpc && p.Has("Matcher.HttpCode"):
		return awsapi.Validation("Matcher.HttpCode does not apply to a target group with the protocol-version 'GRPC': give its gRPC codes (0-99) as Matcher.GrpcCode")
	case !grpc && p.Has("Matcher.GrpcCode"):
		return awsapi.Validation("Matcher.GrpcCode applies only to a target group with the protocol-version 'GRPC' (this one is '%s'): give HTTP codes (200-499) as Matcher.HttpCode", protocolVersion)
	}
	ints := []struct {
		name string
		dst  *int
	}{
		{"HealthCheckIntervalSeconds", &h.Interval}, {"HealthCheckTimeoutSeconds", &h.Timeout},
		{"HealthyThresholdCount", &h.HealthyThreshold}, {"UnhealthyThresholdCount", &h.UnhealthyThreshold},
	}
	for _, f := range ints {
		n, ok, err := p.Int(f.name)
		if err != nil {
			return err
		}
		if ok {
			*f.dst = n
		}
	}
	if b, ok, err := p.Bool("HealthCheckEnabled"); err != nil {
		return err
	} else if ok {
		h.Enabled = b
	}
	for name, dst := range map[string]*string{"HealthCheckPath": &h.Path, "HealthCheckPort": &h.Port, "HealthCheckProtocol": &h.Protocol, codes: &h.Matcher} {
		if p.Has(name) {
			*dst = p.String(name)
		}
	}
	errs := config.ValidateHealthCheck(*h, protocolVersion)
	if len(errs) == 0 {
		return nil
	}
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Msg
		f := apiField[e.Key]
		if e.Key == "matcher" {
			f = codes
		}
		if f != "" {
			lines[i] = f + ": " + e.Msg
		}
	}
	return awsapi.Validation("%s", strings.Join(lines, "; "))
}

// albHealthCheck is the health check of a target group made through the
// API: the ELBv2 API's defaults, not Elastic Beanstalk's.
func albHealthCheck() config.HealthCheck {
	s := healthcheck.ALBDefaults()
	return config.HealthCheck{
		Enabled: s.Enabled, Path: s.Path, Port: "traffic-port", Protocol: string(s.Protocol),
		Interval: int(s.Interval / time.Second), Timeout: int(s.Timeout / time.Second),
		HealthyThreshold: s.HealthyThreshold, UnhealthyThreshold: s.UnhealthyThreshold, Matcher: s.Matcher.String(),
	}
}

func (s *Service) createTargetGroup(ctx context.Context, p awsapi.Params) (any, error) {
	c := s.env.Config()
	name := p.String("Name")
	if name == "" {
		return nil, awsapi.Validation("A target group name must be specified")
	}
	tg := config.DefaultTargetGroup
	tg.Name = name
	// deregistration_delay.timeout_seconds defaults to 300 on AWS (ELBv2 API reference, TargetGroupAttribute).
	tg.DeregistrationDelay = 300
	tg.HealthCheck = albHealthCheck()
	tg.Port = c.Instances.Port
	if p.Has("Protocol") {
		tg.Protocol = p.String("Protocol")
	}
	if p.Has("ProtocolVersion") {
		tg.ProtocolVersion = p.String("ProtocolVersion")
	}
	if tg.ProtocolVersion == "GRPC" {
		// AWS's gRPC defaults: HealthCheckPath /AWS.ALB/healthcheck,
		// Matcher.GrpcCode 12 (ELBv2 API reference, CreateTargetGroup, Matcher).
		tg.HealthCheck.Path = healthcheck.DefaultGRPCPath
		tg.HealthCheck.Matcher = healthcheck.DefaultGRPCMatcher
	}
	if n, ok, err := p.Int("Port"); err != nil {
		return nil, err
	} else if ok {
		tg.Port = n
	}
	if tt := p.String("TargetType"); tt != "" && tt != "instance" && tt != "ip" {
		return nil, errInvalidConfig("Target type '%s' is not supported by elbow: use instance or ip", tt)
	}
	if v, _ := s.place(c); p.Has("VpcId") && p.String("VpcId") != v {
		return nil, awsapi.Validation("The VPC ID '%s' is not found; the environment's VPC is %s", p.String("VpcId"), v)
	}
	if err := applyHealthCheck(p, &tg.HealthCheck, tg.ProtocolVersion); err != nil {
		return nil, err
	}
	a := arn.TargetGroup(c.Region, name)
	if cur := c.TargetGroup(name); cur != nil {
		// CreateTargetGroup is idempotent: the same settings answer the
		// group; others are DuplicateTargetGroupName (ELBv2 API reference).
		if cur.Protocol == tg.Protocol && protocolVersionOf(cur) == protocolVersionOf(&tg) && cur.Port == tg.Port && cur.HealthCheck == tg.HealthCheck {
			return targetGroupsResult{[]targetGroup{s.describeTargetGroup(c, cur)}}, nil
		}
		return nil, awsapi.NewError(http.StatusBadRequest, "DuplicateTargetGroupName", "A target group with the same name '%s' exists, but with different settings", name)
	}
	if err := s.update(ctx, func(c *config.Config) error {
		c.TargetGroups = append(c.TargetGroups, tg)
		return nil
	}); err != nil {
		return nil, err
	}
	if tags := p.Structs("Tags"); len(tags) > 0 {
		s.setTags(a, tags)
	}
	c = s.env.Config()
	return targetGroupsResult{[]targetGroup{s.describeTargetGroup(c, c.TargetGroup(name))}}, nil
}

func (s *Service) deleteTargetGroup(ctx context.Context, p awsapi.Params) (any, error) {
	c := s.env.Config()
	a := p.String("TargetGroupArn")
	name, err := groupName(c, a)
	if err != nil {
		if e, ok := err.(*awsapi.Error); ok && e.Code == "TargetGroupNotFound" {
			return nil, nil // deleting a group that is gone succeeds, as on AWS
		}
		return nil, err
	}
	if forwardsTo(c, name) {
		return nil, awsapi.NewError(http.StatusBadRequest, "ResourceInUse", "Target group '%s' is currently in use by a listener or a rule", a)
	}
	if c.Instances.TargetGroup == name {
		return nil, awsapi.NewError(http.StatusBadRequest, "ResourceInUse", "Target group '%s' is currently in use: the environment's instances register in it (instances.target_group)", a)
	}
	if err := s.update(ctx, func(c *config.Config) error {
		c.TargetGroups = slices.DeleteFunc(c.TargetGroups, func(tg config.TargetGroup) bool { return tg.Name == name })
		return nil
	}); err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(s.tags, a)
	s.mu.Unlock()
	return nil, nil
}

func (s *Service) modifyTargetGroup(ctx context.Context, p awsapi.Params) (any, error) {
	c := s.env.Config()
	name, err := groupName(c, p.String("TargetGroupArn"))
	if err != nil {
		return nil, err
	}
	h := c.TargetGroup(name).HealthCheck
	if err := applyHealthCheck(p, &h, protocolVersionOf(c.TargetGroup(name))); err != nil {
		return nil, err
	}
	if err := s.update(ctx, func(c *config.Config) error {
		tg := c.TargetGroup(name)
		if tg == nil {
			return errTargetGroupNotFound()
		}
		tg.HealthCheck = h
		return nil
	}); err != nil {
		return nil, err
	}
	c = s.env.Config()
	return targetGroupsResult{[]targetGroup{s.describeTargetGroup(c, c.TargetGroup(name))}}, nil
}

// tgAttributes are the target group attributes elbow honours (ELBv2 API
// reference, TargetGroupAttribute).
var tgAttributes = []string{"deregistration_delay.timeout_seconds", "slow_start.duration_seconds", "load_balancing.algorithm.type"}

func tgAttributesOf(tg *config.TargetGroup) attributesResult {
	return attributesResult{Attributes: []attribute{
		{"deregistration_delay.timeout_seconds", strconv.Itoa(tg.DeregistrationDelay)},
		{"slow_start.duration_seconds", strconv.Itoa(tg.SlowStart)},
		{"load_balancing.algorithm.type", tg.LoadBalancingAlgorithmType},
	}}
}

func (s *Service) describeTargetGroupAttributes(_ context.Context, p awsapi.Params) (any, error) {
	c := s.env.Config()
	name, err := groupName(c, p.String("TargetGroupArn"))
	if err != nil {
		return nil, err
	}
	return tgAttributesOf(c.TargetGroup(name)), nil
}

func (s *Service) modifyTargetGroupAttributes(ctx context.Context, p awsapi.Params) (any, error) {
	name, err := groupName(s.env.Config(), p.String("TargetGroupArn"))
	if err != nil {
		return nil, err
	}
	attrs := p.Structs("Attributes")
	if len(attrs) == 0 {
		return nil, awsapi.Validation("Attributes must be specified")
	}
	err = s.update(ctx, func(c *config.Config) error {
		tg := c.TargetGroup(name)
		if tg == nil {
			return errTargetGroupNotFound()
		}
		for _, a := range attrs {
			key, val := a.String("Key"), a.String("Value")
			var err error
			switch key {
			case "deregistration_delay.timeout_seconds":
				tg.DeregistrationDelay, err = intValue(key, val)
			case "slow_start.duration_seconds":
				tg.SlowStart, err = intValue(key, val)
			case "load_balancing.algorithm.type":
				tg.LoadBalancingAlgorithmType = val
			default:
				return awsapi.Validation("Target group attribute key '%s' is not recognized; elbow honours %s", key, strings.Join(tgAttributes, ", "))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tgAttributesOf(s.env.Config().TargetGroup(name)), nil
}
