package ebapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/awsapi/arn"
	"github.com/elbow-lb/elbow/internal/fleet"
)

func (s *Service) describeApplications(p awsapi.Params) (any, error) {
	n := s.names()
	out := applicationsResult{Applications: []applicationDescription{}}
	if want := p.List("ApplicationNames"); len(want) > 0 && !slices.Contains(want, n.app) {
		return out, nil // AWS answers an empty list for names it does not have
	}
	started := s.env.Started()
	versions := []string{s.versionLabel()}
	if u, ok := s.updater(); ok {
		versions = versions[:0]
		for _, v := range u.Versions() {
			versions = append(versions, v.VersionLabel)
		}
	}
	out.Applications = append(out.Applications, applicationDescription{
		ApplicationArn: n.applicationARN(), ApplicationName: n.app,
		Description: "the application elbow runs", DateCreated: ts(started), DateUpdated: ts(started),
		Versions: versions,
	})
	return out, nil
}

func (s *Service) describeApplicationVersions(p awsapi.Params) (any, error) {
	n := s.names()
	out := applicationVersionsResult{ApplicationVersions: []applicationVersion{}}
	if err := maxRecords(p); err != nil {
		return nil, err
	}
	if app := p.String("ApplicationName"); app != "" && app != n.app {
		return out, nil
	}
	if u, ok := s.updater(); ok {
		want := p.List("VersionLabels")
		limit, ok, _ := p.Int("MaxRecords")
		for _, v := range u.Versions() {
			if len(want) > 0 && !slices.Contains(want, v.VersionLabel) {
				continue
			}
			if ok && len(out.ApplicationVersions) == limit {
				break
			}
			out.ApplicationVersions = append(out.ApplicationVersions, versionOf(n, v))
		}
		return out, nil
	}
	label := s.versionLabel()
	if want := p.List("VersionLabels"); len(want) > 0 && !slices.Contains(want, label) {
		return out, nil
	}
	started := s.env.Started()
	out.ApplicationVersions = append(out.ApplicationVersions, applicationVersion{
		ApplicationVersionArn: n.versionARN(label), ApplicationName: n.app, VersionLabel: label,
		Description: "the code elbow up started with", DateCreated: ts(started), DateUpdated: ts(started),
		Status: "Processed",
	})
	return out, nil
}

// maxRecords checks MaxRecords against the model's range, 1-1000.
func maxRecords(p awsapi.Params) error {
	n, ok, err := p.Int("MaxRecords")
	if err != nil || !ok {
		return err
	}
	if n < 1 || n > 1000 {
		bound := "greater than or equal to 1"
		if n > 1000 {
			bound = "less than or equal to 1000"
		}
		return awsapi.Validation("1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value %s", n, bound)
	}
	return nil
}

func (s *Service) describeEnvironments(p awsapi.Params) (any, error) {
	n := s.names()
	out := environmentsResult{Environments: []environmentDescription{}}
	if err := maxRecords(p); err != nil {
		return nil, err
	}
	if app := p.String("ApplicationName"); app != "" && app != n.app {
		return out, nil
	}
	if v := p.String("VersionLabel"); v != "" && v != s.versionLabel() {
		return out, nil
	}
	if ids := p.List("EnvironmentIds"); len(ids) > 0 && !slices.Contains(ids, n.id) {
		return out, nil
	}
	if names := p.List("EnvironmentNames"); len(names) > 0 && !slices.Contains(names, n.env) {
		return out, nil
	}
	out.Environments = append(out.Environments, s.describe(n))
	return out, nil
}

// describe is the environment's EnvironmentDescription.
func (s *Service) describe(n names) environmentDescription {
	c := s.env.Config()
	h := s.env.Monitor().EnvironmentHealth()
	endpoint, listeners := s.endpoint()
	status, abortable, updated := lifecycle(h.Status), false, s.env.Started()
	if u, ok := s.updater(); ok {
		st := u.Status()
		if st.Status != "" {
			status = st.Status
		}
		abortable = st.AbortableOperationInProgress
		if !st.DateUpdated.IsZero() {
			updated = st.DateUpdated
		}
	}
	return environmentDescription{
		EnvironmentName: n.env, EnvironmentId: n.id, ApplicationName: n.app,
		VersionLabel: s.versionLabel(), SolutionStackName: "elbow",
		// EndpointURL is the load balancer's address and CNAME the
		// environment's: on loopback both are the first listener's
		// host:port, so that http://$CNAME/ reaches the app as on AWS.
		EndpointURL: endpoint, CNAME: endpoint,
		DateCreated: ts(s.env.Started()), DateUpdated: ts(updated),
		Status: status, AbortableOperationInProgress: abortable, Health: h.Color, HealthStatus: h.HealthStatus,
		Resources: &environmentResLinks{LoadBalancer: loadBalancerDescription{
			LoadBalancerName: c.LoadBalancer.Name, Domain: endpoint, Listeners: listeners,
		}},
		// Tier of a web server environment (BC-EB example: WebServer,
		// Standard; the API reference gives Version 1.0).
		Tier:           tier{Name: "WebServer", Type: "Standard", Version: "1.0"},
		EnvironmentArn: n.environmentARN(),
	}
}

// lifecycle is the environment's operational status: the monitor's when it
// has one, else Ready (elbow applies every change before it answers).
func lifecycle(status string) string {
	if status == "" {
		return "Ready"
	}
	return status
}

// endpoint is the first listener's host:port, as bound, and every
// listener's protocol and port.
func (s *Service) endpoint() (string, []listener) {
	var out []listener
	first := ""
	if ll, ok := s.env.(listenerLister); ok && len(ll.Listeners()) > 0 {
		for _, l := range ll.Listeners() {
			if first == "" {
				first = l.Addr()
			}
			_, port, _ := net.SplitHostPort(l.Addr())
			p, _ := strconv.Atoi(port)
			out = append(out, listener{Protocol: strings.ToLower(l.Protocol()), Port: p})
		}
		return first, out
	}
	for _, l := range s.env.Config().Listeners {
		addr := net.JoinHostPort(l.Address, strconv.Itoa(l.Port))
		if first == "" {
			first = addr
		}
		out = append(out, listener{Protocol: strings.ToLower(l.Protocol), Port: l.Port})
	}
	return first, out
}

// autoScalingGroup is the name Beanstalk's CloudFormation stack gives the
// group (awseb-e-xxxxxxxxxx-stack-AWSEBAutoScalingGroup-XXXXXXXXXXXX), with
// a suffix stable for the environment.
func autoScalingGroup(n names) string {
	return "awseb-" + n.id + "-stack-AWSEBAutoScalingGroup-" + strings.ToUpper(arn.ResourceID("asg/" + n.env)[:12])
}

func (s *Service) describeEnvironmentResources(p awsapi.Params) (any, error) {
	n, err := s.environment(p, true)
	if err != nil {
		return nil, err
	}
	c := s.env.Config()
	res := environmentResources{
		EnvironmentName:   n.env,
		AutoScalingGroups: []resName{{Name: autoScalingGroup(n)}},
		Instances:         []resID{},
		// An application load balancer's Name here is its ARN, as Beanstalk
		// lists an ALB.
		LoadBalancers: []resName{{Name: arn.LoadBalancer(n.region, c.LoadBalancer.Name)}},
	}
	for _, id := range s.instanceIDs() {
		res.Instances = append(res.Instances, resID{Id: id})
	}
	return environmentResourcesResult{EnvironmentResources: res}, nil
}

// instanceIDs are the fleet's live instances, or, when the environment
// registers targets that run elsewhere, the instances the monitor tracks.
func (s *Service) instanceIDs() []string {
	var ids []string
	if in := s.env.Instances(); in != nil {
		for _, i := range in {
			if i.State != fleet.StateTerminated && i.State != fleet.StateStopping {
				ids = append(ids, i.ID)
			}
		}
		return ids
	}
	for _, i := range s.env.Monitor().InstancesHealth().InstanceHealthList {
		ids = append(ids, i.InstanceId)
	}
	return ids
}

// restartAppServer restarts the app's process on every instance, one
// after the other, as Beanstalk restarts the application server
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_RestartAppServer.html).
func (s *Service) restartAppServer(ctx context.Context, p awsapi.Params) (any, error) {
	n, err := s.environment(p, true)
	if err != nil {
		return nil, err
	}
	r, ok := s.env.(AppServerRestarter)
	instances := s.env.Instances()
	if !ok || instances == nil {
		return nil, invalid("Environment named %s has no application server elbow runs: its targets run elsewhere (instances.targets), or this elbow cannot restart them.", n.env)
	}
	var errs []error
	for _, in := range instances {
		if in.State != fleet.StateRunning && in.State != fleet.StateRestarting {
			continue
		}
		if err := r.RestartAppServer(ctx, in.ID); err != nil {
			errs = append(errs, fmt.Errorf("restarting the app on %s: %w", in.ID, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return nil, nil
}

// abortEnvironmentUpdate stops the Updater's update in progress. With none
// (or an environment that deploys nothing) Beanstalk refuses the abort with
// this message (aws/aws-elastic-beanstalk-cli-setup issue 144, eb abort).
func (s *Service) abortEnvironmentUpdate(p awsapi.Params) (any, error) {
	n := s.names()
	name, id := p.String("EnvironmentName"), p.String("EnvironmentId")
	if name != "" || id != "" {
		var err error
		if n, err = s.environment(p, false); err != nil {
			return nil, err
		}
	}
	if u, ok := s.updater(); ok {
		if err := u.Abort(); err != nil {
			return nil, updaterError(n, err)
		}
		return nil, nil
	}
	return nil, awsapi.NewError(http.StatusBadRequest, "InvalidParameterValue",
		"Environment named %s is in an invalid state for this operation. Must be pending deployment.", n.env)
}
