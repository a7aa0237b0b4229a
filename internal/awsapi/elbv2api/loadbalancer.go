package elbv2api

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/awsapi/arn"
	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/imds"
)

// lbARN is the environment's one load balancer's ARN.
func (s *Service) lbARN(c *config.Config) string {
	return arn.LoadBalancer(c.Region, c.LoadBalancer.Name)
}

// dnsName is NAME-NUMBER.REGION.elb.localhost: AWS's form
// (my-load-balancer-424835706.us-west-2.elb.amazonaws.com, ELBv2 API
// reference, DescribeLoadBalancers example) under .localhost, which
// resolves to loopback (RFC 6761, section 6.3), where elbow listens; the
// listeners' own addresses are in DescribeListeners.
func dnsName(c *config.Config) string {
	n, _ := strconv.ParseUint(arn.ResourceID(c.LoadBalancer.Name)[:8], 16, 64)
	return fmt.Sprintf("%s-%d.%s.elb.localhost", strings.ToLower(c.LoadBalancer.Name), n%1_000_000_000, c.Region)
}

// place is what the instances' metadata service says of their VPC and
// zones, so that the API and the instances agree.
func (s *Service) place(c *config.Config) (vpcID string, zones []availabilityZone) {
	ref := imds.NewInstance("i-00000000000000000", "127.0.0.2", c.Region)
	seen := map[string]bool{}
	add := func(m imds.Instance) {
		if !seen[m.AvailabilityZone] {
			seen[m.AvailabilityZone] = true
			zones = append(zones, availabilityZone{ZoneName: m.AvailabilityZone, SubnetID: m.SubnetID})
		}
	}
	for _, in := range s.env.Instances() {
		add(imds.NewInstance(in.ID, in.IP.String(), c.Region))
	}
	if len(zones) == 0 {
		add(ref)
	}
	slices.SortFunc(zones, func(a, b availabilityZone) int { return strings.Compare(a.ZoneName, b.ZoneName) })
	return ref.VPCID, zones
}

func (s *Service) describeLB(c *config.Config) loadBalancer {
	vpc, zones := s.place(c)
	return loadBalancer{
		LoadBalancerArn: s.lbARN(c), DNSName: dnsName(c),
		CreatedTime:      s.env.Started().UTC().Format(time.RFC3339Nano),
		LoadBalancerName: c.LoadBalancer.Name,
		// elbow listens where the file says, loopback by default: internal.
		Scheme: "internal", VpcID: vpc, State: lbState{Code: "active"}, Type: "application",
		AvailabilityZones: zones, IPAddressType: "ipv4",
	}
}

func (s *Service) describeLoadBalancers(_ context.Context, p awsapi.Params) (any, error) {
	c := s.env.Config()
	for _, a := range p.List("LoadBalancerArns") {
		if a != s.lbARN(c) {
			return nil, notFound("LoadBalancerNotFound", "One or more load balancers not found")
		}
	}
	for _, n := range p.List("Names") {
		if n != c.LoadBalancer.Name {
			return nil, notFound("LoadBalancerNotFound", "One or more load balancers not found")
		}
	}
	return struct {
		LoadBalancers []loadBalancer `xml:"LoadBalancers>member"`
	}{[]loadBalancer{s.describeLB(c)}}, nil
}

// checkLB resolves a LoadBalancerArn parameter: required, and the one.
func (s *Service) checkLB(p awsapi.Params, c *config.Config) error {
	a := p.String("LoadBalancerArn")
	if a == "" {
		return awsapi.Validation("A load balancer ARN must be specified")
	}
	if a != s.lbARN(c) {
		return notFound("LoadBalancerNotFound", "Load balancer '%s' not found", a)
	}
	return nil
}

// lbAttributes are the load balancer attributes elbow honours, as the
// ELBv2 API reference (LoadBalancerAttribute) names them.
var lbAttributes = []string{
	"idle_timeout.timeout_seconds", "access_logs.s3.enabled",
	"routing.http.drop_invalid_header_fields.enabled", "routing.http.desync_mitigation_mode",
	"routing.http2.enabled",
}

func lbAttributesOf(c *config.Config) attributesResult {
	lb := c.LoadBalancer
	return attributesResult{Attributes: []attribute{
		{"idle_timeout.timeout_seconds", strconv.Itoa(lb.IdleTimeout)},
		// The local access log (load_balancer.access_logs) stands for the S3 bucket.
		{"access_logs.s3.enabled", strconv.FormatBool(lb.AccessLogs.Enabled)},
		{"routing.http.drop_invalid_header_fields.enabled", strconv.FormatBool(lb.DropInvalidHeaderFields)},
		{"routing.http.desync_mitigation_mode", lb.DesyncMitigationMode},
		{"routing.http2.enabled", strconv.FormatBool(lb.HTTP2())},
	}}
}

func (s *Service) describeLoadBalancerAttributes(_ context.Context, p awsapi.Params) (any, error) {
	c := s.env.Config()
	if err := s.checkLB(p, c); err != nil {
		return nil, err
	}
	return lbAttributesOf(c), nil
}

func (s *Service) modifyLoadBalancerAttributes(ctx context.Context, p awsapi.Params) (any, error) {
	if err := s.checkLB(p, s.env.Config()); err != nil {
		return nil, err
	}
	attrs := p.Structs("Attributes")
	if len(attrs) == 0 {
		return nil, awsapi.Validation("Attributes must be specified")
	}
	err := s.update(ctx, func(c *config.Config) error {
		lb := &c.LoadBalancer
		for _, a := range attrs {
			key, val := a.String("Key"), a.String("Value")
			var err error
			switch key {
			case "idle_timeout.timeout_seconds":
				lb.IdleTimeout, err = intValue(key, val)
			case "access_logs.s3.enabled":
				lb.AccessLogs.Enabled, err = boolValue(key, val)
			case "routing.http.drop_invalid_header_fields.enabled":
				lb.DropInvalidHeaderFields, err = boolValue(key, val)
			case "routing.http.desync_mitigation_mode":
				lb.DesyncMitigationMode = val
			case "routing.http2.enabled":
				var on bool
				if on, err = boolValue(key, val); err == nil {
					lb.HTTP2Enabled = &on
				}
			default:
				return awsapi.Validation("Load balancer attribute key '%s' is not recognized; elbow honours %s", key, strings.Join(lbAttributes, ", "))
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
	return lbAttributesOf(s.env.Config()), nil
}

func intValue(key, val string) (int, error) {
	n, err := strconv.Atoi(val)
	if err != nil {
		return 0, awsapi.Validation("'%s' value '%s' must be an integer", key, val)
	}
	return n, nil
}

func boolValue(key, val string) (bool, error) {
	switch val {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, awsapi.Validation("'%s' value '%s' must be true or false", key, val)
}
