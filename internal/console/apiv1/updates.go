package apiv1

import "time"

// DeployRequest is the body of POST /api/v1/deployments: deploy the
// project folder as it is now as a new application version.
type DeployRequest struct {
	// VersionLabel names the version; empty means app-YYMMDD_HHMMSS, as the
	// EB CLI names one. At most 100 characters (CreateApplicationVersion's).
	VersionLabel string `json:"VersionLabel,omitempty"`
	// Description of the version, at most 200 characters.
	Description string `json:"Description,omitempty"`
}

// DeployResult is the 202 answer of POST /api/v1/deployments: the version
// whose deployment has started.
type DeployResult struct {
	VersionLabel string `json:"VersionLabel"`
	// Deployment is the deployment number the version runs as.
	Deployment int `json:"Deployment"`
}

// CapacityRequest is the body of PUT /api/v1/environment/capacity
// (SetDesiredCapacity of the environment's Auto Scaling group).
type CapacityRequest struct {
	DesiredCapacity *int `json:"DesiredCapacity"`
}

// EnvironmentStatus is the answer of GET /api/v1/status: what `eb status`
// prints, with DescribeEnvironments' names.
type EnvironmentStatus struct {
	ApplicationName   string `json:"ApplicationName"`
	EnvironmentName   string `json:"EnvironmentName"`
	EnvironmentId     string `json:"EnvironmentId,omitempty"` //nolint:revive // AWS's spelling.
	Region            string `json:"Region,omitempty"`
	VersionLabel      string `json:"VersionLabel"`
	SolutionStackName string `json:"SolutionStackName,omitempty"`
	// Tier as `eb status` prints it: WebServer-Standard-1.0.
	Tier  string `json:"Tier,omitempty"`
	CNAME string `json:"CNAME,omitempty"`
	// DateUpdated is when the environment last changed (the last update's end).
	DateUpdated time.Time `json:"DateUpdated"`
	// Status is Ready or Updating (Launching, Terminating ...).
	Status string `json:"Status"`
	// Health is the color (Green, Yellow, Red, Grey); HealthStatus the
	// enhanced health status (Ok, Info, Warning ...).
	Health       string `json:"Health"`
	HealthStatus string `json:"HealthStatus"`
	// AbortableOperationInProgress: an update runs that abort can stop.
	AbortableOperationInProgress bool `json:"AbortableOperationInProgress"`
	// Instances is how many instances are in service; DesiredCapacity the
	// Auto Scaling group's.
	Instances       int `json:"Instances"`
	DesiredCapacity int `json:"DesiredCapacity,omitempty"`
}

// ApplicationVersion is one version, as DescribeApplicationVersions names
// its fields.
type ApplicationVersion struct {
	ApplicationName string    `json:"ApplicationName"`
	VersionLabel    string    `json:"VersionLabel"`
	Description     string    `json:"Description,omitempty"`
	DateCreated     time.Time `json:"DateCreated"`
	// Status is Processed once the copy is made.
	Status string `json:"Status"`
}

// ApplicationVersionsResponse is the answer of GET
// /api/v1/application-versions, newest first.
type ApplicationVersionsResponse struct {
	ApplicationVersions []ApplicationVersion `json:"ApplicationVersions"`
}
