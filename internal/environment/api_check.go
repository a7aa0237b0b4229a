package environment

import "github.com/elbow-lb/elbow/internal/awsapi"

var _ awsapi.Environment = (*Env)(nil)
