package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// debianAWS is Debian's awscli (2.9), which .ci/run installs; a pip or
// pyenv aws elsewhere on PATH is a different program.
const debianAWS = "/usr/bin/aws"

// awsCLI runs the aws CLI against the console with dummy credentials, as
// users run it against an emulator (--endpoint-url on every call: Debian's
// 2.9 ignores AWS_ENDPOINT_URL).
func awsCLI(t *testing.T, endpoint string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(debianAWS, append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-west-2",
		"AWS_PAGER=", "HOME="+t.TempDir(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("aws %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

func awsJSON(t *testing.T, endpoint string, v any, args ...string) {
	t.Helper()
	out, errOut, code := awsCLI(t, endpoint, args...)
	if code != 0 {
		t.Fatalf("aws %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

type targetHealthOut struct {
	TargetHealthDescriptions []struct {
		Target struct {
			Id   string
			Port int
		} //nolint:revive // AWS's spelling
		TargetHealth struct{ State, Reason, Description string }
	}
}

// TestAWSCLIAgainstTheReferenceScenario drives elbow up running the
// reference Django app with Debian's aws CLI, as users script AWS.
func TestAWSCLIAgainstTheReferenceScenario(t *testing.T) {
	t.Parallel()
	requireDjango(t)
	testutil.RequireProgram(t, debianAWS)
	yaml := strings.Replace(djangoYAML(t, "1", "200", freePort(t), freePort(t), freePort(t)), "deregistration_delay: 1", "deregistration_delay: 30", 1) +
		// A short launch grace, so enhanced health judges the instances
		// within the test rather than after Beanstalk's minutes.
		"enhanced_health: {launch_grace_period: 10}\n"
	p := startUp(t, yaml)
	p.waitFor(t, `is up`, 30*time.Second)
	p.waitForN(t, `in web: unhealthy \(Target\.ResponseCodeMismatch: Health checks failed with these codes: \[301\]\)`, 2, 40*time.Second)
	endpoint := regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, time.Second))[1]

	var groups struct {
		TargetGroups []struct{ TargetGroupArn, TargetGroupName string }
	}
	awsJSON(t, endpoint, &groups, "elbv2", "describe-target-groups", "--names", "web")
	if len(groups.TargetGroups) != 1 {
		t.Fatalf("describe-target-groups --names web: %+v", groups)
	}
	tg := groups.TargetGroups[0].TargetGroupArn

	var health targetHealthOut
	awsJSON(t, endpoint, &health, "elbv2", "describe-target-health", "--target-group-arn", tg)
	if len(health.TargetHealthDescriptions) != 2 {
		t.Fatalf("describe-target-health: %+v", health)
	}
	for _, d := range health.TargetHealthDescriptions {
		if th := d.TargetHealth; th.State != "unhealthy" || th.Reason != "Target.ResponseCodeMismatch" || th.Description != "Health checks failed with these codes: [301]" {
			t.Errorf("target %s: %+v", d.Target.Id, th)
		}
	}
	var envHealth struct {
		HealthStatus, Status, Color string
		Causes                      []string
	}
	// Enhanced health turns Severe once its first windows are in.
	severe := testutil.Poll(60*time.Second, func() bool {
		awsJSON(t, endpoint, &envHealth, "elasticbeanstalk", "describe-environment-health", "--environment-name", "django-shop", "--attribute-names", "All")
		return envHealth.HealthStatus == "Severe"
	})
	if !severe || envHealth.Color != "Red" || envHealth.Status != "Ready" || !contains(envHealth.Causes, "ELB health is failing or not available for all instances.") {
		t.Errorf("describe-environment-health before the fix: %+v", envHealth)
	}

	// A bad change is refused as AWS refuses it.
	_, errOut, code := awsCLI(t, endpoint, "elbv2", "modify-target-group", "--target-group-arn", tg,
		"--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "5")
	if want := "An error occurred (ValidationError) when calling the ModifyTargetGroup operation: Health check interval must be greater than the timeout."; code != 254 || !strings.Contains(errOut, want) {
		t.Errorf("the bad call: exit %d %q, want 254 and %q", code, errOut, want)
	}

	var modified struct {
		TargetGroups []struct{ Matcher struct{ HttpCode string } }
	} //nolint:revive // AWS's spelling
	awsJSON(t, endpoint, &modified, "elbv2", "modify-target-group", "--target-group-arn", tg, "--matcher", "HttpCode=200-301")
	if len(modified.TargetGroups) != 1 || modified.TargetGroups[0].Matcher.HttpCode != "200-301" {
		t.Fatalf("modify-target-group: %+v", modified)
	}
	p.waitForN(t, `in web: healthy$`, 2, 40*time.Second)
	ok := testutil.Poll(90*time.Second, func() bool {
		awsJSON(t, endpoint, &envHealth, "elasticbeanstalk", "describe-environment-health", "--environment-name", "django-shop", "--attribute-names", "All")
		return envHealth.HealthStatus == "Ok"
	})
	if !ok || envHealth.Color != "Green" {
		t.Errorf("describe-environment-health after the fix: %+v", envHealth)
	}

	// The environment's events, lifecycle and health, newest first.
	var events struct {
		Events []struct{ Message, Severity string }
	}
	awsJSON(t, endpoint, &events, "elasticbeanstalk", "describe-events", "--environment-name", "django-shop")
	var added, transitioned bool
	for _, e := range events.Events {
		added = added || strings.HasPrefix(e.Message, "Added instance [i-")
		transitioned = transitioned || strings.HasPrefix(e.Message, "Environment health has transitioned from ")
	}
	if !added || !transitioned {
		t.Errorf("describe-events lacks the lifecycle or health events: %+v", events.Events)
	}

	// Deregistration drains, registration brings the target back. The
	// delay is 30 s so that a slow aws CLI (2-3 s a call on a loaded
	// machine) still finds the target draining.
	id := health.TargetHealthDescriptions[0].Target.Id
	if _, errOut, code := awsCLI(t, endpoint, "elbv2", "deregister-targets", "--target-group-arn", tg, "--targets", "Id="+id); code != 0 {
		t.Fatalf("deregister-targets: %d %s", code, errOut)
	}
	awsJSON(t, endpoint, &health, "elbv2", "describe-target-health", "--target-group-arn", tg, "--targets", "Id="+id)
	if len(health.TargetHealthDescriptions) != 1 || health.TargetHealthDescriptions[0].TargetHealth.State != "draining" ||
		health.TargetHealthDescriptions[0].TargetHealth.Reason != "Target.DeregistrationInProgress" {
		t.Errorf("after deregister-targets: %+v", health)
	}
	if _, errOut, code := awsCLI(t, endpoint, "elbv2", "register-targets", "--target-group-arn", tg, "--targets", fmt.Sprintf("Id=%s", id)); code != 0 {
		t.Fatalf("register-targets: %d %s", code, errOut)
	}
	p.waitForN(t, `Target `+regexp.QuoteMeta(id)+` \(.*\) in web: healthy$`, 2, 40*time.Second)
}

// boto3Script is what a user's integration test does with boto3 against
// elbow: find the target group, read its targets' health, read the
// environment's.
const boto3Script = `
import sys, boto3
endpoint = sys.argv[1]
kw = dict(endpoint_url=endpoint, region_name="us-west-2", aws_access_key_id="test", aws_secret_access_key="test")
elbv2 = boto3.client("elbv2", **kw)
arn = elbv2.describe_target_groups(Names=["web"])["TargetGroups"][0]["TargetGroupArn"]
health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
eb = boto3.client("elasticbeanstalk", **kw)
env = eb.describe_environments(EnvironmentNames=["django-shop"])["Environments"][0]
try:
    elbv2.describe_target_health(TargetGroupArn=arn.replace("/web/", "/nope/"))
    print("no error")
except elbv2.exceptions.TargetGroupNotFoundException as e:
    print("TargetGroupNotFound")
print(len(health), sorted({h["TargetHealth"]["State"] for h in health}), env["EnvironmentName"], env["Status"])
`

// TestBoto3AgainstElbow runs boto3 (Debian's python3-boto3) against elbow up.
func TestBoto3AgainstElbow(t *testing.T) {
	t.Parallel()
	requireDjango(t)
	python := testutil.RequireProgram(t, testutil.SystemPython)
	if out, err := exec.Command(python, "-c", "import boto3").CombinedOutput(); err != nil {
		testutil.Missing(t, "python3-boto3", "apt-get install -y python3-boto3: "+string(out))
	}
	p := startUp(t, djangoYAML(t, "1", "200-301", freePort(t), freePort(t), freePort(t)))
	p.waitFor(t, `is up`, 30*time.Second)
	p.waitForN(t, `in web: healthy$`, 2, 40*time.Second)
	endpoint := regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, time.Second))[1]
	out, err := exec.Command(python, "-c", boto3Script, endpoint).CombinedOutput()
	if want := "TargetGroupNotFound\n2 ['healthy'] django-shop Ready\n"; err != nil || string(out) != want {
		t.Fatalf("boto3: %v\n%s\nwant %s", err, out, want)
	}
}
