package ebapi

import (
	"slices"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/awsapi"
)

// tailLines is how much of each instance's log a tail holds: Beanstalk's
// tail logs are "the last 100 lines of the most commonly used log files"
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.logging.html).
const tailLines = 100

var infoTypes = []string{"tail", "bundle"}

func infoType(p awsapi.Params) (string, error) {
	t := p.String("InfoType")
	switch {
	case t == "":
		return "", missing("InfoType")
	case !slices.Contains(infoTypes, t):
		return "", enumError(t, "infoType", infoTypes)
	case t == "bundle":
		// A bundle is a zip in S3 on AWS; elbow has the tail only.
		return "", invalid("InfoType bundle is not available in elbow: request tail, or read the instances' log files (elbow logs).")
	}
	return t, nil
}

// requestEnvironmentInfo takes the tail of every instance's log now;
// RetrieveEnvironmentInfo returns it until the next request, as Beanstalk
// compiles the logs on request
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_RequestEnvironmentInfo.html).
func (s *Service) requestEnvironmentInfo(p awsapi.Params) (any, error) {
	if _, err := s.environment(p, true); err != nil {
		return nil, err
	}
	t, err := infoType(p)
	if err != nil {
		return nil, err
	}
	at := time.Now()
	var info []environmentInfo
	for _, id := range s.instanceIDs() {
		lines, ok := s.env.InstanceLog(id, tailLines)
		if !ok {
			continue
		}
		msg := strings.Join(lines, "\n")
		info = append(info, environmentInfo{InfoType: t, Ec2InstanceId: id, SampleTimestamp: ts(at), Message: msg})
	}
	s.mu.Lock()
	s.info = info
	s.mu.Unlock()
	return nil, nil
}

func (s *Service) retrieveEnvironmentInfo(p awsapi.Params) (any, error) {
	if _, err := s.environment(p, true); err != nil {
		return nil, err
	}
	if _, err := infoType(p); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return environmentInfoResult{EnvironmentInfo: slices.Clone(s.info)}, nil
}
