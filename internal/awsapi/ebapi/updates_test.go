package ebapi_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk/types"

	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/environment"
)

// updaterEnv is a real environment whose versions and deployments are a
// fake's (the lead wires the real ones).
type updaterEnv struct {
	*environment.Env
	mu       sync.Mutex
	versions []apiv1.ApplicationVersion
	current  string
	updating bool
}

func (e *updaterEnv) CreateVersion(_ context.Context, label, description string) (apiv1.ApplicationVersion, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range e.versions {
		if v.VersionLabel == label {
			return v, &console.InvalidParameterError{Message: fmt.Sprintf("Application Version %s already exists.", label)}
		}
	}
	v := apiv1.ApplicationVersion{ApplicationName: "ebapi-env", VersionLabel: label, Description: description,
		DateCreated: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), Status: "Processed"}
	e.versions = append([]apiv1.ApplicationVersion{v}, e.versions...)
	return v, nil
}

func (e *updaterEnv) DeployVersion(_ context.Context, label string) (apiv1.DeployResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.updating {
		return apiv1.DeployResult{}, console.ErrUpdateInProgress
	}
	e.updating, e.current = true, label
	return apiv1.DeployResult{VersionLabel: label, Deployment: 2}, nil
}

func (e *updaterEnv) Deploy(ctx context.Context, label, description string) (apiv1.DeployResult, error) {
	if _, err := e.CreateVersion(ctx, label, description); err != nil {
		return apiv1.DeployResult{}, err
	}
	return e.DeployVersion(ctx, label)
}

func (e *updaterEnv) Abort() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.updating {
		return console.ErrNoUpdate
	}
	e.updating = false
	return nil
}

func (e *updaterEnv) Scale(context.Context, int) error { return nil }

func (e *updaterEnv) Status() apiv1.EnvironmentStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := "Ready"
	if e.updating {
		st = "Updating"
	}
	return apiv1.EnvironmentStatus{EnvironmentName: "ebapi-env", VersionLabel: e.current, Status: st, AbortableOperationInProgress: e.updating}
}

func (e *updaterEnv) Versions() []apiv1.ApplicationVersion {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]apiv1.ApplicationVersion(nil), e.versions...)
}

func TestVersionsDeployAndAbort(t *testing.T) {
	tg := newTarget(t, 200)
	env := &updaterEnv{Env: startEnv(t, fmt.Sprintf(targetsYAML, tg.addr, freePort(t))), current: "v1"}
	env.versions = []apiv1.ApplicationVersion{{ApplicationName: "ebapi-env", VersionLabel: "v1", Status: "Processed", DateCreated: time.Now()}}
	c := client(t, env)
	cx := ctx(t)

	cv, err := c.CreateApplicationVersion(cx, &elasticbeanstalk.CreateApplicationVersionInput{
		ApplicationName: aws.String("ebapi-env"), VersionLabel: aws.String("v2"), Description: aws.String("fix")})
	if err != nil {
		t.Fatal(err)
	}
	if v := cv.ApplicationVersion; aws.ToString(v.VersionLabel) != "v2" || aws.ToString(v.Description) != "fix" || v.Status != "Processed" ||
		aws.ToString(v.ApplicationVersionArn) == "" {
		t.Errorf("CreateApplicationVersion = %+v", v)
	}
	_, err = c.CreateApplicationVersion(cx, &elasticbeanstalk.CreateApplicationVersionInput{
		ApplicationName: aws.String("ebapi-env"), VersionLabel: aws.String("v2")})
	apiError(t, err, "InvalidParameterValue", "Application Version v2 already exists.")

	dv, err := c.DescribeApplicationVersions(cx, &elasticbeanstalk.DescribeApplicationVersionsInput{})
	if err != nil || len(dv.ApplicationVersions) != 2 || aws.ToString(dv.ApplicationVersions[0].VersionLabel) != "v2" {
		t.Fatalf("DescribeApplicationVersions = %+v, %v", dv, err)
	}

	_, err = c.UpdateEnvironment(cx, &elasticbeanstalk.UpdateEnvironmentInput{EnvironmentName: aws.String("ebapi-env"), VersionLabel: aws.String("v9")})
	apiError(t, err, "InvalidParameterValue", "No Application Version named 'v9' found.")
	up, err := c.UpdateEnvironment(cx, &elasticbeanstalk.UpdateEnvironmentInput{EnvironmentName: aws.String("ebapi-env"), VersionLabel: aws.String("v2")})
	if err != nil || up.Status != "Updating" || aws.ToString(up.VersionLabel) != "v2" || !aws.ToBool(up.AbortableOperationInProgress) {
		t.Fatalf("UpdateEnvironment(v2) = %+v, %v", up, err)
	}
	_, err = c.UpdateEnvironment(cx, &elasticbeanstalk.UpdateEnvironmentInput{EnvironmentName: aws.String("ebapi-env"), VersionLabel: aws.String("v1")})
	apiError(t, err, "InvalidParameterValue", "Environment named ebapi-env is in an invalid state for this operation. Must be Ready.")
	de, err := c.DescribeEnvironments(cx, &elasticbeanstalk.DescribeEnvironmentsInput{})
	if err != nil || de.Environments[0].Status != "Updating" || aws.ToString(de.Environments[0].VersionLabel) != "v2" {
		t.Fatalf("DescribeEnvironments = %+v, %v", de, err)
	}
	if _, err := c.AbortEnvironmentUpdate(cx, &elasticbeanstalk.AbortEnvironmentUpdateInput{EnvironmentName: aws.String("ebapi-env")}); err != nil {
		t.Fatalf("AbortEnvironmentUpdate: %v", err)
	}
	_, err = c.AbortEnvironmentUpdate(cx, &elasticbeanstalk.AbortEnvironmentUpdateInput{EnvironmentName: aws.String("ebapi-env")})
	apiError(t, err, "InvalidParameterValue", "Environment named ebapi-env is in an invalid state for this operation. Must be pending deployment.")

	// Each instance's Deployment is the version the monitor was told it runs.
	id := env.Monitor().InstancesHealth().InstanceHealthList[0].InstanceId
	env.Monitor().SetInstanceVersion(id, "v2", 2)
	ih, err := c.DescribeInstancesHealth(cx, &elasticbeanstalk.DescribeInstancesHealthInput{EnvironmentName: aws.String("ebapi-env"),
		AttributeNames: []types.InstancesHealthAttribute{"Deployment"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := ih.InstanceHealthList[0].Deployment; d == nil || aws.ToString(d.VersionLabel) != "v2" || aws.ToInt64(d.DeploymentId) != 2 ||
		aws.ToString(d.Status) != "Deployed" || d.DeploymentTime == nil {
		t.Errorf("Deployment = %+v", d)
	}
}
