// Package elbv2api answers the Elastic Load Balancing v2 API (2015-12-01)
// for the environment's one Application Load Balancer: its load balancer,
// listeners, rules, target groups, targets and tags, with the shapes,
// error codes and messages of the ELBv2 API reference
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/Welcome.html).
//
// It keeps nothing of its own but tags (in memory, per ARN) and the ARNs a
// ModifyRule retired: every change goes through the environment, either as
// a validated live reload of the configuration (Environment.Update) or, for
// registrations, on the running target group, so that the running
// environment changes for real.
package elbv2api

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/config"
)

// Version and Namespace of the ELBv2 API (botocore elbv2/2015-12-01/service-2.json, metadata).
const (
	Version   = "2015-12-01"
	Namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
)

// Service is the ELBv2 API over one environment.
type Service struct {
	env awsapi.Environment

	mu   sync.Mutex
	tags map[string][]tag // by resource ARN, in the order added
	// ruleAlias maps the ARN a rule had before ModifyRule changed its
	// conditions (which its ARN derives from) to the ARN it has now.
	ruleAlias map[string]string
}

// New is the ELBv2 API over env.
func New(env awsapi.Environment) awsapi.Service {
	return &Service{env: env, tags: map[string][]tag{}, ruleAlias: map[string]string{}}
}

// Version is the API version callers send.
func (s *Service) Version() string { return Version }

// Namespace is the xmlns of the answers.
func (s *Service) Namespace() string { return Namespace }

type operation func(s *Service, ctx context.Context, p awsapi.Params) (any, error)

var operations = map[string]operation{
	"DescribeLoadBalancers":          (*Service).describeLoadBalancers,
	"DescribeLoadBalancerAttributes": (*Service).describeLoadBalancerAttributes,
	"ModifyLoadBalancerAttributes":   (*Service).modifyLoadBalancerAttributes,
	"DescribeListeners":              (*Service).describeListeners,
	"ModifyListener":                 (*Service).modifyListener,
	"DescribeRules":                  (*Service).describeRules,
	"CreateRule":                     (*Service).createRule,
	"ModifyRule":                     (*Service).modifyRule,
	"DeleteRule":                     (*Service).deleteRule,
	"SetRulePriorities":              (*Service).setRulePriorities,
	"DescribeTargetGroups":           (*Service).describeTargetGroups,
	"CreateTargetGroup":              (*Service).createTargetGroup,
	"DeleteTargetGroup":              (*Service).deleteTargetGroup,
	"ModifyTargetGroup":              (*Service).modifyTargetGroup,
	"DescribeTargetGroupAttributes":  (*Service).describeTargetGroupAttributes,
	"ModifyTargetGroupAttributes":    (*Service).modifyTargetGroupAttributes,
	"RegisterTargets":                (*Service).registerTargets,
	"DeregisterTargets":              (*Service).deregisterTargets,
	"DescribeTargetHealth":           (*Service).describeTargetHealth,
	"DescribeTags":                   (*Service).describeTags,
	"AddTags":                        (*Service).addTags,
	"RemoveTags":                     (*Service).removeTags,
}

// Operations are the actions elbow answers, sorted.
func Operations() []string {
	out := make([]string, 0, len(operations))
	for name := range operations {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Call runs one action.
func (s *Service) Call(ctx context.Context, action string, p awsapi.Params) (any, error) {
	op, ok := operations[action]
	if !ok {
		// InvalidAction, 400 (ELB API reference, Common Errors).
		return nil, awsapi.NewError(http.StatusBadRequest, "InvalidAction",
			"The action %s is not valid for this web service; elbow answers: %s", action, strings.Join(Operations(), ", "))
	}
	return op(s, ctx, p)
}

// The errors the ELBv2 API model declares for these operations, all 400
// (botocore elbv2/2015-12-01/service-2.json, error shapes).
func notFound(code, format string, a ...any) *awsapi.Error {
	return awsapi.NewError(http.StatusBadRequest, code, format, a...)
}

func errTargetGroupNotFound() *awsapi.Error {
	return notFound("TargetGroupNotFound", "One or more target groups not found")
}

func errInvalidConfig(format string, a ...any) *awsapi.Error {
	return awsapi.NewError(http.StatusBadRequest, "InvalidConfigurationRequest", format, a...)
}

// update changes the running configuration through the environment: change
// edits a copy; the result is validated with elbow validate's rules (a
// ValidationError with its messages) and refused, naming the keys, when a
// part of it needs a restart of elbow up (the environment would refuse it
// too, less precisely).
func (s *Service) update(ctx context.Context, change func(c *config.Config) error) error {
	err := s.env.Update(ctx, func(c *config.Config) error {
		if err := change(c); err != nil {
			return err
		}
		data, err := config.Marshal(c)
		if err != nil {
			return err
		}
		checked, err := config.Parse(c.File, data)
		if err != nil {
			return err
		}
		var keys []string
		for _, ch := range config.Restarts(config.Diff(s.env.Config(), checked)) {
			keys = append(keys, ch.Path)
		}
		if len(keys) > 0 {
			return errInvalidConfig("elbow applies %s only when elbow up starts: change the file and restart elbow up", strings.Join(keys, ", "))
		}
		return nil
	})
	return apiError(err)
}

// apiError turns a config.Errors into AWS's ValidationError with elbow
// validate's messages (without the file and line, which name a copy).
func apiError(err error) error {
	var ce config.Errors
	if errors.As(err, &ce) {
		lines := make([]string, len(ce))
		for i, e := range ce {
			lines[i] = e.Msg
			if e.Key != "" {
				lines[i] = e.Key + ": " + e.Msg
			}
		}
		return awsapi.Validation("%s", strings.Join(lines, "; "))
	}
	return err
}

// region is the region of the ARNs.
func (s *Service) region() string { return s.env.Config().Region }
