package ebapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	eb "github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk/types"

	"github.com/elbow-lb/elbow/internal/awsapi/arn"
	"github.com/elbow-lb/elbow/internal/environment"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// TestEnvironmentHealthSevereToOk follows a target that fails its health
// checks and then passes them through DescribeEnvironmentHealth
// --attribute-names All, then reads the transitions with DescribeEvents.
func TestEnvironmentHealthSevereToOk(t *testing.T) {
	tg := newTarget(t, 500)
	port := freePort(t)
	env := startEnv(t, fmt.Sprintf(targetsYAML, tg.addr, port))
	c := client(t, env)

	health := func() *eb.DescribeEnvironmentHealthOutput {
		env.Monitor().Evaluate(time.Now()) // the monitor's next evaluation, now
		out, err := c.DescribeEnvironmentHealth(ctx(t), &eb.DescribeEnvironmentHealthInput{
			EnvironmentName: aws.String("ebapi-env"),
			AttributeNames:  []types.EnvironmentHealthAttribute{types.EnvironmentHealthAttributeAll},
		})
		if err != nil {
			t.Fatalf("DescribeEnvironmentHealth: %v", err)
		}
		return out
	}
	var last *eb.DescribeEnvironmentHealthOutput
	wait := func(status string) {
		t.Helper()
		if !testutil.Poll(40*time.Second, func() bool {
			time.Sleep(500 * time.Millisecond)
			last = health()
			return aws.ToString(last.HealthStatus) == status
		}) {
			t.Fatalf("HealthStatus %q (causes %q), want %s", aws.ToString(last.HealthStatus), last.Causes, status)
		}
	}

	wait("Severe")
	if aws.ToString(last.Color) != "Red" || last.Status != "Ready" || len(last.Causes) == 0 {
		t.Errorf("Severe: Color %q Status %q Causes %q, want Red, Ready and a cause", aws.ToString(last.Color), last.Status, last.Causes)
	}
	if last.InstancesHealth == nil || aws.ToInt32(last.InstancesHealth.Severe) != 1 || last.ApplicationMetrics == nil || last.RefreshedAt == nil {
		t.Errorf("Severe: InstancesHealth %+v ApplicationMetrics %+v RefreshedAt %v, want 1 Severe and all set", last.InstancesHealth, last.ApplicationMetrics, last.RefreshedAt)
	}
	// The same figures as the monitor's, which the console serves.
	if want := env.Monitor().EnvironmentHealth(); !slices.Equal(last.Causes, want.Causes) {
		t.Errorf("Causes %q, the monitor says %q", last.Causes, want.Causes)
	}

	tg.code.Store(200)
	wait("Ok")
	if aws.ToString(last.Color) != "Green" || len(last.Causes) != 0 || aws.ToInt32(last.InstancesHealth.Ok) != 1 {
		t.Errorf("Ok: Color %q Causes %q InstancesHealth %+v, want Green, no cause, 1 Ok", aws.ToString(last.Color), last.Causes, last.InstancesHealth)
	}

	t.Run("AttributeNames", func(t *testing.T) {
		out, err := c.DescribeEnvironmentHealth(ctx(t), &eb.DescribeEnvironmentHealthInput{
			EnvironmentId:  aws.String(arn.EnvironmentID("ebapi-env")),
			AttributeNames: []types.EnvironmentHealthAttribute{"HealthStatus"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.HealthStatus) != "Ok" || out.Color != nil || out.Causes != nil || out.InstancesHealth != nil {
			t.Errorf("HealthStatus only: %+v", out)
		}
		out, err = c.DescribeEnvironmentHealth(ctx(t), &eb.DescribeEnvironmentHealthInput{EnvironmentName: aws.String("ebapi-env")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.EnvironmentName) != "ebapi-env" || out.HealthStatus != nil || out.Status != "" {
			t.Errorf("no attributes: want the name only, got %+v", out)
		}
		_, err = c.DescribeEnvironmentHealth(ctx(t), &eb.DescribeEnvironmentHealthInput{
			EnvironmentName: aws.String("ebapi-env"), AttributeNames: []types.EnvironmentHealthAttribute{"Colour"}})
		apiError(t, err, "ValidationError", "Value 'Colour' at 'attributeNames.member' failed to satisfy constraint")
	})

	t.Run("InstancesHealth", func(t *testing.T) {
		out, err := c.DescribeInstancesHealth(ctx(t), &eb.DescribeInstancesHealthInput{
			EnvironmentName: aws.String("ebapi-env"),
			AttributeNames:  []types.InstancesHealthAttribute{"HealthStatus", "Causes"},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := env.Monitor().InstancesHealth().InstanceHealthList
		if len(out.InstanceHealthList) != len(want) || len(want) != 1 {
			t.Fatalf("InstanceHealthList %+v, the monitor has %+v", out.InstanceHealthList, want)
		}
		got := out.InstanceHealthList[0]
		if aws.ToString(got.InstanceId) != want[0].InstanceId || aws.ToString(got.HealthStatus) != "Ok" || got.Color != nil || got.LaunchedAt != nil {
			t.Errorf("instance %+v, want %s Ok without Color or LaunchedAt", got, want[0].InstanceId)
		}
	})

	t.Run("Events", func(t *testing.T) { testEvents(t, c) })
	t.Run("Environments", func(t *testing.T) { testEnvironments(t, c, port) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, c) })
	t.Run("UpdateEnvironment", func(t *testing.T) { testUpdate(t, c, env) })
}

func testEvents(t *testing.T, c *eb.Client) {
	all, err := c.DescribeEvents(ctx(t), &eb.DescribeEventsInput{EnvironmentName: aws.String("ebapi-env")})
	if err != nil {
		t.Fatal(err)
	}
	var severe, ok = -1, -1
	for i, e := range all.Events {
		msg := aws.ToString(e.Message)
		if strings.HasPrefix(msg, "Environment health has transitioned") && strings.Contains(msg, "to Severe.") {
			severe = i
		}
		if strings.HasPrefix(msg, "Environment health has transitioned") && strings.Contains(msg, "to Ok.") {
			ok = i
		}
		if i > 0 && e.EventDate.After(*all.Events[i-1].EventDate) {
			t.Errorf("event %d is newer than event %d: want newest first", i, i-1)
		}
		if aws.ToString(e.EnvironmentName) != "ebapi-env" || aws.ToString(e.ApplicationName) != "ebapi-env" {
			t.Errorf("event %d names %q/%q", i, aws.ToString(e.ApplicationName), aws.ToString(e.EnvironmentName))
		}
	}
	if severe < 0 || ok < 0 || ok > severe {
		t.Fatalf("want the transition to Ok before (newer than) the one to Severe, got %d and %d in %v", ok, severe, messages(all.Events))
	}
	if all.Events[severe].Severity != "WARN" {
		t.Errorf("to Severe is %s, want WARN", all.Events[severe].Severity)
	}

	warn, err := c.DescribeEvents(ctx(t), &eb.DescribeEventsInput{Severity: "WARN"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range warn.Events {
		if e.Severity != "WARN" && e.Severity != "ERROR" && e.Severity != "FATAL" {
			t.Errorf("Severity WARN returned %s: %s", e.Severity, aws.ToString(e.Message))
		}
	}
	if len(warn.Events) == 0 || len(warn.Events) >= len(all.Events) {
		t.Errorf("WARN and above: %d of %d events", len(warn.Events), len(all.Events))
	}

	// One event a page: the pages together are the whole list, in order.
	var paged []types.EventDescription
	var token *string
	for page := 0; ; page++ {
		out, err := c.DescribeEvents(ctx(t), &eb.DescribeEventsInput{MaxRecords: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) > 1 || page > len(all.Events) {
			t.Fatalf("page %d has %d events", page, len(out.Events))
		}
		paged = append(paged, out.Events...)
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !slices.Equal(messages(paged), messages(all.Events)) {
		t.Errorf("pages %q, want %q", messages(paged), messages(all.Events))
	}

	// EndTime is exclusive; StartTime inclusive.
	at := *all.Events[ok].EventDate
	out, err := c.DescribeEvents(ctx(t), &eb.DescribeEventsInput{StartTime: aws.Time(at), EndTime: aws.Time(at.Add(time.Millisecond))})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(messages(out.Events), aws.ToString(all.Events[ok].Message)) {
		t.Errorf("StartTime..EndTime around %v: %q", at, messages(out.Events))
	}
	out, err = c.DescribeEvents(ctx(t), &eb.DescribeEventsInput{EndTime: aws.Time(*all.Events[len(all.Events)-1].EventDate)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 0 {
		t.Errorf("EndTime at the oldest event: want none, got %q", messages(out.Events))
	}
	out, err = c.DescribeEvents(ctx(t), &eb.DescribeEventsInput{EnvironmentName: aws.String("other-env")})
	if err != nil || len(out.Events) != 0 {
		t.Errorf("another environment's events: %v, %q", err, messages(out.Events))
	}

	_, err = c.DescribeEvents(ctx(t), &eb.DescribeEventsInput{MaxRecords: aws.Int32(1001)})
	apiError(t, err, "ValidationError", "Value '1001' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 1000")
	_, err = c.DescribeEvents(ctx(t), &eb.DescribeEventsInput{Severity: "SEVERE"})
	apiError(t, err, "ValidationError", "Value 'SEVERE' at 'severity'")
	_, err = c.DescribeEvents(ctx(t), &eb.DescribeEventsInput{NextToken: aws.String("bogus")})
	apiError(t, err, "InvalidParameterValue", "NextToken")
}

func messages(events []types.EventDescription) []string {
	var out []string
	for _, e := range events {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

func testEnvironments(t *testing.T, c *eb.Client, port int) {
	out, err := c.DescribeEnvironments(ctx(t), &eb.DescribeEnvironmentsInput{EnvironmentNames: []string{"ebapi-env"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Environments) != 1 {
		t.Fatalf("Environments %+v", out.Environments)
	}
	e := out.Environments[0]
	endpoint := fmt.Sprintf("127.0.0.1:%d", port)
	id := arn.EnvironmentID("ebapi-env")
	if aws.ToString(e.EnvironmentId) != id || e.Status != "Ready" || e.Health != "Green" || e.HealthStatus != "Ok" ||
		aws.ToString(e.EndpointURL) != endpoint || aws.ToString(e.CNAME) != endpoint || e.DateCreated == nil ||
		aws.ToString(e.EnvironmentArn) != "arn:aws:elasticbeanstalk:us-west-2:123456789012:environment/ebapi-env/ebapi-env" {
		t.Errorf("environment %+v", e)
	}
	if e.Tier == nil || aws.ToString(e.Tier.Name) != "WebServer" || aws.ToString(e.Tier.Type) != "Standard" || aws.ToString(e.Tier.Version) != "1.0" {
		t.Errorf("Tier %+v", e.Tier)
	}
	if e.Resources == nil || e.Resources.LoadBalancer == nil || aws.ToString(e.Resources.LoadBalancer.LoadBalancerName) != "ebapi-env" ||
		len(e.Resources.LoadBalancer.Listeners) != 1 || e.Resources.LoadBalancer.Listeners[0].Port != int32(port) {
		t.Errorf("Resources %+v", e.Resources)
	}
	for _, in := range []*eb.DescribeEnvironmentsInput{
		{EnvironmentNames: []string{"other-env"}}, {EnvironmentIds: []string{"e-0000000000"}}, {ApplicationName: aws.String("other-app")},
	} {
		out, err := c.DescribeEnvironments(ctx(t), in)
		if err != nil || len(out.Environments) != 0 {
			t.Errorf("DescribeEnvironments(%+v) = %v, %+v; want none", in, err, out)
		}
	}

	res, err := c.DescribeEnvironmentResources(ctx(t), &eb.DescribeEnvironmentResourcesInput{EnvironmentId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	r := res.EnvironmentResources
	if len(r.Instances) != 1 || len(r.AutoScalingGroups) != 1 || !strings.HasPrefix(aws.ToString(r.AutoScalingGroups[0].Name), "awseb-"+id+"-stack-AWSEBAutoScalingGroup-") ||
		len(r.LoadBalancers) != 1 || aws.ToString(r.LoadBalancers[0].Name) != arn.LoadBalancer("us-west-2", "ebapi-env") {
		t.Errorf("EnvironmentResources %+v", r)
	}

	apps, err := c.DescribeApplications(ctx(t), &eb.DescribeApplicationsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps.Applications) != 1 || aws.ToString(apps.Applications[0].ApplicationName) != "ebapi-env" || len(apps.Applications[0].Versions) != 1 {
		t.Fatalf("Applications %+v", apps.Applications)
	}
	label := apps.Applications[0].Versions[0]
	versions, err := c.DescribeApplicationVersions(ctx(t), &eb.DescribeApplicationVersionsInput{ApplicationName: aws.String("ebapi-env")})
	if err != nil {
		t.Fatal(err)
	}
	if len(versions.ApplicationVersions) != 1 || aws.ToString(versions.ApplicationVersions[0].VersionLabel) != label ||
		!strings.HasPrefix(label, "app-") || aws.ToString(e.VersionLabel) != label {
		t.Errorf("ApplicationVersions %+v, environment's %q, application's %q", versions.ApplicationVersions, aws.ToString(e.VersionLabel), label)
	}
}

func testErrors(t *testing.T, c *eb.Client) {
	_, err := c.DescribeEnvironmentHealth(ctx(t), &eb.DescribeEnvironmentHealthInput{EnvironmentName: aws.String("nope-env")})
	apiError(t, err, "InvalidParameterValue", "No Environment found for EnvironmentName = 'nope-env'.")
	_, err = c.DescribeEnvironmentResources(ctx(t), &eb.DescribeEnvironmentResourcesInput{EnvironmentId: aws.String("e-0000000000")})
	apiError(t, err, "InvalidParameterValue", "No Environment found for EnvironmentId = 'e-0000000000'.")
	_, err = c.DescribeInstancesHealth(ctx(t), &eb.DescribeInstancesHealthInput{})
	apiError(t, err, "MissingRequiredParameter", "EnvironmentName or EnvironmentId")
	_, err = c.AbortEnvironmentUpdate(ctx(t), &eb.AbortEnvironmentUpdateInput{EnvironmentName: aws.String("ebapi-env")})
	apiError(t, err, "InvalidParameterValue", "Environment named ebapi-env is in an invalid state for this operation. Must be pending deployment.")
	_, err = c.RestartAppServer(ctx(t), &eb.RestartAppServerInput{EnvironmentName: aws.String("ebapi-env")})
	apiError(t, err, "InvalidParameterValue", "targets run elsewhere")
	_, err = c.DescribeConfigurationSettings(ctx(t), &eb.DescribeConfigurationSettingsInput{
		ApplicationName: aws.String("ebapi-env"), EnvironmentName: aws.String("ebapi-env"), TemplateName: aws.String("t")})
	apiError(t, err, "InvalidParameterCombination", "TemplateName and EnvironmentName")
	_, err = c.DescribeConfigurationSettings(ctx(t), &eb.DescribeConfigurationSettingsInput{
		ApplicationName: aws.String("other-app"), EnvironmentName: aws.String("ebapi-env")})
	apiError(t, err, "InvalidParameterValue", "No Application named 'other-app' found.")
}

// settingValue is the value of ns/name in settings, "" when absent.
func settingValue(t *testing.T, c *eb.Client, ns, name string) (value, resource string) {
	t.Helper()
	out, err := c.DescribeConfigurationSettings(ctx(t), &eb.DescribeConfigurationSettingsInput{
		ApplicationName: aws.String("ebapi-env"), EnvironmentName: aws.String("ebapi-env")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ConfigurationSettings) != 1 {
		t.Fatalf("ConfigurationSettings %+v", out.ConfigurationSettings)
	}
	for _, o := range out.ConfigurationSettings[0].OptionSettings {
		if aws.ToString(o.Namespace) == ns && aws.ToString(o.OptionName) == name {
			return aws.ToString(o.Value), aws.ToString(o.ResourceName)
		}
	}
	return "", ""
}

const process = "aws:elasticbeanstalk:environment:process:default"

func setting(ns, name, value string) types.ConfigurationOptionSetting {
	return types.ConfigurationOptionSetting{Namespace: aws.String(ns), OptionName: aws.String(name), Value: aws.String(value)}
}

func testUpdate(t *testing.T, c *eb.Client, env *environment.Env) {
	if v, res := settingValue(t, c, process, "HealthCheckPath"); v != "/health" || res != "AWSEBV2LoadBalancerTargetGroup" {
		t.Errorf("HealthCheckPath %q (resource %q), want /health on AWSEBV2LoadBalancerTargetGroup", v, res)
	}
	if v, _ := settingValue(t, c, "aws:elbv2:loadbalancer", "IdleTimeout"); v != "60" {
		t.Errorf("IdleTimeout %q, want 60", v)
	}

	out, err := c.UpdateEnvironment(ctx(t), &eb.UpdateEnvironmentInput{
		EnvironmentName: aws.String("ebapi-env"),
		OptionSettings: []types.ConfigurationOptionSetting{
			setting(process, "HealthCheckPath", "/ready"), setting(process, "MatcherHTTPCode", "200-299"),
			setting(process, "HealthCheckInterval", "10"),
		},
	})
	if err != nil {
		t.Fatalf("UpdateEnvironment: %v", err)
	}
	if out.Status != "Ready" || aws.ToString(out.EnvironmentName) != "ebapi-env" {
		t.Errorf("UpdateEnvironment answered %+v", out)
	}
	hc := env.Group("web").HealthCheck()
	if hc.Path != "/ready" || hc.Matcher.String() != "200-299" || hc.Interval != 10*time.Second {
		t.Errorf("running health check %+v, want /ready, 200-299, 10s", hc)
	}
	if v, _ := settingValue(t, c, process, "HealthCheckPath"); v != "/ready" {
		t.Errorf("DescribeConfigurationSettings after the update: HealthCheckPath %q", v)
	}

	update := func(settings ...types.ConfigurationOptionSetting) error {
		_, err := c.UpdateEnvironment(ctx(t), &eb.UpdateEnvironmentInput{EnvironmentName: aws.String("ebapi-env"), OptionSettings: settings})
		return err
	}
	apiError(t, update(setting("aws:elasticbeanstalk:environment", "Domain", "x")), "ConfigurationValidationException",
		"Configuration validation exception: Invalid option specification (Namespace: 'aws:elasticbeanstalk:environment', OptionName: 'Domain'): Unknown configuration setting.")
	apiError(t, update(setting("aws:nope", "Thing", "x")), "ConfigurationValidationException",
		"Invalid option specification (Namespace: 'aws:nope', OptionName: 'Thing'): Unknown configuration setting.")
	apiError(t, update(setting("aws:autoscaling:asg", "Cooldown", "30")), "ConfigurationValidationException",
		"elbow does not apply this setting to a running environment")
	apiError(t, update(setting(process, "HealthCheckInterval", "3")), "ConfigurationValidationException",
		"Invalid option value: '3' (Namespace: '"+process+"', OptionName: 'HealthCheckInterval'): Value is less than minimum allowed value: 5")
	// Valid alone, invalid together: the config's own rule and words.
	apiError(t, update(setting(process, "HealthCheckInterval", "5"), setting(process, "HealthCheckTimeout", "5")), "ValidationError",
		"Health check interval must be greater than the timeout.")
	apiError(t, update(setting("aws:elasticbeanstalk:application:environment", "GREETING", "hi")), "InvalidParameterValue",
		"instances.env changed: the targets run elsewhere")
	if hc := env.Group("web").HealthCheck(); hc.Interval != 10*time.Second || hc.Timeout != 2*time.Second {
		t.Errorf("a refused update changed the health check: %+v", hc)
	}
	_, err = c.UpdateEnvironment(ctx(t), &eb.UpdateEnvironmentInput{EnvironmentName: aws.String("ebapi-env"), VersionLabel: aws.String("v2")})
	apiError(t, err, "InvalidParameterValue", "No Application Version named 'v2' found.")
	_, err = c.UpdateEnvironment(ctx(t), &eb.UpdateEnvironmentInput{})
	apiError(t, err, "MissingRequiredParameter", "EnvironmentName or EnvironmentId")

	// OptionsToRemove puts Beanstalk's default back.
	_, err = c.UpdateEnvironment(ctx(t), &eb.UpdateEnvironmentInput{EnvironmentName: aws.String("ebapi-env"),
		OptionsToRemove: []types.OptionSpecification{{Namespace: aws.String(process), OptionName: aws.String("MatcherHTTPCode")}}})
	if err != nil {
		t.Fatal(err)
	}
	if m := env.Group("web").HealthCheck().Matcher.String(); m != "200" {
		t.Errorf("matcher after OptionsToRemove: %q, want 200", m)
	}

	opts, err := c.DescribeConfigurationOptions(ctx(t), &eb.DescribeConfigurationOptionsInput{EnvironmentName: aws.String("ebapi-env")})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range opts.Options {
		if aws.ToString(o.Namespace) == process && aws.ToString(o.Name) == "HealthCheckInterval" {
			found = aws.ToInt32(o.MinValue) == 5 && aws.ToInt32(o.MaxValue) == 300 && aws.ToString(o.DefaultValue) == "15" && aws.ToString(o.ChangeSeverity) == "NoInterruption"
		}
		if aws.ToString(o.Namespace) == "aws:autoscaling:asg" && aws.ToString(o.Name) == "Cooldown" {
			t.Errorf("Cooldown is listed, but elbow does not apply it")
		}
	}
	if !found {
		t.Errorf("HealthCheckInterval 5-300 default 15 not in %+v", opts.Options)
	}
}
