package ebapi

import (
	"slices"

	"github.com/elbow-lb/elbow/internal/awsapi"
)

// The attribute names each health call takes (botocore's
// EnvironmentHealthAttribute and InstancesHealthAttribute enums).
var (
	environmentAttributes = []string{"Status", "Color", "Causes", "ApplicationMetrics", "InstancesHealth", "All", "HealthStatus", "RefreshedAt"}
	instanceAttributes    = []string{"HealthStatus", "Color", "Causes", "ApplicationMetrics", "RefreshedAt", "LaunchedAt", "System", "Deployment", "AvailabilityZone", "InstanceType", "All"}
)

// attributes reads AttributeNames: the set asked for, with All meaning
// every one.
func attributes(p awsapi.Params, allowed []string) (func(string) bool, error) {
	names := p.List("AttributeNames")
	for _, a := range names {
		if !slices.Contains(allowed, a) {
			return nil, enumError(a, "attributeNames.member", allowed)
		}
	}
	all := slices.Contains(names, "All")
	return func(a string) bool { return all || slices.Contains(names, a) }, nil
}

// describeEnvironmentHealth answers the monitor's figures, those of the
// console's /api/v1/environment and elbow health. Without AttributeNames
// only the name is returned, as the API reference says
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_DescribeEnvironmentHealth.html).
func (s *Service) describeEnvironmentHealth(p awsapi.Params) (any, error) {
	n, err := s.environment(p, true)
	if err != nil {
		return nil, err
	}
	want, err := attributes(p, environmentAttributes)
	if err != nil {
		return nil, err
	}
	h := s.env.Monitor().EnvironmentHealth()
	out := environmentHealthResult{EnvironmentName: n.env}
	if want("HealthStatus") {
		out.HealthStatus = h.HealthStatus
	}
	if want("Status") {
		// The operational status, as the doc text and the AWS CLI's own
		// example say (Ready), not the enum the model names.
		out.Status = lifecycle(h.Status)
	}
	if want("Color") {
		out.Color = h.Color
	}
	if want("Causes") {
		out.Causes = &causes{Member: h.Causes}
	}
	if want("ApplicationMetrics") {
		out.ApplicationMetrics = metricsOf(h.ApplicationMetrics)
	}
	if want("InstancesHealth") {
		ih := h.InstancesHealth
		out.InstancesHealth = &ih
	}
	if want("RefreshedAt") {
		out.RefreshedAt = ts(h.RefreshedAt)
	}
	return out, nil
}

// describeInstancesHealth answers the figures of /api/v1/instances.
// Without AttributeNames only the instance ids are returned
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_DescribeInstancesHealth.html).
func (s *Service) describeInstancesHealth(p awsapi.Params) (any, error) {
	if _, err := s.environment(p, true); err != nil {
		return nil, err
	}
	want, err := attributes(p, instanceAttributes)
	if err != nil {
		return nil, err
	}
	ih := s.env.Monitor().InstancesHealth()
	out := instancesHealthResult{InstanceHealthList: []singleInstanceHealth{}}
	if want("RefreshedAt") {
		out.RefreshedAt = ts(ih.RefreshedAt)
	}
	describer, _ := s.env.(InstanceDescriber)
	label := s.versionLabel()
	started := map[string]*isoTime{}
	for _, in := range s.env.Instances() {
		if !in.LastStart.IsZero() {
			started[in.ID] = ts(in.LastStart)
		} else {
			started[in.ID] = ts(in.LaunchTime)
		}
	}
	for _, in := range ih.InstanceHealthList {
		d := singleInstanceHealth{InstanceId: in.InstanceId}
		if want("HealthStatus") {
			d.HealthStatus = in.HealthStatus
		}
		if want("Color") {
			d.Color = in.Color
		}
		if want("Causes") {
			d.Causes = &causes{Member: in.Causes}
		}
		if want("LaunchedAt") {
			d.LaunchedAt = ts(in.LaunchedAt)
		}
		if want("ApplicationMetrics") {
			d.ApplicationMetrics = metricsOf(in.ApplicationMetrics)
		}
		if want("System") && in.System != nil {
			d.System = &systemStatus{CPUUtilization: in.System.CPUUtilization, LoadAverage: in.System.LoadAverage}
		}
		if want("Deployment") {
			if dep := in.Deployment; dep != nil {
				d.Deployment = &deployment{VersionLabel: dep.VersionLabel, DeploymentId: int64(dep.DeploymentId), Status: dep.Status, DeploymentTime: ts(dep.DeploymentTime)}
			} else {
				// One deployment: the code elbow up started with.
				d.Deployment = &deployment{VersionLabel: label, DeploymentId: 1, Status: "Deployed", DeploymentTime: started[in.InstanceId]}
			}
		}
		if describer != nil && (want("InstanceType") || want("AvailabilityZone")) {
			if typ, az, ok := describer.InstanceInfo(in.InstanceId); ok {
				if want("InstanceType") {
					d.InstanceType = typ
				}
				if want("AvailabilityZone") {
					d.AvailabilityZone = az
				}
			}
		}
		out.InstanceHealthList = append(out.InstanceHealthList, d)
	}
	return out, nil
}
