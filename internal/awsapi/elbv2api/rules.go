package elbv2api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/awsapi/arn"
	"github.com/elbow-lb/elbow/internal/config"
)

// A rule's ARN derives from its listener and its conditions: a rule has no
// name in the file, and its priority (SetRulePriorities) and position
// (DeleteRule of another) change while it stays the same rule. Rules with
// the same conditions are told apart by their order. ModifyRule that
// changes the conditions keeps the old ARN working as an alias while elbow
// runs.
func ruleARN(c *config.Config, li, ri int) string {
	l := c.Listeners[li]
	if ri < 0 {
		return arn.Rule(c.Region, c.LoadBalancer.Name, strconv.Itoa(li), "default")
	}
	key := conditionsKey(l.Rules[ri].Conditions)
	n := 0
	for j := range ri {
		if conditionsKey(l.Rules[j].Conditions) == key {
			n++
		}
	}
	if n > 0 {
		key += "#" + strconv.Itoa(n)
	}
	return arn.Rule(c.Region, c.LoadBalancer.Name, strconv.Itoa(li), key)
}

func conditionsKey(cs []config.Condition) string {
	b, _ := json.Marshal(cs)
	return string(b)
}

// findRule is the listener and rule (-1: the default rule) arn names.
func (s *Service) findRule(c *config.Config, a string) (li, ri int, err error) {
	if a == "" {
		return 0, 0, awsapi.Validation("A rule ARN must be specified")
	}
	s.mu.Lock()
	if to, ok := s.ruleAlias[a]; ok {
		a = to
	}
	s.mu.Unlock()
	for li := range c.Listeners {
		for ri := -1; ri < len(c.Listeners[li].Rules); ri++ {
			if ruleARN(c, li, ri) == a {
				return li, ri, nil
			}
		}
	}
	return 0, 0, notFound("RuleNotFound", "One or more rules not found")
}

func describeRule(c *config.Config, li, ri int) rule {
	l := c.Listeners[li]
	if ri < 0 {
		// moto names the default rule's priority "default" (moto/elbv2/models.py).
		return rule{RuleArn: ruleARN(c, li, -1), Priority: "default", IsDefault: true, Actions: []action{actionOf(c, l.DefaultAction)}}
	}
	r := l.Rules[ri]
	out := rule{RuleArn: ruleARN(c, li, ri), Priority: strconv.Itoa(r.Priority), Actions: []action{actionOf(c, r.Action)}}
	for _, cd := range r.Conditions {
		out.Conditions = append(out.Conditions, conditionOf(cd))
	}
	return out
}

// listenerRules are a listener's rules by priority, the default rule last,
// as AWS lists them.
func listenerRules(c *config.Config, li int) []rule {
	rs := c.Listeners[li].Rules
	idx := make([]int, len(rs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return rs[a].Priority - rs[b].Priority })
	var out []rule
	for _, ri := range idx {
		out = append(out, describeRule(c, li, ri))
	}
	return append(out, describeRule(c, li, -1))
}

type rulesResult struct {
	Rules []rule `xml:"Rules>member"`
}

func (s *Service) describeRules(_ context.Context, p awsapi.Params) (any, error) {
	c := s.env.Config()
	var out rulesResult
	if arns := p.List("RuleArns"); len(arns) > 0 {
		for _, a := range arns {
			li, ri, err := s.findRule(c, a)
			if err != nil {
				return nil, err
			}
			out.Rules = append(out.Rules, describeRule(c, li, ri))
		}
		return out, nil
	}
	if !p.Has("ListenerArn") {
		return nil, awsapi.Validation("You must specify either listener or rule ARNs")
	}
	li, err := findListener(c, p.String("ListenerArn"))
	if err != nil {
		return nil, err
	}
	out.Rules = listenerRules(c, li)
	return out, nil
}

func errPriorityInUse(n int) *awsapi.Error {
	return awsapi.NewError(http.StatusBadRequest, "PriorityInUse", "Priority '%d' is currently in use", n)
}

func errDefaultRule(a string) *awsapi.Error {
	return awsapi.NewError(http.StatusBadRequest, "OperationNotPermitted", "Default rule '%s' cannot be modified this way: change the listener's default actions", a)
}

func (s *Service) createRule(ctx context.Context, p awsapi.Params) (any, error) {
	c := s.env.Config()
	li, err := findListener(c, p.String("ListenerArn"))
	if err != nil {
		return nil, err
	}
	prio, ok, err := p.Int("Priority")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, awsapi.Validation("A rule priority must be specified")
	}
	conds, err := conditionsFrom(p.Structs("Conditions"))
	if err != nil {
		return nil, err
	}
	act, err := actionFrom(c, p.Structs("Actions"))
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, func(c *config.Config) error {
		l := &c.Listeners[li]
		for _, r := range l.Rules {
			if r.Priority == prio {
				return errPriorityInUse(prio)
			}
		}
		l.Rules = append(l.Rules, config.Rule{Priority: prio, Conditions: conds, Action: act})
		return nil
	})
	if err != nil {
		return nil, err
	}
	c = s.env.Config()
	for ri, r := range c.Listeners[li].Rules {
		if r.Priority == prio {
			return rulesResult{Rules: []rule{describeRule(c, li, ri)}}, nil
		}
	}
	return nil, errInvalidConfig("the rule was not kept: a reload of the file may have replaced it")
}

func (s *Service) modifyRule(ctx context.Context, p awsapi.Params) (any, error) {
	c := s.env.Config()
	old := p.String("RuleArn")
	li, ri, err := s.findRule(c, old)
	if err != nil {
		return nil, err
	}
	var conds []config.Condition
	if p.Has("Conditions") {
		if ri < 0 {
			return nil, errDefaultRule(old)
		}
		if conds, err = conditionsFrom(p.Structs("Conditions")); err != nil {
			return nil, err
		}
	}
	var act *config.Action
	if p.Has("Actions") {
		a, err := actionFrom(c, p.Structs("Actions"))
		if err != nil {
			return nil, err
		}
		act = &a
	}
	before := ruleARN(c, li, ri)
	err = s.update(ctx, func(c *config.Config) error {
		l := &c.Listeners[li]
		if ri < 0 {
			if act != nil {
				l.DefaultAction = *act
			}
			return nil
		}
		if conds != nil {
			l.Rules[ri].Conditions = conds
		}
		if act != nil {
			l.Rules[ri].Action = *act
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c = s.env.Config()
	if after := ruleARN(c, li, ri); after != before {
		s.mu.Lock()
		for k, v := range s.ruleAlias {
			if v == before {
				s.ruleAlias[k] = after
			}
		}
		s.ruleAlias[before] = after
		s.mu.Unlock()
	}
	return rulesResult{Rules: []rule{describeRule(c, li, ri)}}, nil
}

func (s *Service) deleteRule(ctx context.Context, p awsapi.Params) (any, error) {
	a := p.String("RuleArn")
	li, ri, err := s.findRule(s.env.Config(), a)
	if err != nil {
		return nil, err
	}
	if ri < 0 {
		return nil, awsapi.NewError(http.StatusBadRequest, "OperationNotPermitted", "Default rule '%s' cannot be deleted", a)
	}
	return nil, s.update(ctx, func(c *config.Config) error {
		c.Listeners[li].Rules = slices.Delete(c.Listeners[li].Rules, ri, ri+1)
		return nil
	})
}

func (s *Service) setRulePriorities(ctx context.Context, p awsapi.Params) (any, error) {
	c := s.env.Config()
	type change struct{ li, ri, prio int }
	var changes []change
	for _, rp := range p.Structs("RulePriorities") {
		a := rp.String("RuleArn")
		li, ri, err := s.findRule(c, a)
		if err != nil {
			return nil, err
		}
		if ri < 0 {
			return nil, errDefaultRule(a)
		}
		prio, ok, err := rp.Int("Priority")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, awsapi.Validation("A priority must be specified for rule '%s'", a)
		}
		changes = append(changes, change{li, ri, prio})
	}
	if len(changes) == 0 {
		return nil, awsapi.Validation("Rule priorities must be specified")
	}
	err := s.update(ctx, func(c *config.Config) error {
		for _, ch := range changes {
			c.Listeners[ch.li].Rules[ch.ri].Priority = ch.prio
		}
		for _, ch := range changes {
			for ri, r := range c.Listeners[ch.li].Rules {
				if ri != ch.ri && r.Priority == ch.prio {
					return errPriorityInUse(ch.prio)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c = s.env.Config()
	var out rulesResult
	for _, ch := range changes {
		out.Rules = append(out.Rules, describeRule(c, ch.li, ch.ri))
	}
	return out, nil
}
