package monitor

import (
	"fmt"
	"maps"
	"time"
)

// Update is what the environment tells the monitor of an update in
// progress (it copies deploy.Progress into it), for the causes Beanstalk
// shows while commands run and after a deployment that left instances on
// different versions.
type Update struct {
	// Updating: an update is in progress; the environment's Status is
	// Updating (else Ready).
	Updating bool
	// Commands are the instances whose deployment command runs, and since when.
	Commands map[string]time.Time
	// Total is how many instances the command runs on.
	Total int
	// ExpectedLabel and ExpectedDeployment are the version every instance
	// should run once nothing runs; ExpectedDeployment 0 means unknown.
	ExpectedLabel      string
	ExpectedDeployment int
}

// Deployment is an instance's Deployment element of DescribeInstancesHealth
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_Deployment.html).
type Deployment struct {
	VersionLabel string `json:"VersionLabel"`
	// DeploymentId is the deployment number: 1 for what elbow up started,
	// then one more for each deployment or configuration update.
	DeploymentId int `json:"DeploymentId"` //nolint:revive // AWS's spelling.
	// Status is InProgress while the instance's command runs, Deployed after.
	Status         string    `json:"Status"`
	DeploymentTime time.Time `json:"DeploymentTime"`
}

// SetInstanceVersion records the version an instance runs (its label and
// deployment number), deployed now.
func (m *Monitor) SetInstanceVersion(id, label string, deployment int) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if in := m.lookup(id); in != nil {
		in.version, in.deployment, in.deployedAt = label, deployment, now
	}
}

// SetUpdate records the update in progress (or its end: Updating false),
// and sets the environment's Status to Updating or back to Ready. The causes
// follow at the next evaluation.
func (m *Monitor) SetUpdate(u Update) {
	u.Commands = maps.Clone(u.Commands)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.update = u
	switch {
	case u.Updating && (m.lifecycle == "Ready" || m.lifecycle == ""):
		m.lifecycle = "Updating"
	case !u.Updating && m.lifecycle == "Updating":
		m.lifecycle = "Ready"
	}
}

// deploymentOf is an instance's Deployment element; nil when its version
// was never set (a target that runs elsewhere). Called with m.mu held.
func (m *Monitor) deploymentOf(in *instance) *Deployment {
	if in.deployment == 0 && in.version == "" {
		return nil
	}
	d := &Deployment{VersionLabel: in.version, DeploymentId: in.deployment, Status: "Deployed", DeploymentTime: in.deployedAt}
	if _, ok := m.update.Commands[in.id]; ok {
		d.Status = "InProgress"
	}
	return d
}

// commandCause is an instance's cause while its deployment command runs
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-status.html, Info:
// "Performing application deployment (running for 3 seconds).").
func commandCause(now, since time.Time) cause {
	return cause{StatusInfo, kindDeployment, "Performing application deployment (running for " + ago(max(now.Sub(since), 0)) + ")."}
}

// commandsCause is the environment's cause while commands run (same page,
// Info: "Command is executing on 3 out of 5 instances."; "... on all
// instances." in https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/environment-configuration-methods-after.html).
func commandsCause(running, total int) cause {
	if running >= total {
		return cause{StatusInfo, kindDeployment, "Command is executing on all instances."}
	}
	return cause{StatusInfo, kindDeployment, fmt.Sprintf("Command is executing on %d out of %s.", running, plural(total, "instance"))}
}

// The version causes are worded as in
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/environments-health-enhanced-notifications.html
// ("Any instances running "v2" are considered unhealthy."): Degraded, as
// Beanstalk's events show the environment with them ("from Info to
// Degraded. ... Incorrect application version found on 1 instance.").
func wrongVersionCause(label string, deployment int, u Update) cause {
	return cause{StatusDegraded, kindVersion, fmt.Sprintf("Incorrect application version %q (deployment %d). Expected version %q (deployment %d).",
		label, deployment, u.ExpectedLabel, u.ExpectedDeployment)}
}

func wrongVersionsCause(wrong, total int, u Update) cause {
	where := fmt.Sprintf("%d out of %s", wrong, plural(total, "instance"))
	if wrong == total {
		where = "all instances"
	}
	return cause{StatusDegraded, kindVersion, fmt.Sprintf("Incorrect application version found on %s. Expected version %q (deployment %d).",
		where, u.ExpectedLabel, u.ExpectedDeployment)}
}

// checksVersion: the versions are compared only once no update runs, as
// Beanstalk "monitors your environment for consistency following
// deployments"; mid-update, mixed versions are the plan.
func (u Update) checksVersion() bool {
	return !u.Updating && len(u.Commands) == 0 && u.ExpectedDeployment > 0
}

// wrongVersion reports whether an instance with a known version runs
// another than the expected one.
func (u Update) wrongVersion(label string, deployment int) bool {
	if !u.checksVersion() || (label == "" && deployment == 0) {
		return false
	}
	return label != u.ExpectedLabel || deployment != u.ExpectedDeployment
}
