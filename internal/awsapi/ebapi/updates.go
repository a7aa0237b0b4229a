package ebapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/console/apiv1"
)

// Updater is an environment that makes application versions and deploys
// them: the console's Updates, plus the two halves of its Deploy that the
// API calls apart (CreateApplicationVersion, then UpdateEnvironment with
// VersionLabel). Errors are the console's: ErrUpdateInProgress,
// ErrNoUpdate, *InvalidParameterError.
type Updater interface {
	console.Updates
	// CreateVersion copies the project folder as it is now into version
	// label: elbow takes no source bundle, the version is the folder.
	CreateVersion(ctx context.Context, label, description string) (apiv1.ApplicationVersion, error)
	// DeployVersion starts deploying an existing version; it returns once
	// the deployment has started.
	DeployVersion(ctx context.Context, label string) (apiv1.DeployResult, error)
}

func (s *Service) updater() (Updater, bool) {
	u, ok := s.env.(Updater)
	return u, ok
}

// updaterError words the environment's refusal as Beanstalk does.
func updaterError(n names, err error) error {
	var ipe *console.InvalidParameterError
	switch {
	case errors.Is(err, console.ErrUpdateInProgress):
		return invalid("Environment named %s is in an invalid state for this operation. Must be Ready.", n.env)
	case errors.Is(err, console.ErrNoUpdate):
		return invalid("Environment named %s is in an invalid state for this operation. Must be pending deployment.", n.env)
	case errors.As(err, &ipe):
		return invalid("%s", ipe.Message)
	}
	return err
}

func versionOf(n names, v apiv1.ApplicationVersion) applicationVersion {
	return applicationVersion{
		ApplicationVersionArn: n.versionARN(v.VersionLabel), ApplicationName: n.app, VersionLabel: v.VersionLabel,
		Description: v.Description, DateCreated: ts(v.DateCreated), DateUpdated: ts(v.DateCreated), Status: v.Status,
	}
}

// createApplicationVersion copies the project folder into a new version
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_CreateApplicationVersion.html).
// SourceBundle, SourceBuildInformation and BuildConfiguration are
// accepted and ignored: the version is the project folder as it is now.
func (s *Service) createApplicationVersion(ctx context.Context, p awsapi.Params) (any, error) {
	n := s.names()
	app, label := p.String("ApplicationName"), p.String("VersionLabel")
	switch {
	case app == "":
		return nil, missing("ApplicationName")
	case label == "":
		return nil, missing("VersionLabel")
	case app != n.app:
		return nil, invalid("No Application named '%s' found.", app)
	case len([]rune(label)) > 100:
		return nil, awsapi.Validation("1 validation error detected: Value '%s' at 'versionLabel' failed to satisfy constraint: Member must have length less than or equal to 100", label)
	case len([]rune(p.String("Description"))) > 200:
		return nil, awsapi.Validation("1 validation error detected: Value '%s' at 'description' failed to satisfy constraint: Member must have length less than or equal to 200", p.String("Description"))
	}
	u, ok := s.updater()
	if !ok {
		return nil, noVersions(n)
	}
	v, err := u.CreateVersion(ctx, label, p.String("Description"))
	if err != nil {
		return nil, updaterError(n, err)
	}
	return applicationVersionResult{ApplicationVersion: versionOf(n, v)}, nil
}

func noVersions(n names) error {
	return awsapi.NewError(http.StatusBadRequest, "InvalidParameterValue",
		"Environment named %s runs no application versions elbow can make: its targets run elsewhere (instances.targets).", n.env)
}

// deployVersion is UpdateEnvironment with a VersionLabel: the deployment
// starts and the answer says Updating, as Beanstalk's does.
func (s *Service) deployVersion(ctx context.Context, n names, label string) (any, error) {
	u, ok := s.updater()
	if !ok {
		return nil, noVersions(n)
	}
	if !slices.ContainsFunc(u.Versions(), func(v apiv1.ApplicationVersion) bool { return v.VersionLabel == label }) {
		return nil, invalid("No Application Version named '%s' found.", label)
	}
	if _, err := u.DeployVersion(ctx, label); err != nil {
		return nil, updaterError(n, err)
	}
	d := s.describe(n)
	d.DateUpdated = ts(time.Now())
	return d, nil
}
