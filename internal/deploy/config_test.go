package deploy

import (
	"context"
	"errors"
	"testing"
	"time"
)

var cfgPolicy = Policy{HealthCheckSuccessThreshold: "Ok", Timeout: 10 * time.Second}

func TestUpdateConfigurationInPlace(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	if err := d.UpdateConfiguration(context.Background(), v2, RollingUpdate{}, cfgPolicy, false); err != nil {
		t.Fatal(err)
	}
	e.checkEvents(t,
		"INFO Environment update is starting.",
		"INFO Updating environment web-env's configuration settings.",
		"INFO Instance deployment completed successfully.",
		"INFO Instance deployment completed successfully.",
		"INFO Successfully deployed new configuration to environment.",
		"INFO Environment update completed successfully.",
	)
	e.checkCalls(t, "redeploy i-1 v2", "redeploy i-2 v2")
	if p := e.lastProgress(); p.Expected != v2 || p.Updating {
		t.Errorf("progress %+v", p)
	}
}

func TestUpdateConfigurationReplace(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	if err := d.UpdateConfiguration(context.Background(), v2, RollingUpdate{}, cfgPolicy, true); err != nil {
		t.Fatal(err)
	}
	e.checkCalls(t, "launch i-3 v2", "launch i-4 v2", "terminate i-1", "terminate i-2")
	if got := e.state(); got != "i-3=v2 i-4=v2" {
		t.Errorf("instances %s", got)
	}
}

func TestUpdateConfigurationRollingHealth(t *testing.T) {
	e := newFakeEnv(t, 3, v1)
	d, c := newDeployer(e)
	start := c.Now()
	r := RollingUpdate{Enabled: true, Type: "Health", MaxBatchSize: 0, MinInstancesInService: -1, Timeout: 30 * time.Second}
	if err := d.UpdateConfiguration(context.Background(), v2, r, cfgPolicy, true); err != nil {
		t.Fatal(err)
	}
	e.checkCalls(t,
		"launch i-4 v2", "terminate i-1",
		"launch i-5 v2", "terminate i-2",
		"launch i-6 v2", "terminate i-3")
	e.checkEvents(t,
		"INFO Environment update is starting.",
		"INFO Updating environment web-env's configuration settings.",
		"INFO Rolling update initiated. Replacing 3 instance(s) in batches of 1, while keeping at least 2 instance(s) in service.",
		"INFO Rolling update batch 1 of 3: launching 1 new instance(s) to replace [i-1].",
		"INFO Waiting for instance(s) (i-4) to pass health checks.",
		"INFO Successfully terminated instance(s) [i-1] (Progress 33%).",
		"INFO Rolling update batch 2 of 3: launching 1 new instance(s) to replace [i-2].",
		"INFO Waiting for instance(s) (i-5) to pass health checks.",
		"INFO Successfully terminated instance(s) [i-2] (Progress 66%).",
		"INFO Rolling update batch 3 of 3: launching 1 new instance(s) to replace [i-3].",
		"INFO Waiting for instance(s) (i-6) to pass health checks.",
		"INFO Successfully terminated instance(s) [i-3] (Progress 100%).",
		"INFO Rolling update completed.",
		"INFO Successfully deployed new configuration to environment.",
		"INFO Environment update completed successfully.",
	)
	// Three gates of 3 one-second samples.
	if got := c.Now().Sub(start); got != 9*time.Second {
		t.Errorf("took %v; want 9s", got)
	}
}

func TestUpdateConfigurationRollingHealthFailure(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	r := RollingUpdate{Enabled: true, Type: "Health", MaxBatchSize: 2, MinInstancesInService: 1, Timeout: 5 * time.Second}
	err := d.UpdateConfiguration(context.Background(), bad, r, cfgPolicy, true)
	if !errors.Is(err, ErrHealthCheck) {
		t.Fatalf("err = %v; want ErrHealthCheck", err)
	}
	e.checkCalls(t, "launch i-3 bad", "launch i-4 bad", "terminate i-3", "terminate i-4")
	if got := e.state(); got != "i-1=v1 i-2=v1" {
		t.Errorf("instances %s; want the old ones", got)
	}
	last := e.events[len(e.events)-1]
	if last != "ERROR Failed to deploy configuration." {
		t.Errorf("last event %q", last)
	}
}

func TestUpdateConfigurationRollingTimePauses(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	// Never healthy: a time-based update does not look at health.
	e.health = func(string, Release, int) Health { return Health{Status: "Severe"} }
	d, c := newDeployer(e)
	start := c.Now()
	r := RollingUpdate{Enabled: true, Type: "Time", MaxBatchSize: 1, MinInstancesInService: 1, PauseTime: 7 * time.Second}
	if err := d.UpdateConfiguration(context.Background(), v2, r, cfgPolicy, true); err != nil {
		t.Fatal(err)
	}
	if got := c.Now().Sub(start); got != 14*time.Second {
		t.Errorf("took %v; want two pauses of 7s", got)
	}
	if got := e.state(); got != "i-3=v2 i-4=v2" {
		t.Errorf("instances %s", got)
	}
}

func TestUpdateConfigurationImmutable(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	r := RollingUpdate{Enabled: true, Type: "Immutable", MinInstancesInService: -1, Timeout: 30 * time.Second}
	if err := d.UpdateConfiguration(context.Background(), bad, r, cfgPolicy, true); !errors.Is(err, ErrHealthCheck) {
		t.Fatalf("err = %v; want ErrHealthCheck", err)
	}
	e.checkCalls(t, "launch i-3 bad", "terminate i-3")
	if last := e.events[len(e.events)-1]; last != "ERROR Failed to deploy configuration." {
		t.Errorf("last event %q", last)
	}
}
