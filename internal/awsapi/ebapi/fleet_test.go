package ebapi_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	eb "github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk/types"

	"github.com/elbow-lb/elbow/internal/environment"
	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// restartable is the environment with the method RestartAppServer needs,
// as ebapi proposes it: here by ending the app's process, which the fleet
// starts again in the same instance.
type restartable struct{ *environment.Env }

func (e restartable) RestartAppServer(ctx context.Context, id string) error {
	before, ok := e.Fleet().Status(id)
	if !ok || before.PID == 0 {
		return fmt.Errorf("instance %s has no running app", id)
	}
	if err := syscall.Kill(before.PID, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stopping the app of %s: %w", id, err)
	}
	for {
		if st, _ := e.Fleet().Status(id); st.Restarts > before.Restarts && st.State == fleet.StateRunning {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // the fleet signals nothing to wait on
		}
	}
}

const fleetYAML = `
name: ebapi-fleet
instances:
  command: ["%s"]
  env: {%s: "1"}
  port: %d
  min: 1
  max: 2
  metadata_options: {port: %d}
console: {address: "127.0.0.1:0"}
target_groups:
  - name: web
    health_check: {path: /, interval: 5, timeout: 2, healthy_threshold: 2, unhealthy_threshold: 2}
listeners:
  - port: %d
    default_action: {target_group: web}
`

// TestFleetEnvironment runs instances of the test binary's app: log tails,
// app-server restarts, instance health with deployments, and a live
// change of the instance count.
func TestFleetEnvironment(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ips := []string{"127.0.0.2", "127.0.0.3"}
	env := startEnv(t, fmt.Sprintf(fleetYAML, self, appEnv, testutil.FreePortOnAll(t, ips...),
		testutil.FreePortOnAll(t, ips...), freePort(t)))
	c := client(t, restartable{env})
	name := aws.String("ebapi-fleet")
	testutil.Eventually(t, 20*time.Second, func() bool {
		in := env.Instances()
		return len(in) == 1 && in[0].State == fleet.StateRunning && strings.Join(env.Fleet().Tail(in[0].ID, 10), "\n") != ""
	}, "one instance running and printing")
	id := env.Instances()[0].ID

	tail := func() string {
		t.Helper()
		if _, err := c.RequestEnvironmentInfo(ctx(t), &eb.RequestEnvironmentInfoInput{EnvironmentName: name, InfoType: types.EnvironmentInfoTypeTail}); err != nil {
			t.Fatalf("RequestEnvironmentInfo: %v", err)
		}
		out, err := c.RetrieveEnvironmentInfo(ctx(t), &eb.RetrieveEnvironmentInfoInput{EnvironmentName: name, InfoType: types.EnvironmentInfoTypeTail})
		if err != nil {
			t.Fatalf("RetrieveEnvironmentInfo: %v", err)
		}
		if len(out.EnvironmentInfo) != 1 || aws.ToString(out.EnvironmentInfo[0].Ec2InstanceId) != id ||
			out.EnvironmentInfo[0].InfoType != "tail" || out.EnvironmentInfo[0].SampleTimestamp == nil {
			t.Fatalf("EnvironmentInfo %+v, want the tail of %s", out.EnvironmentInfo, id)
		}
		return aws.ToString(out.EnvironmentInfo[0].Message)
	}
	if msg := tail(); strings.Count(msg, "app started on "+id) != 1 {
		t.Fatalf("tail of %s: %q, want the app's first line once", id, msg)
	}

	if _, err := c.RestartAppServer(ctx(t), &eb.RestartAppServerInput{EnvironmentName: name}); err != nil {
		t.Fatalf("RestartAppServer: %v", err)
	}
	if st, _ := env.Fleet().Status(id); st.Restarts != 1 || st.State != fleet.StateRunning {
		t.Errorf("after RestartAppServer: %d restarts, %s", st.Restarts, st.State)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		return strings.Count(strings.Join(env.Fleet().Tail(id, 100), "\n"), "app started on "+id) == 2
	}, "the restarted app printing its first line again")
	if msg := tail(); strings.Count(msg, "app started on "+id) != 2 {
		t.Errorf("tail after the restart: %q, want the app's first line twice", msg)
	}

	_, err = c.RequestEnvironmentInfo(ctx(t), &eb.RequestEnvironmentInfoInput{EnvironmentName: name, InfoType: types.EnvironmentInfoTypeBundle})
	apiError(t, err, "InvalidParameterValue", "InfoType bundle")
	_, err = c.RetrieveEnvironmentInfo(ctx(t), &eb.RetrieveEnvironmentInfoInput{EnvironmentName: aws.String("nope-env"), InfoType: types.EnvironmentInfoTypeTail})
	apiError(t, err, "InvalidParameterValue", "No Environment found for EnvironmentName = 'nope-env'.")

	env.Monitor().Evaluate(time.Now()) // so that RefreshedAt is set
	ih, err := c.DescribeInstancesHealth(ctx(t), &eb.DescribeInstancesHealthInput{EnvironmentName: name,
		AttributeNames: []types.InstancesHealthAttribute{types.InstancesHealthAttributeAll}})
	if err != nil {
		t.Fatal(err)
	}
	apps, err := c.DescribeApplications(ctx(t), &eb.DescribeApplicationsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ih.InstanceHealthList) != 1 || ih.RefreshedAt == nil {
		t.Fatalf("InstanceHealthList %+v", ih.InstanceHealthList)
	}
	in := ih.InstanceHealthList[0]
	if aws.ToString(in.InstanceId) != id || in.LaunchedAt == nil || in.HealthStatus == nil || in.Color == nil || in.ApplicationMetrics == nil ||
		in.Deployment == nil || aws.ToString(in.Deployment.VersionLabel) != apps.Applications[0].Versions[0] || aws.ToString(in.Deployment.Status) != "Deployed" {
		t.Errorf("instance health %+v (deployment %+v)", in, in.Deployment)
	}

	// MinSize applies live: a second instance launches.
	if _, err := c.UpdateEnvironment(ctx(t), &eb.UpdateEnvironmentInput{EnvironmentName: name,
		OptionSettings: []types.ConfigurationOptionSetting{setting("aws:autoscaling:asg", "MinSize", "2")}}); err != nil {
		t.Fatalf("UpdateEnvironment MinSize 2: %v", err)
	}
	testutil.Eventually(t, 20*time.Second, func() bool {
		res, err := c.DescribeEnvironmentResources(ctx(t), &eb.DescribeEnvironmentResourcesInput{EnvironmentName: name})
		return err == nil && len(res.EnvironmentResources.Instances) == 2
	}, "DescribeEnvironmentResources listing 2 instances after MinSize 2")
	if env.Config().Instances.Min != 2 {
		t.Errorf("instances.min %d, want 2", env.Config().Instances.Min)
	}
	// An environment property is a configuration update: the instance
	// runs deployment 2, with the property.
	if _, err = c.UpdateEnvironment(ctx(t), &eb.UpdateEnvironmentInput{EnvironmentName: name,
		OptionSettings: []types.ConfigurationOptionSetting{setting("aws:elasticbeanstalk:application:environment", "GREETING", "hi")}}); err != nil {
		t.Fatalf("UpdateEnvironment GREETING: %v", err)
	}
	if v := env.Config().Instances.Env["GREETING"]; v != "hi" {
		t.Errorf("instances.env GREETING %q, want hi", v)
	}
	testutil.Eventually(t, 30*time.Second, func() bool {
		for _, in := range env.Instances() {
			if in.Deployment != 2 || in.State != fleet.StateRunning {
				return false
			}
		}
		return len(env.Instances()) > 0
	}, "every instance on the configuration's deployment")
}

// TestRestartAppServerRestartsTheRealProcess: environment.Env restarts
// each instance's app in place (SIGTERM; the fleet starts it again), as
// Beanstalk's RestartAppServer does; the instance keeps its id.
func TestRestartAppServerRestartsTheRealProcess(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ips := []string{"127.0.0.2"}
	yaml := strings.Replace(fleetYAML, "min: 1\n  max: 2", "min: 1\n  max: 1", 1)
	env := startEnv(t, fmt.Sprintf(yaml, self, appEnv, testutil.FreePortOnAll(t, ips...), testutil.FreePortOnAll(t, ips...), freePort(t)))
	before := env.Instances()
	if len(before) != 1 || before[0].PID == 0 {
		t.Fatalf("instances: %+v", before)
	}
	if _, err := client(t, env).RestartAppServer(ctx(t), &eb.RestartAppServerInput{EnvironmentName: aws.String("ebapi-fleet")}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 15*time.Second, func() bool {
		now := env.Instances()
		return len(now) == 1 && now[0].ID == before[0].ID && now[0].PID != 0 && now[0].PID != before[0].PID && now[0].Restarts >= 1
	}, "the instance's app restarted with a new process, same instance")
}
