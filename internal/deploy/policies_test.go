package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestAllAtOnce(t *testing.T) {
	e := newFakeEnv(t, 3, v1)
	d, _ := newDeployer(e)
	if err := d.Deploy(context.Background(), v2, policy(AllAtOnce)); err != nil {
		t.Fatal(err)
	}
	e.checkEvents(t,
		"INFO Environment update is starting.",
		"INFO Deploying new version to instance(s).",
		"INFO Instance deployment completed successfully.",
		"INFO Instance deployment completed successfully.",
		"INFO Instance deployment completed successfully.",
		"INFO New application version was deployed to running EC2 instances.",
		"INFO Environment update completed successfully.",
	)
	for _, c := range e.calls {
		if !strings.HasPrefix(c, "redeploy ") {
			t.Errorf("call %q: all at once only redeploys in place", c)
		}
	}
	if got := e.state(); got != "i-1=v2 i-2=v2 i-3=v2" {
		t.Errorf("instances %s", got)
	}
	// While commands ran, Progress said so, with the total.
	sawCommands := false
	for _, p := range e.progress {
		if len(p.Commands) > 0 {
			sawCommands = true
			if !p.Updating || p.Total != 3 {
				t.Errorf("progress %+v while commands run; want Updating, Total 3", p)
			}
		}
	}
	if !sawCommands {
		t.Error("no Progress with running commands")
	}
}

func TestAllAtOnceCommandFailure(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	e.commandErr = func(id string, r Release) error {
		if id == "i-2" {
			return errors.New("exit status 3")
		}
		return nil
	}
	d, _ := newDeployer(e)
	if err := d.Deploy(context.Background(), v2, policy(AllAtOnce)); !errors.Is(err, ErrCommandFailed) {
		t.Fatalf("err = %v; want ErrCommandFailed", err)
	}
	e.checkEvents(t,
		"INFO Environment update is starting.",
		"INFO Deploying new version to instance(s).",
		"INFO Instance deployment completed successfully.",
		"ERROR [Instance: i-2] Command failed on instance. Output: exit status 3.",
		"INFO Command execution completed on all instances. Summary: [Successful: 1, Failed: 1].",
		"ERROR Unsuccessful command execution on instance id(s) 'i-2'. Aborting the operation.",
		"ERROR Failed to deploy application.",
	)
	if p := e.lastProgress(); p.Expected != v1 {
		t.Errorf("expected %v after a failed deployment; want v1", p.Expected)
	}
}

const tempASG = "awseb-web-env-immutable-stack-AWSEBAutoScalingGroup-"

func TestImmutable(t *testing.T) {
	e := newFakeEnv(t, 3, v1)
	d, _ := newDeployer(e)
	if err := d.Deploy(context.Background(), v2, policy(Immutable)); err != nil {
		t.Fatal(err)
	}
	group := tempGroup("web-env", v2)
	if !strings.HasPrefix(group, tempASG) || len(group) != len(tempASG)+12 {
		t.Fatalf("temporary group %q", group)
	}
	e.checkEvents(t,
		"INFO Environment update is starting.",
		"INFO Immutable deployment policy enabled. Launching one instance with the new settings to verify health.",
		"INFO Created temporary auto scaling group "+group+".",
		"INFO Instance deployment completed successfully.",
		"INFO Adding new instance(s) (i-4) to the load balancer.",
		"INFO Waiting for instance(s) (i-4) to pass health checks.",
		"INFO Test instance passed health checks. Launching remaining new instances.",
		"INFO Successfully launched all instances.",
		"INFO Adding new instance(s) (i-5,i-6) to the load balancer.",
		"INFO Waiting for instance(s) (i-4,i-5,i-6) to pass health checks.",
		"INFO Detached new instance(s) from temporary auto scaling group.",
		"INFO Attached new instance(s) to the permanent auto scaling group.",
		"INFO Deployment succeeded. Terminating old instances and temporary Auto Scaling group.",
		"INFO Environment update completed successfully.",
	)
	if got := e.state(); got != "i-4=v2 i-5=v2 i-6=v2" {
		t.Errorf("instances %s; want three new ones on v2", got)
	}
}

func TestImmutableBadVersionLeavesOldUntouched(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	if err := d.Deploy(context.Background(), bad, policy(Immutable)); !errors.Is(err, ErrHealthCheck) {
		t.Fatalf("err = %v; want ErrHealthCheck", err)
	}
	e.checkCalls(t, "launch i-3 bad", "terminate i-3")
	if got := e.state(); got != "i-1=v1 i-2=v1" {
		t.Errorf("instances %s; want the old ones untouched", got)
	}
	e.checkEvents(t,
		"INFO Environment update is starting.",
		"INFO Immutable deployment policy enabled. Launching one instance with the new settings to verify health.",
		"INFO Created temporary auto scaling group "+tempGroup("web-env", bad)+".",
		"INFO Instance deployment completed successfully.",
		"INFO Adding new instance(s) (i-3) to the load balancer.",
		"INFO Waiting for instance(s) (i-3) to pass health checks.",
		"ERROR Instance id(s) 'i-3' did not pass health check after command execution. Aborting the operation.",
		"INFO Rolling back: terminating new instance(s) (i-3) and the temporary Auto Scaling group.",
		"INFO Rollback completed. The environment's original instances were not changed.",
		"ERROR Failed to deploy application.",
	)
}

func TestTrafficSplitting(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	if err := d.Deploy(context.Background(), v2, policy(TrafficSplitting)); err != nil {
		t.Fatal(err)
	}
	e.checkCalls(t, "launch i-3 v2", "launch i-4 v2", "split [i-3 i-4] 10", "split [i-3 i-4] 100",
		"terminate i-1", "terminate i-2", "split [] 0")
	e.checkEvents(t,
		"INFO Environment update is starting.",
		"INFO Traffic-splitting deployment policy enabled. Launching 2 new instance(s) with the new version.",
		"INFO Created temporary auto scaling group "+tempGroup("web-env", v2)+".",
		"INFO Successfully launched all instances.",
		"INFO Adding new instance(s) (i-3,i-4) to the load balancer.",
		"INFO Shifting 10% of traffic to the new instance(s).",
		"INFO Waiting for instance(s) (i-3,i-4) to pass health checks.",
		"INFO Evaluating the health of the new instance(s) for 5 seconds.",
		"INFO Evaluation succeeded. Shifted all traffic to the new instance(s).",
		"INFO Attached new instance(s) to the permanent auto scaling group.",
		"INFO Deployment succeeded. Terminating old instances and temporary Auto Scaling group.",
		"INFO Environment update completed successfully.",
	)
}

func TestTrafficSplittingFailsDuringEvaluation(t *testing.T) {
	e := newFakeEnv(t, 1, v1)
	// Healthy through the gate (3 samples), then failing.
	e.health = func(id string, r Release, n int) Health {
		if r == v2 && n > 4 {
			return Health{ELBHealthy: true, Status: "Degraded"}
		}
		return Health{ELBHealthy: true, Status: "Ok"}
	}
	d, _ := newDeployer(e)
	if err := d.Deploy(context.Background(), v2, policy(TrafficSplitting)); !errors.Is(err, ErrHealthCheck) {
		t.Fatalf("err = %v; want ErrHealthCheck", err)
	}
	e.checkCalls(t, "launch i-2 v2", "split [i-2] 10", "split [] 0", "terminate i-2")
	if got := e.state(); got != "i-1=v1" {
		t.Errorf("instances %s; want the old one only", got)
	}
	got := e.events[len(e.events)-5:]
	want := []string{
		"INFO Evaluating the health of the new instance(s) for 5 seconds.",
		"ERROR Instance id(s) 'i-2' failed health checks during the evaluation period. Aborting the operation.",
		"INFO Shifted all traffic back to the old instances.",
		"INFO Rolling back: terminating new instance(s) (i-2) and the temporary Auto Scaling group.",
		"ERROR Failed to deploy application.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("closing events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAbortTrafficSplittingMovesTrafficBack(t *testing.T) {
	e := newFakeEnv(t, 1, v1)
	d, _ := newDeployer(e)
	e.onEvent = func(msg string) {
		if strings.HasPrefix(msg, "Evaluating") {
			if err := d.Abort(); err != nil {
				t.Errorf("Abort: %v", err)
			}
		}
	}
	if err := d.Deploy(context.Background(), v2, policy(TrafficSplitting)); !errors.Is(err, ErrAborted) {
		t.Fatalf("err = %v; want ErrAborted", err)
	}
	e.checkCalls(t, "launch i-2 v2", "split [i-2] 10", "split [] 0", "terminate i-2")
	got := e.events[len(e.events)-5:]
	want := []string{
		"INFO Evaluating the health of the new instance(s) for 5 seconds.",
		"INFO Aborting the environment update.",
		"INFO Shifted all traffic back to the old instances.",
		"INFO Rolling back: terminating new instance(s) (i-2) and the temporary Auto Scaling group.",
		"ERROR Failed to deploy application.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("closing events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := d.Abort(); !errors.Is(err, ErrNoUpdate) {
		t.Errorf("Abort after the update: %v; want ErrNoUpdate", err)
	}
}

func TestAbortImmutableTerminatesNewInstances(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	e.onEvent = func(msg string) {
		if msg == "Successfully launched all instances." {
			d.Abort()
		}
	}
	if err := d.Deploy(context.Background(), v2, policy(Immutable)); !errors.Is(err, ErrAborted) {
		t.Fatalf("err = %v; want ErrAborted", err)
	}
	e.checkCalls(t, "launch i-3 v2", "launch i-4 v2", "terminate i-3", "terminate i-4")
	if got := e.state(); got != "i-1=v1 i-2=v1" {
		t.Errorf("instances %s; want the old ones untouched", got)
	}
}

func TestAbortRollingKeepsDeployedBatches(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	e.onEvent = func(msg string) {
		if msg == "Batch 1: Completed application deployment." {
			d.Abort()
		}
	}
	if err := d.Deploy(context.Background(), v2, policy(Rolling)); !errors.Is(err, ErrAborted) {
		t.Fatalf("err = %v; want ErrAborted", err)
	}
	if got := e.state(); got != "i-1=v2 i-2=v1" {
		t.Errorf("instances %s; want batch 1 on v2, batch 2 on v1", got)
	}
	got := e.events[len(e.events)-4:]
	want := []string{
		"INFO Batch 2: De-registering instance(s) from the load balancer and waiting for them to go out of service.",
		"ERROR Failed to deploy application.",
		"ERROR " + redeployAdvice,
	}
	if strings.Join(got[1:], "\n") != strings.Join(want, "\n") {
		t.Errorf("closing events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Batch 2 went back into the load balancer untouched.
	if last := e.calls[len(e.calls)-1]; last != "register i-2" {
		t.Errorf("last call %q; want register i-2", last)
	}
	if p := e.lastProgress(); p.Expected != v1 || p.Updating {
		t.Errorf("progress %+v; want Ready, expecting v1", p)
	}
}

func TestOneUpdateAtATime(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	var second, config error
	running := false
	e.onEvent = func(msg string) {
		if msg == "Deploying new version to instance(s)." {
			running = d.Running()
			second = d.Deploy(context.Background(), v2, policy(AllAtOnce))
			config = d.UpdateConfiguration(context.Background(), v2, RollingUpdate{}, Policy{}, false)
		}
	}
	if err := d.Deploy(context.Background(), v2, policy(Rolling)); err != nil {
		t.Fatal(err)
	}
	if !running {
		t.Error("Running() false during a deployment")
	}
	for _, err := range []error{second, config} {
		if !errors.Is(err, ErrUpdateInProgress) || err.Error() != "Environment named web-env is in an invalid state for this operation. Must be Ready." {
			t.Errorf("second update: %v; want ErrUpdateInProgress in AWS's words", err)
		}
	}
	if err := d.Abort(); !errors.Is(err, ErrNoUpdate) {
		t.Errorf("Abort with nothing running: %v; want ErrNoUpdate", err)
	}
}

func TestValidation(t *testing.T) {
	e := newFakeEnv(t, 1, v1)
	d, _ := newDeployer(e)
	for _, tc := range []struct {
		mod  func(*Policy)
		want string
	}{
		{func(p *Policy) { p.Type = "BlueGreen" }, `DeploymentPolicy "BlueGreen" is not allowed: must be one of AllAtOnce, Rolling, RollingWithAdditionalBatch, Immutable, TrafficSplitting`},
		{func(p *Policy) { p.Type, p.BatchSizeType = Rolling, "Count" }, `BatchSizeType "Count" is not allowed: must be one of Percentage, Fixed`},
		{func(p *Policy) { p.Type, p.BatchSize = Rolling, 0 }, `BatchSize 0 is not allowed: must be 1-100 with BatchSizeType Percentage`},
		{func(p *Policy) { p.Timeout = 0 }, `Timeout 0s is not allowed: must be 1-3600 seconds`},
		{func(p *Policy) { p.HealthCheckSuccessThreshold = "Good" }, `HealthCheckSuccessThreshold "Good" is not allowed: must be one of Ok, Warning, Degraded, Severe`},
		{func(p *Policy) { p.Type, p.NewVersionPercent = TrafficSplitting, 0 }, `NewVersionPercent 0 is not allowed: must be 1-100`},
	} {
		p := policy(AllAtOnce)
		tc.mod(&p)
		err := d.Deploy(context.Background(), v2, p)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v; want ErrInvalid naming %q", err, tc.want)
		}
	}
	err := d.UpdateConfiguration(context.Background(), v2, RollingUpdate{Enabled: true, Type: "Fast"}, Policy{}, false)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `RollingUpdateType "Fast" is not allowed: must be one of Time, Health, Immutable`) {
		t.Errorf("err = %v", err)
	}
	if len(e.events) != 0 || len(e.calls) != 0 {
		t.Errorf("invalid settings acted: events %q, calls %q", e.events, e.calls)
	}
}
