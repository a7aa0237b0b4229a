package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestBatchSize(t *testing.T) {
	for _, tc := range []struct {
		typ     string
		size, n int
		want    int
	}{
		{"Percentage", 100, 4, 4},
		{"Percentage", 50, 2, 1},
		{"Percentage", 34, 3, 2}, // 1.02 rounds up
		{"Percentage", 33, 3, 1}, // 0.99 rounds up
		{"Percentage", 1, 5, 1},  // at least one
		{"Percentage", 30, 10, 3},
		{"Fixed", 2, 5, 2},
		{"Fixed", 4, 3, 3}, // a batch is at most the instances there are
	} {
		p := Policy{BatchSizeType: tc.typ, BatchSize: tc.size}
		if got := batchSize(p, tc.n); got != tc.want {
			t.Errorf("%s %d of %d instances: batch of %d, want %d", tc.typ, tc.size, tc.n, got, tc.want)
		}
	}
}

// The events of grandamp/rest-service's rolling deployment, 2 instances.
func TestRollingGoodVersion(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	if err := d.Deploy(context.Background(), v2, policy(Rolling)); err != nil {
		t.Fatal(err)
	}
	e.checkEvents(t,
		"INFO Environment update is starting.",
		"INFO Deploying new version to instance(s).",
		"INFO Batch 1: Starting application deployment on instance(s) [i-1].",
		"INFO Batch 1: De-registering instance(s) from the load balancer and waiting for them to go out of service.",
		"INFO Batch 1: Starting application deployment command execution.",
		"INFO Instance deployment completed successfully.",
		"INFO Batch 1: Completed application deployment command execution.",
		"INFO Command execution completed on 1 of 2 instances in environment.",
		"INFO Batch 1: Registering instance(s) with the load balancer and waiting for them to be healthy.",
		"INFO Batch 1: Completed application deployment.",
		"INFO Batch 2: Starting application deployment on instance(s) [i-2].",
		"INFO Batch 2: De-registering instance(s) from the load balancer and waiting for them to go out of service.",
		"INFO Batch 2: Starting application deployment command execution.",
		"INFO Instance deployment completed successfully.",
		"INFO Batch 2: Completed application deployment command execution.",
		"INFO Command execution completed on 2 of 2 instances in environment.",
		"INFO Batch 2: Registering instance(s) with the load balancer and waiting for them to be healthy.",
		"INFO Batch 2: Completed application deployment.",
		"INFO New application version was deployed to running EC2 instances.",
		"INFO Environment update completed successfully.",
	)
	e.checkCalls(t, "deregister i-1", "redeploy i-1 v2", "register i-1", "deregister i-2", "redeploy i-2 v2", "register i-2")
	if got := e.state(); got != "i-1=v2 i-2=v2" {
		t.Errorf("instances %s; want both on v2", got)
	}
	if p := e.lastProgress(); p.Updating || p.Expected != v2 || p.Commands != nil {
		t.Errorf("last progress %+v; want Ready, expecting v2, no command", p)
	}
	if d.Running() {
		t.Error("Running() after the deployment")
	}
}

func TestRollingBatchesRoundUp(t *testing.T) {
	e := newFakeEnv(t, 3, v1)
	d, _ := newDeployer(e)
	p := policy(Rolling)
	p.BatchSize = 34
	if err := d.Deploy(context.Background(), v2, p); err != nil {
		t.Fatal(err)
	}
	var starts []string
	for _, ev := range e.events {
		if strings.Contains(ev, "Starting application deployment on") {
			starts = append(starts, ev)
		}
	}
	want := []string{
		"INFO Batch 1: Starting application deployment on instance(s) [i-1, i-2].",
		"INFO Batch 2: Starting application deployment on instance(s) [i-3].",
	}
	if fmt.Sprint(starts) != fmt.Sprint(want) {
		t.Errorf("batches %q; want %q", starts, want)
	}
}

func TestRollingBadVersionStopsAfterFirstBatch(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, c := newDeployer(e)
	start := c.Now()
	err := d.Deploy(context.Background(), bad, policy(Rolling))
	if !errors.Is(err, ErrHealthCheck) {
		t.Fatalf("err = %v; want ErrHealthCheck", err)
	}
	e.checkEvents(t,
		"INFO Environment update is starting.",
		"INFO Deploying new version to instance(s).",
		"INFO Batch 1: Starting application deployment on instance(s) [i-1].",
		"INFO Batch 1: De-registering instance(s) from the load balancer and waiting for them to go out of service.",
		"INFO Batch 1: Starting application deployment command execution.",
		"INFO Instance deployment completed successfully.",
		"INFO Batch 1: Completed application deployment command execution.",
		"INFO Command execution completed on 1 of 2 instances in environment.",
		"INFO Batch 1: Registering instance(s) with the load balancer and waiting for them to be healthy.",
		"ERROR Instance id(s) 'i-1' did not pass health check after command execution. Aborting the operation.",
		"ERROR Failed to deploy application.",
		"ERROR During an aborted deployment, some instances may have deployed the new application version. To ensure all instances are running the same version, re-deploy the appropriate application version.",
	)
	if got := e.state(); got != "i-1=bad i-2=v1" {
		t.Errorf("instances %s; want the first batch on bad, the second on v1", got)
	}
	// The gate gave up at the policy's timeout, not before.
	if waited := c.Now().Sub(start); waited != 10*time.Second {
		t.Errorf("gate waited %v; want the 10s timeout", waited)
	}
	if p := e.lastProgress(); p.Updating || p.Expected != v1 {
		t.Errorf("last progress %+v; want Ready, still expecting v1", p)
	}
}

func TestRollingIgnoreHealthCheck(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	p := policy(Rolling)
	p.IgnoreHealthCheck = true
	if err := d.Deploy(context.Background(), bad, p); err != nil {
		t.Fatal(err)
	}
	var warns []string
	for _, ev := range e.events {
		if strings.HasPrefix(ev, "WARN") || strings.HasPrefix(ev, "ERROR") {
			warns = append(warns, ev)
		}
	}
	want := []string{
		"WARN Instance id(s) 'i-1' did not pass health check after command execution. Continuing because IgnoreHealthCheck is set.",
		"WARN Instance id(s) 'i-2' did not pass health check after command execution. Continuing because IgnoreHealthCheck is set.",
	}
	if fmt.Sprint(warns) != fmt.Sprint(want) {
		t.Errorf("warnings %q; want %q", warns, want)
	}
	if got := e.state(); got != "i-1=bad i-2=bad" {
		t.Errorf("instances %s; want both deployed", got)
	}
}

func TestRollingCommandFailure(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	e.commandErr = func(id string, r Release) error { return errors.New("exit status 1") }
	d, _ := newDeployer(e)
	err := d.Deploy(context.Background(), v2, policy(Rolling))
	if !errors.Is(err, ErrCommandFailed) {
		t.Fatalf("err = %v; want ErrCommandFailed", err)
	}
	e.checkEvents(t,
		"INFO Environment update is starting.",
		"INFO Deploying new version to instance(s).",
		"INFO Batch 1: Starting application deployment on instance(s) [i-1].",
		"INFO Batch 1: De-registering instance(s) from the load balancer and waiting for them to go out of service.",
		"INFO Batch 1: Starting application deployment command execution.",
		"ERROR [Instance: i-1] Command failed on instance. Output: exit status 1.",
		"INFO Command execution completed on all instances. Summary: [Successful: 0, Failed: 1].",
		"ERROR Unsuccessful command execution on instance id(s) 'i-1'. Aborting the operation.",
		"ERROR Failed to deploy application.",
	)
	e.checkCalls(t, "deregister i-1", "redeploy i-1 v2", "register i-1")
}

// The gate's count restarts on a failing sample: ok ok fail ok ok ok
// passes at the sixth sample with 3 checks.
func TestGateCountResets(t *testing.T) {
	pattern := []bool{true, true, false, true, true, true}
	for _, tc := range []struct {
		timeout time.Duration
		wantErr bool
	}{{6 * time.Second, false}, {5 * time.Second, true}} {
		t.Run(tc.timeout.String(), func(t *testing.T) {
			e := newFakeEnv(t, 1, v1)
			e.health = func(id string, r Release, n int) Health {
				if r != v2 || n > len(pattern) || !pattern[n-1] {
					return Health{ELBHealthy: true, Status: "Info"}
				}
				return Health{ELBHealthy: true, Status: "Ok"}
			}
			d, c := newDeployer(e)
			start := c.Now()
			p := policy(Rolling)
			p.Timeout = tc.timeout
			err := d.Deploy(context.Background(), v2, p)
			if tc.wantErr != (err != nil) {
				t.Fatalf("timeout %v: err = %v; want error %v", tc.timeout, err, tc.wantErr)
			}
			if !tc.wantErr && c.Now().Sub(start) != 6*time.Second {
				t.Errorf("passed after %v; want 6 samples of 1s", c.Now().Sub(start))
			}
		})
	}
}

func TestHealthThreshold(t *testing.T) {
	for _, tc := range []struct {
		h         Health
		threshold string
		want      bool
	}{
		{Health{true, "Ok"}, "Ok", true},
		{Health{false, "Ok"}, "Ok", false},
		{Health{true, "Warning"}, "Ok", false},
		{Health{true, "Warning"}, "Warning", true},
		{Health{true, "Degraded"}, "Warning", false},
		{Health{true, "Severe"}, "Severe", true},
		{Health{true, "Info"}, "Severe", false},
		{Health{true, "Pending"}, "Severe", false},
		{Health{true, "NoData"}, "Severe", false},
		{Health{true, "Ok"}, "", true},
	} {
		if got := passes(tc.h, tc.threshold); got != tc.want {
			t.Errorf("passes(%+v, %q) = %v; want %v", tc.h, tc.threshold, got, tc.want)
		}
	}
}

func TestRollingWithAdditionalBatch(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	if err := d.Deploy(context.Background(), v2, policy(RollingWithAdditionalBatch)); err != nil {
		t.Fatal(err)
	}
	e.checkCalls(t,
		"launch i-3 v2",
		"deregister i-1", "redeploy i-1 v2", "register i-1",
		"deregister i-2", "redeploy i-2 v2", "register i-2",
		"terminate i-1")
	if got := e.state(); got != "i-2=v2 i-3=v2" {
		t.Errorf("instances %s; want two, on v2", got)
	}
	e.checkEvents(t,
		"INFO Environment update is starting.",
		"INFO Deploying new version to instance(s).",
		"INFO Launching an additional batch of 1 instance(s) with the new version before taking instances out of service.",
		"INFO Waiting for instance(s) (i-3) to pass health checks.",
		"INFO Batch 1: Starting application deployment on instance(s) [i-1].",
		"INFO Batch 1: De-registering instance(s) from the load balancer and waiting for them to go out of service.",
		"INFO Batch 1: Starting application deployment command execution.",
		"INFO Instance deployment completed successfully.",
		"INFO Batch 1: Completed application deployment command execution.",
		"INFO Command execution completed on 1 of 2 instances in environment.",
		"INFO Batch 1: Registering instance(s) with the load balancer and waiting for them to be healthy.",
		"INFO Batch 1: Completed application deployment.",
		"INFO Batch 2: Starting application deployment on instance(s) [i-2].",
		"INFO Batch 2: De-registering instance(s) from the load balancer and waiting for them to go out of service.",
		"INFO Batch 2: Starting application deployment command execution.",
		"INFO Instance deployment completed successfully.",
		"INFO Batch 2: Completed application deployment command execution.",
		"INFO Command execution completed on 2 of 2 instances in environment.",
		"INFO Batch 2: Registering instance(s) with the load balancer and waiting for them to be healthy.",
		"INFO Batch 2: Completed application deployment.",
		"INFO Terminating instance(s) (i-1) to return to the environment's original capacity.",
		"INFO New application version was deployed to running EC2 instances.",
		"INFO Environment update completed successfully.",
	)
}

func TestRollingWithAdditionalBatchFirstBatchFails(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	err := d.Deploy(context.Background(), bad, policy(RollingWithAdditionalBatch))
	if !errors.Is(err, ErrHealthCheck) {
		t.Fatalf("err = %v; want ErrHealthCheck", err)
	}
	e.checkCalls(t, "launch i-3 bad", "terminate i-3")
	if got := e.state(); got != "i-1=v1 i-2=v1" {
		t.Errorf("instances %s; want the old ones untouched", got)
	}
	e.checkEvents(t,
		"INFO Environment update is starting.",
		"INFO Deploying new version to instance(s).",
		"INFO Launching an additional batch of 1 instance(s) with the new version before taking instances out of service.",
		"INFO Waiting for instance(s) (i-3) to pass health checks.",
		"ERROR Instance id(s) 'i-3' did not pass health check after command execution. Aborting the operation.",
		"INFO Terminating the additional batch of instance(s) (i-3).",
		"ERROR Failed to deploy application.",
	)
}

// A batch of existing instances that fails after the additional batch
// passed: the additional batch goes, so the count ends where it started.
func TestRollingWithAdditionalBatchLaterBatchFails(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	e.commandErr = func(id string, r Release) error { return errors.New("exit status 1") }
	d, _ := newDeployer(e)
	err := d.Deploy(context.Background(), v2, policy(RollingWithAdditionalBatch))
	if !errors.Is(err, ErrCommandFailed) {
		t.Fatalf("err = %v; want ErrCommandFailed", err)
	}
	e.checkCalls(t, "launch i-3 v2", "deregister i-1", "redeploy i-1 v2", "register i-1", "terminate i-3")
	if got := e.state(); got != "i-1=v1 i-2=v1" {
		t.Errorf("instances %s; want the two old ones", got)
	}
	got := e.events[len(e.events)-5:]
	want := []string{
		"ERROR [Instance: i-1] Command failed on instance. Output: exit status 1.",
		"INFO Command execution completed on all instances. Summary: [Successful: 0, Failed: 1].",
		"ERROR Unsuccessful command execution on instance id(s) 'i-1'. Aborting the operation.",
		"INFO Terminating the additional batch of instance(s) (i-3).",
		"ERROR Failed to deploy application.",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("closing events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
