// Package ebapi answers Elastic Beanstalk's API (version 2010-12-01) for
// the running environment: the one application and environment elbow
// runs, its health and events from the enhanced-health monitor, its
// configuration as option settings, live updates of the options elbow
// honours, application versions and their deployments (through the
// optional Updater), instance log tails and app-server restarts
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/Welcome.html).
// It reads and changes the environment through awsapi.Environment only,
// plus the optional interfaces below where an environment offers more.
package ebapi

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/awsapi/arn"
	"github.com/elbow-lb/elbow/internal/proxy"
)

// Version and Namespace are Elastic Beanstalk's (botocore's model
// metadata: apiVersion and xmlNamespace, with /docs/, not /doc/).
const (
	Version   = "2010-12-01"
	Namespace = "http://elasticbeanstalk.amazonaws.com/docs/2010-12-01/"
)

// ApplicationNamer is an environment that knows the Beanstalk
// application it runs (.elasticbeanstalk/config.yml's application_name).
// Without it the application is named after the environment.
type ApplicationNamer interface {
	ApplicationName() string
}

// AppServerRestarter is an environment that can restart the app's process
// on one instance, leaving the instance (its IP, metadata service and
// target registration) in place, as RestartAppServer does on Beanstalk.
type AppServerRestarter interface {
	RestartAppServer(ctx context.Context, instanceID string) error
}

// InstanceDescriber is an environment that knows what its metadata
// service says of an instance: its type and availability zone.
type InstanceDescriber interface {
	InstanceInfo(id string) (instanceType, availabilityZone string, ok bool)
}

// listenerLister is an environment that knows its bound listeners (the
// configured port may be 0); environment.Env is one.
type listenerLister interface {
	Listeners() []*proxy.Listener
}

// Service is the Elastic Beanstalk API of one environment.
type Service struct {
	env awsapi.Environment

	// mu guards info: the tails RequestEnvironmentInfo took, which
	// RetrieveEnvironmentInfo returns, as Beanstalk compiles logs on
	// request and serves the result until the next request.
	mu   sync.Mutex
	info []environmentInfo
}

// New is the Elastic Beanstalk API of env.
func New(env awsapi.Environment) awsapi.Service { return &Service{env: env} }

func (s *Service) Version() string   { return Version }
func (s *Service) Namespace() string { return Namespace }

// Call runs one operation.
func (s *Service) Call(ctx context.Context, action string, p awsapi.Params) (any, error) {
	switch action {
	case "DescribeApplications":
		return s.describeApplications(p)
	case "CreateApplicationVersion":
		return s.createApplicationVersion(ctx, p)
	case "DescribeApplicationVersions":
		return s.describeApplicationVersions(p)
	case "DescribeEnvironments":
		return s.describeEnvironments(p)
	case "DescribeEnvironmentResources":
		return s.describeEnvironmentResources(p)
	case "DescribeEnvironmentHealth":
		return s.describeEnvironmentHealth(p)
	case "DescribeInstancesHealth":
		return s.describeInstancesHealth(p)
	case "DescribeEvents":
		return s.describeEvents(p)
	case "DescribeConfigurationSettings":
		return s.describeConfigurationSettings(p)
	case "DescribeConfigurationOptions":
		return s.describeConfigurationOptions(p)
	case "UpdateEnvironment":
		return s.updateEnvironment(ctx, p)
	case "RestartAppServer":
		return s.restartAppServer(ctx, p)
	case "RequestEnvironmentInfo":
		return s.requestEnvironmentInfo(p)
	case "RetrieveEnvironmentInfo":
		return s.retrieveEnvironmentInfo(p)
	case "AbortEnvironmentUpdate":
		return s.abortEnvironmentUpdate(p)
	}
	return nil, awsapi.NewError(http.StatusBadRequest, "InvalidAction",
		"The action %s is not valid for this web service, or elbow does not answer it.", action)
}

// names are the environment's names and ids as the API shows them.
type names struct {
	env, id, app, region string
}

func (s *Service) names() names {
	c := s.env.Config()
	app := c.Name
	if a, ok := s.env.(ApplicationNamer); ok && a.ApplicationName() != "" {
		app = a.ApplicationName()
	}
	return names{env: c.Name, id: arn.EnvironmentID(c.Name), app: app, region: c.Region}
}

// environmentARN is arn:aws:elasticbeanstalk:REGION:ACCOUNT:environment/APP/ENV
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselasticbeanstalk.html#awselasticbeanstalk-resources-for-iam-policies).
func (n names) environmentARN() string {
	return fmt.Sprintf("arn:aws:elasticbeanstalk:%s:%s:environment/%s/%s", n.region, arn.Account, n.app, n.env)
}

func (n names) applicationARN() string {
	return fmt.Sprintf("arn:aws:elasticbeanstalk:%s:%s:application/%s", n.region, arn.Account, n.app)
}

func (n names) versionARN(label string) string {
	return fmt.Sprintf("arn:aws:elasticbeanstalk:%s:%s:applicationversion/%s/%s", n.region, arn.Account, n.app, label)
}

// versionLabel is the running version's label: the Updater's when the
// environment deploys versions, else the code elbow up started with, named
// after the start, in UTC (elbow-20260102T150405Z).
func (s *Service) versionLabel() string {
	if u, ok := s.updater(); ok {
		if l := u.Status().VersionLabel; l != "" {
			return l
		}
	}
	return "elbow-" + s.env.Started().UTC().Format("20060102T150405Z")
}

// environment checks a call's EnvironmentName or EnvironmentId against the
// running environment. With required, naming neither is
// MissingRequiredParameter.
func (s *Service) environment(p awsapi.Params, required bool) (names, error) {
	n := s.names()
	name, id := p.String("EnvironmentName"), p.String("EnvironmentId")
	switch {
	case name == "" && id == "":
		if required {
			return n, missing("EnvironmentName or EnvironmentId")
		}
	case id != "" && id != n.id:
		// Wording of Beanstalk's answers (boto/boto pull 3765,
		// Securing-DevOps/invoicer-chapter2 issue 186).
		return n, invalid("No Environment found for EnvironmentId = '%s'.", id)
	case name != "" && name != n.env:
		return n, invalid("No Environment found for EnvironmentName = '%s'.", name)
	}
	return n, nil
}

// applicationName checks ApplicationName when given.
func (s *Service) applicationName(p awsapi.Params, n names) error {
	if app := p.String("ApplicationName"); app != "" && app != n.app {
		return invalid("No Application named '%s' found.", app)
	}
	return nil
}

func invalid(format string, a ...any) error {
	return awsapi.NewError(http.StatusBadRequest, "InvalidParameterValue", format, a...)
}

func missing(what string) error {
	return awsapi.NewError(http.StatusBadRequest, "MissingRequiredParameter", "%s must be specified.", what)
}

// enumError is AWS's ValidationError for a value outside an enumeration
// ("1 validation error detected: Value 'x' at 'severity' failed to satisfy
// constraint: Member must satisfy enum value set: [...]").
func enumError(value, field string, allowed []string) error {
	return awsapi.Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: %v",
		value, field, allowed)
}
