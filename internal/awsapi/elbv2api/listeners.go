package elbv2api

import (
	"context"
	"strconv"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/awsapi/arn"
	"github.com/elbow-lb/elbow/internal/config"
)

// A listener's ARN derives from its position in the file, so that
// ModifyListener (a new port) keeps it.
func listenerARN(c *config.Config, i int) string {
	return arn.Listener(c.Region, c.LoadBalancer.Name, strconv.Itoa(i))
}

// findListener is the index of the listener arn names, or ListenerNotFound.
func findListener(c *config.Config, a string) (int, error) {
	if a == "" {
		return 0, awsapi.Validation("A listener ARN must be specified")
	}
	for i := range c.Listeners {
		if listenerARN(c, i) == a {
			return i, nil
		}
	}
	return 0, notFound("ListenerNotFound", "One or more listeners not found")
}

func (s *Service) describeListener(c *config.Config, i int) listener {
	l := c.Listeners[i]
	return listener{
		ListenerArn: listenerARN(c, i), LoadBalancerArn: s.lbARN(c),
		Port: l.Port, Protocol: l.Protocol, DefaultActions: []action{actionOf(c, l.DefaultAction)},
	}
}

type listenersResult struct {
	Listeners []listener `xml:"Listeners>member"`
}

func (s *Service) describeListeners(_ context.Context, p awsapi.Params) (any, error) {
	c := s.env.Config()
	var out listenersResult
	if arns := p.List("ListenerArns"); len(arns) > 0 {
		for _, a := range arns {
			i, err := findListener(c, a)
			if err != nil {
				return nil, err
			}
			out.Listeners = append(out.Listeners, s.describeListener(c, i))
		}
		return out, nil
	}
	if err := s.checkLB(p, c); err != nil {
		return nil, err
	}
	for i := range c.Listeners {
		out.Listeners = append(out.Listeners, s.describeListener(c, i))
	}
	return out, nil
}

func (s *Service) modifyListener(ctx context.Context, p awsapi.Params) (any, error) {
	a := p.String("ListenerArn")
	i, err := findListener(s.env.Config(), a)
	if err != nil {
		return nil, err
	}
	if p.Has("Certificates") || p.Has("SslPolicy") || p.Has("AlpnPolicy") || p.Has("MutualAuthentication") {
		return nil, errInvalidConfig("elbow's HTTPS listeners take their certificate from listeners[%d].certificate_file and key_file (or a self-signed one); ModifyListener changes Port, Protocol and DefaultActions", i)
	}
	port, hasPort, err := p.Int("Port")
	if err != nil {
		return nil, err
	}
	var def *config.Action
	if p.Has("DefaultActions") {
		act, err := actionFrom(s.env.Config(), p.Structs("DefaultActions"))
		if err != nil {
			return nil, err
		}
		def = &act
	}
	err = s.update(ctx, func(c *config.Config) error {
		if i >= len(c.Listeners) {
			return notFound("ListenerNotFound", "One or more listeners not found")
		}
		l := &c.Listeners[i]
		if hasPort {
			l.Port = port
		}
		if p.Has("Protocol") {
			l.Protocol = p.String("Protocol")
		}
		if def != nil {
			l.DefaultAction = *def
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return listenersResult{Listeners: []listener{s.describeListener(s.env.Config(), i)}}, nil
}

// actionOf is a rule's or listener's action as the API shows it.
func actionOf(c *config.Config, a config.Action) action {
	out := action{Type: a.Type, Order: 1}
	switch a.Type {
	case "forward":
		f := &forwardConfig{}
		for _, g := range a.TargetGroups() {
			f.TargetGroups = append(f.TargetGroups, weightedTargetGroup{TargetGroupArn: arn.TargetGroup(c.Region, g.Name), Weight: *g.Weight})
		}
		if len(f.TargetGroups) == 1 {
			out.TargetGroupArn = f.TargetGroups[0].TargetGroupArn
		}
		out.ForwardConfig = f
	case "redirect":
		if r := a.Redirect; r != nil {
			out.RedirectConfig = &redirectConfig{Protocol: r.Protocol, Port: r.Port, Host: r.Host, Path: r.Path, Query: r.Query, StatusCode: r.StatusCode}
		}
	case "fixed-response":
		if f := a.FixedResponse; f != nil {
			out.FixedResponseConfig = &fixedResponseConfig{MessageBody: f.MessageBody, StatusCode: f.StatusCode, ContentType: f.ContentType}
		}
	}
	return out
}

// actionFrom reads an Actions or DefaultActions list into elbow's one
// action per rule or listener.
func actionFrom(c *config.Config, ps []awsapi.Params) (config.Action, error) {
	if len(ps) != 1 {
		return config.Action{}, errInvalidConfig("elbow takes exactly one action per rule or listener (forward, redirect or fixed-response); %d were given", len(ps))
	}
	p := ps[0]
	var a config.Action
	switch a.Type = p.String("Type"); a.Type {
	case "forward":
		if tg := p.String("TargetGroupArn"); tg != "" {
			name, err := groupName(c, tg)
			if err != nil {
				return a, err
			}
			a.TargetGroup = name
		}
		if p.Has("ForwardConfig.TargetGroups") {
			if a.TargetGroup != "" {
				// Either one group by ARN or a weighted forward (ELBv2 API reference, Action).
				return a, awsapi.Validation("You cannot specify both a target group ARN and a forward config with target groups; give one")
			}
			a.Forward = &config.ForwardAction{}
			for _, w := range p.Struct("ForwardConfig").Structs("TargetGroups") {
				name, err := groupName(c, w.String("TargetGroupArn"))
				if err != nil {
					return a, err
				}
				wt := config.WeightedTargetGroup{Name: name}
				if n, ok, err := w.Int("Weight"); err != nil {
					return a, err
				} else if ok {
					wt.Weight = &n
				}
				a.Forward.TargetGroups = append(a.Forward.TargetGroups, wt)
			}
		}
	case "redirect":
		r := p.Struct("RedirectConfig")
		a.Redirect = &config.RedirectAction{Protocol: r.String("Protocol"), Port: r.String("Port"), Host: r.String("Host"),
			Path: r.String("Path"), Query: r.String("Query"), StatusCode: r.String("StatusCode")}
	case "fixed-response":
		f := p.Struct("FixedResponseConfig")
		a.FixedResponse = &config.FixedResponseAction{StatusCode: f.String("StatusCode"), ContentType: f.String("ContentType"), MessageBody: f.String("MessageBody")}
		if a.FixedResponse.ContentType == "" {
			a.FixedResponse.ContentType = "text/plain"
		}
	case "":
		return a, awsapi.Validation("An action type must be specified")
	default:
		return a, errInvalidConfig("Action type '%s' is not supported by elbow: use forward, redirect or fixed-response", a.Type)
	}
	return a, nil
}
