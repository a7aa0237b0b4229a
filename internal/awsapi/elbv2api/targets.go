package elbv2api

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// errInvalidTarget is AWS's InvalidTarget (moto/elbv2/exceptions.py has
// the same wording).
func errInvalidTarget() *awsapi.Error {
	return awsapi.NewError(http.StatusBadRequest, "InvalidTarget", "The specified target does not exist or is not in the same VPC as the target group.")
}

// runningGroup resolves TargetGroupArn to the running group.
func (s *Service) runningGroup(p awsapi.Params) (*config.Config, *config.TargetGroup, *targetgroup.Group, error) {
	c := s.env.Config()
	name, err := groupName(c, p.String("TargetGroupArn"))
	if err != nil {
		return nil, nil, nil, err
	}
	g := s.env.Group(name)
	if g == nil {
		return nil, nil, nil, errTargetGroupNotFound()
	}
	return c, c.TargetGroup(name), g, nil
}

// targetsOf reads a Targets list: Id and Port (the group's traffic port
// when absent).
func targetsOf(p awsapi.Params, tg *config.TargetGroup) ([]healthcheck.Target, error) {
	ps := p.Structs("Targets")
	if len(ps) == 0 {
		return nil, awsapi.Validation("Targets must be specified")
	}
	out := make([]healthcheck.Target, 0, len(ps))
	for _, t := range ps {
		id := t.String("Id")
		if id == "" {
			return nil, awsapi.Validation("A target ID must be specified")
		}
		port, ok, err := t.Int("Port")
		if err != nil {
			return nil, err
		}
		if !ok {
			port = tg.Port
		} else if port < 1 || port > 65535 {
			return nil, awsapi.Validation("Value '%d' at 'targets.member.port' failed to satisfy constraint: Member must have value between 1 and 65535", port)
		}
		out = append(out, healthcheck.Target{ID: id, Port: port})
	}
	return out, nil
}

// locate finds where t runs: an instance id must be one of the fleet's; an
// IP must be loopback or, with instances.network vpc, inside the VPC.
func locate(c *config.Config, instances []fleet.InstanceStatus, t *healthcheck.Target) error {
	if strings.HasPrefix(t.ID, "i-") {
		for _, in := range instances {
			if in.ID == t.ID && in.State != fleet.StateTerminated {
				t.IP = in.IP.String()
				return nil
			}
		}
		return errInvalidTarget()
	}
	ip, err := netip.ParseAddr(t.ID)
	if err != nil {
		return errInvalidTarget()
	}
	ok := ip.IsLoopback()
	if c.Instances.Network == "vpc" {
		if cidr, err := netip.ParsePrefix(c.Instances.VPCCIDR); err == nil && cidr.Contains(ip) {
			ok = true
		}
	}
	if !ok {
		return errInvalidTarget()
	}
	t.IP = ip.String()
	t.ID = t.IP
	return nil
}

func (s *Service) registerTargets(_ context.Context, p awsapi.Params) (any, error) {
	c, tg, g, err := s.runningGroup(p)
	if err != nil {
		return nil, err
	}
	ts, err := targetsOf(p, tg)
	if err != nil {
		return nil, err
	}
	instances := s.env.Instances()
	for i := range ts {
		if err := locate(c, instances, &ts[i]); err != nil {
			return nil, err
		}
	}
	// All are checked before any registers: a refused call changes nothing.
	for _, t := range ts {
		g.Register(t)
	}
	return nil, nil
}

func (s *Service) deregisterTargets(_ context.Context, p awsapi.Params) (any, error) {
	_, tg, g, err := s.runningGroup(p)
	if err != nil {
		return nil, err
	}
	ts, err := targetsOf(p, tg)
	if err != nil {
		return nil, err
	}
	// An unknown target is no error: "If the specified target does not
	// exist, the action returns successfully" (ELBv2 API reference,
	// DeregisterTargets). The group finds a registration by id and port.
	for _, t := range ts {
		g.Deregister(t)
	}
	return nil, nil
}

func (s *Service) describeTargetHealth(_ context.Context, p awsapi.Params) (any, error) {
	_, tg, g, err := s.runningGroup(p)
	if err != nil {
		return nil, err
	}
	all := g.Describe()
	var out struct {
		TargetHealthDescriptions []targetHealthDescription `xml:"TargetHealthDescriptions>member"`
	}
	if !p.Has("Targets") {
		for _, d := range all {
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, healthOf(d))
		}
		return out, nil
	}
	for _, want := range p.Structs("Targets") {
		id := want.String("Id")
		port, hasPort, err := want.Int("Port")
		if err != nil {
			return nil, err
		}
		found := false
		for _, d := range all {
			if d.Target.ID == id && (!hasPort || d.Target.Port == port) {
				out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, healthOf(d))
				found = true
			}
		}
		if !found {
			if !hasPort {
				port = tg.Port
			}
			h := healthcheck.Health(healthcheck.StateUnused, healthcheck.ReasonNotRegistered)
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, targetHealthDescription{
				Target:       targetDescription{ID: id, Port: port},
				TargetHealth: targetHealth{string(h.State), string(h.Reason), h.Description},
			})
		}
	}
	return out, nil
}

func healthOf(d targetgroup.TargetHealthDescription) targetHealthDescription {
	return targetHealthDescription{
		Target:          targetDescription{ID: d.Target.ID, Port: d.Target.Port},
		HealthCheckPort: d.HealthCheckPort,
		TargetHealth:    targetHealth{string(d.TargetHealth.State), string(d.TargetHealth.Reason), d.TargetHealth.Description},
	}
}
