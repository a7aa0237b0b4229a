package monitor

import (
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
)

// instanceHealth finds one instance in InstancesHealth.
func instanceHealth(t *testing.T, m *Monitor, id string) SingleInstanceHealth {
	t.Helper()
	for _, in := range m.InstancesHealth().InstanceHealthList {
		if in.InstanceId == id {
			return in
		}
	}
	t.Fatalf("no instance %s", id)
	return SingleInstanceHealth{}
}

func TestDeploymentCauses(t *testing.T) {
	m, c, _ := newTestMonitor(t, config.DefaultEnhancedHealth) // TransitionEvaluations 3
	for _, id := range []string{"i-1", "i-2"} {
		started(m, c, id)
		m.SetInstanceVersion(id, "v1", 1)
	}
	serveBoth := func(windows int) {
		for range windows {
			for _, id := range []string{"i-1", "i-2"} {
				for range 100 {
					m.RecordRequest(id, 200, 10*time.Millisecond)
				}
			}
			m.Evaluate(c.tick())
		}
	}
	serveBoth(3)
	if eh := m.EnvironmentHealth(); eh.HealthStatus != StatusOk || eh.Status != "Ready" {
		t.Fatalf("before the update: %s %s %q", eh.Status, eh.HealthStatus, eh.Causes)
	}
	first := len(m.Events(time.Time{}))

	// Batch 1: the command runs on i-1 for 3 seconds when the monitor evaluates.
	m.SetUpdate(Update{Updating: true, Commands: map[string]time.Time{"i-1": c.now().Add(7 * time.Second)}, Total: 2,
		ExpectedLabel: "v1", ExpectedDeployment: 1})
	if got := m.EnvironmentHealth().Status; got != "Updating" {
		t.Errorf("Status while updating = %q, want Updating", got)
	}
	serveBoth(1)
	eh, i1 := m.EnvironmentHealth(), instanceHealth(t, m, "i-1")
	if eh.HealthStatus != StatusInfo || strings.Join(eh.Causes, "|") != "Command is executing on 1 out of 2 instances." {
		t.Errorf("environment during batch 1: %s %q", eh.HealthStatus, eh.Causes)
	}
	if i1.HealthStatus != StatusInfo || strings.Join(i1.Causes, "|") != "Performing application deployment (running for 3 seconds)." {
		t.Errorf("i-1 during its command: %s %q", i1.HealthStatus, i1.Causes)
	}
	if i1.Deployment == nil || i1.Deployment.Status != "InProgress" || i1.Deployment.VersionLabel != "v1" {
		t.Errorf("i-1 Deployment = %+v, want v1 InProgress", i1.Deployment)
	}
	// Beanstalk reports Info at once, not after the hold-down of failures.
	evs := m.Events(time.Time{})[first:]
	want := []string{
		"Instance i-1 health has transitioned from Ok to Info. Performing application deployment (running for 3 seconds).",
		"Environment health has transitioned from Ok to Info. Command is executing on 1 out of 2 instances.",
	}
	if len(evs) != len(want) {
		t.Fatalf("events after one evaluation: %+v, want %q", evs, want)
	}
	for i, w := range want {
		if evs[i].Message != w || evs[i].Severity != "INFO" {
			t.Errorf("event %d = %s %q, want INFO %q", i, evs[i].Severity, evs[i].Message, w)
		}
	}

	// Both instances run the command.
	m.SetUpdate(Update{Updating: true, Commands: map[string]time.Time{"i-1": c.now(), "i-2": c.now()}, Total: 2,
		ExpectedLabel: "v1", ExpectedDeployment: 1})
	serveBoth(1)
	if eh := m.EnvironmentHealth(); strings.Join(eh.Causes, "|") != "Command is executing on all instances." {
		t.Errorf("environment with both commands: %q", eh.Causes)
	}

	// Aborted: i-1 runs v2 (deployment 2), i-2 v1; the expected version is
	// back to the last good one, and no command runs.
	m.SetInstanceVersion("i-1", "v2", 2)
	m.SetUpdate(Update{ExpectedLabel: "v1", ExpectedDeployment: 1})
	if got := m.EnvironmentHealth().Status; got != "Ready" {
		t.Errorf("Status after the update = %q, want Ready", got)
	}
	serveBoth(3)
	eh, i1 = m.EnvironmentHealth(), instanceHealth(t, m, "i-1")
	if eh.HealthStatus != StatusDegraded || strings.Join(eh.Causes, "|") != `Incorrect application version found on 1 out of 2 instances. Expected version "v1" (deployment 1).` {
		t.Errorf("environment after the abort: %s %q", eh.HealthStatus, eh.Causes)
	}
	if i1.HealthStatus != StatusDegraded || strings.Join(i1.Causes, "|") != `Incorrect application version "v2" (deployment 2). Expected version "v1" (deployment 1).` {
		t.Errorf("i-1 after the abort: %s %q", i1.HealthStatus, i1.Causes)
	}
	if i2 := instanceHealth(t, m, "i-2"); i2.HealthStatus != StatusOk {
		t.Errorf("i-2 runs the expected version: %s %q", i2.HealthStatus, i2.Causes)
	}
	if i1.Deployment == nil || *i1.Deployment != (Deployment{VersionLabel: "v2", DeploymentId: 2, Status: "Deployed", DeploymentTime: i1.Deployment.DeploymentTime}) {
		t.Errorf("i-1 Deployment = %+v", i1.Deployment)
	}

	// Every instance on the wrong version.
	m.SetInstanceVersion("i-2", "v2", 2)
	serveBoth(1)
	if eh := m.EnvironmentHealth(); strings.Join(eh.Causes, "|") != `Incorrect application version found on all instances. Expected version "v1" (deployment 1).` {
		t.Errorf("environment with every instance wrong: %q", eh.Causes)
	}
	// Redeployed to the expected version: Ok again.
	m.SetInstanceVersion("i-1", "v1", 1)
	m.SetInstanceVersion("i-2", "v1", 1)
	serveBoth(3)
	if eh := m.EnvironmentHealth(); eh.HealthStatus != StatusOk {
		t.Errorf("after redeploying v1: %s %q", eh.HealthStatus, eh.Causes)
	}
}

// Versions are not compared while an update runs: mixed versions between
// batches are the plan, not a fault.
func TestNoVersionCauseWhileUpdating(t *testing.T) {
	m, c, _ := newTestMonitor(t, config.DefaultEnhancedHealth)
	started(m, c, "i-1")
	started(m, c, "i-2")
	m.SetInstanceVersion("i-1", "v2", 2)
	m.SetInstanceVersion("i-2", "v1", 1)
	m.SetUpdate(Update{Updating: true, Total: 2, ExpectedLabel: "v2", ExpectedDeployment: 2})
	serve(m, c, "i-1", 3, map[int]int{200: 100})
	if eh := m.EnvironmentHealth(); eh.HealthStatus != StatusOk {
		t.Errorf("between batches: %s %q, want Ok", eh.HealthStatus, eh.Causes)
	}
}

// A target that runs elsewhere has no version: no Deployment, no cause.
func TestNoVersionNoDeployment(t *testing.T) {
	m, c, _ := newTestMonitor(t, config.DefaultEnhancedHealth)
	started(m, c, "i-1")
	m.SetUpdate(Update{ExpectedLabel: "v1", ExpectedDeployment: 1})
	serve(m, c, "i-1", 3, map[int]int{200: 100})
	if in := instanceHealth(t, m, "i-1"); in.Deployment != nil || in.HealthStatus != StatusOk {
		t.Errorf("unversioned instance: %+v", in)
	}
}
