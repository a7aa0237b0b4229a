package elbv2api

import (
	"context"
	"slices"
	"strings"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/config"
)

// Tags live in memory, per ARN, while elbow runs: the file has no place
// for them and nothing in elbow reads them.

// checkResource answers the NotFound error of the kind of resource a names.
func (s *Service) checkResource(c *config.Config, a string) error {
	switch {
	case strings.Contains(a, ":targetgroup/"):
		_, err := groupName(c, a)
		return err
	case strings.Contains(a, ":listener-rule/"):
		_, _, err := s.findRule(c, a)
		return err
	case strings.Contains(a, ":listener/"):
		_, err := findListener(c, a)
		return err
	case a == s.lbARN(c):
		return nil
	case strings.Contains(a, ":loadbalancer/"):
		return notFound("LoadBalancerNotFound", "One or more load balancers not found")
	}
	return awsapi.Validation("'%s' is not a valid resource ARN", a)
}

func (s *Service) resourceARNs(p awsapi.Params) ([]string, error) {
	arns := p.List("ResourceArns")
	if len(arns) == 0 {
		return nil, awsapi.Validation("Resource ARNs must be specified")
	}
	c := s.env.Config()
	for _, a := range arns {
		if err := s.checkResource(c, a); err != nil {
			return nil, err
		}
	}
	return arns, nil
}

// setTags adds or replaces tags (Key, Value structures) on a.
func (s *Service) setTags(a string, ps []awsapi.Params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		t := tag{Key: p.String("Key"), Value: p.String("Value")}
		if i := slices.IndexFunc(s.tags[a], func(o tag) bool { return o.Key == t.Key }); i >= 0 {
			s.tags[a][i] = t
		} else {
			s.tags[a] = append(s.tags[a], t)
		}
	}
}

func (s *Service) describeTags(_ context.Context, p awsapi.Params) (any, error) {
	arns, err := s.resourceARNs(p)
	if err != nil {
		return nil, err
	}
	var out struct {
		TagDescriptions []tagDescription `xml:"TagDescriptions>member"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range arns {
		out.TagDescriptions = append(out.TagDescriptions, tagDescription{ResourceArn: a, Tags: slices.Clone(s.tags[a])})
	}
	return out, nil
}

func (s *Service) addTags(_ context.Context, p awsapi.Params) (any, error) {
	arns, err := s.resourceARNs(p)
	if err != nil {
		return nil, err
	}
	tags := p.Structs("Tags")
	if len(tags) == 0 {
		return nil, awsapi.Validation("Tags must be specified")
	}
	for _, t := range tags {
		if t.String("Key") == "" {
			return nil, awsapi.Validation("A tag key must be specified")
		}
	}
	for _, a := range arns {
		s.setTags(a, tags)
	}
	return nil, nil
}

func (s *Service) removeTags(_ context.Context, p awsapi.Params) (any, error) {
	arns, err := s.resourceARNs(p)
	if err != nil {
		return nil, err
	}
	keys := p.List("TagKeys")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range arns {
		s.tags[a] = slices.DeleteFunc(s.tags[a], func(t tag) bool { return slices.Contains(keys, t.Key) })
	}
	return nil, nil
}
