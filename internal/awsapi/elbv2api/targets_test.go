package elbv2api_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The reference app answers its health check with a 301: unhealthy with
// [301] until ModifyTargetGroup's matcher takes 200-301, then healthy, from
// the real checker's probes.
func TestModifyTargetGroupMatcherChangesRealHealth(t *testing.T) {
	f := start(t, http.StatusMovedPermanently)
	web := f.groupARN(t, "web")
	h := f.waitState(t, web, "127.0.0.1", f.target.port(), types.TargetHealthStateEnumUnhealthy)
	if h.Reason != types.TargetHealthReasonEnumResponseCodeMismatch || aws.ToString(h.Description) != "Health checks failed with these codes: [301]" {
		t.Fatalf("unhealthy target: %s, %q; want Target.ResponseCodeMismatch, [301]", h.Reason, aws.ToString(h.Description))
	}
	out, err := f.client.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{
		TargetGroupArn: aws.String(web), Matcher: &types.Matcher{HttpCode: aws.String("200-301")},
	})
	if err != nil {
		t.Fatalf("ModifyTargetGroup: %v", err)
	}
	if got := aws.ToString(out.TargetGroups[0].Matcher.HttpCode); got != "200-301" {
		t.Fatalf("ModifyTargetGroup answered matcher %q", got)
	}
	if f.env.Config().TargetGroup("web").HealthCheck.Matcher != "200-301" {
		t.Fatalf("the running configuration kept matcher %q", f.env.Config().TargetGroup("web").HealthCheck.Matcher)
	}
	f.waitState(t, web, "127.0.0.1", f.target.port(), types.TargetHealthStateEnumHealthy)
}

func TestModifyTargetGroupIntervalNotGreaterThanTimeout(t *testing.T) {
	f := start(t, http.StatusOK)
	_, err := f.client.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{
		TargetGroupArn:             aws.String(f.groupARN(t, "web")),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(5),
	})
	code, msg := apiCode(t, err)
	if code != "ValidationError" || !strings.HasPrefix(msg, "Health check interval must be greater than the timeout.") {
		t.Fatalf("got %s %q, want ValidationError with AWS's message", code, msg)
	}
	if hc := f.env.Config().TargetGroup("web").HealthCheck; hc.Interval != 5 || hc.Timeout != 2 {
		t.Fatalf("a refused change changed the configuration: %+v", hc)
	}
}

// RegisterTargets registers for real: initial while the first check is
// held, healthy once it passes; DeregisterTargets drains.
func TestRegisterDeregisterTargets(t *testing.T) {
	f := start(t, http.StatusOK)
	web := f.groupARN(t, "web")
	b := newApp(t, http.StatusOK)
	gate := make(chan struct{})
	b.gate.Store(&gate)
	_, err := f.client.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(web),
		Targets:        []types.TargetDescription{{Id: aws.String("127.0.0.1"), Port: aws.Int32(b.port())}},
	})
	if err != nil {
		t.Fatalf("RegisterTargets: %v", err)
	}
	if h := f.health(t, web, "127.0.0.1", b.port()); h.State != types.TargetHealthStateEnumInitial {
		t.Fatalf("a registered target whose first check has not answered is %s, want initial", h.State)
	}
	close(gate)
	f.waitState(t, web, "127.0.0.1", b.port(), types.TargetHealthStateEnumHealthy)

	_, err = f.client.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{
		TargetGroupArn: aws.String(web),
		Targets:        []types.TargetDescription{{Id: aws.String("127.0.0.1"), Port: aws.Int32(b.port())}},
	})
	if err != nil {
		t.Fatalf("DeregisterTargets: %v", err)
	}
	h := f.health(t, web, "127.0.0.1", b.port())
	if h.State != types.TargetHealthStateEnumDraining || h.Reason != types.TargetHealthReasonEnumDeregistrationInProgress {
		t.Fatalf("a deregistered target is %s (%s), want draining, Target.DeregistrationInProgress", h.State, h.Reason)
	}
	// Deregistering what is not registered succeeds, as on AWS.
	if _, err := f.client.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{
		TargetGroupArn: aws.String(web), Targets: []types.TargetDescription{{Id: aws.String("127.0.0.9"), Port: aws.Int32(1)}},
	}); err != nil {
		t.Fatalf("DeregisterTargets of an unknown target: %v", err)
	}
}

func TestRegisterTargetsRefusesTargetsOutsideTheEnvironment(t *testing.T) {
	f := start(t, http.StatusOK)
	web := f.groupARN(t, "web")
	for _, id := range []string{"10.1.2.3", "i-0123456789abcdef0", "not-an-ip"} {
		_, err := f.client.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
			TargetGroupArn: aws.String(web), Targets: []types.TargetDescription{{Id: aws.String(id), Port: aws.Int32(80)}},
		})
		var it *types.InvalidTargetException
		if !errors.As(err, &it) || it.ErrorMessage() != "The specified target does not exist or is not in the same VPC as the target group." {
			t.Errorf("RegisterTargets %s: %v, want InvalidTarget", id, err)
		}
	}
	out, err := f.client.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(web)})
	if err != nil || len(out.TargetHealthDescriptions) != 1 {
		t.Fatalf("after refused registrations: %v, %d targets, want the file's 1", err, len(out.TargetHealthDescriptions))
	}
}

func TestDescribeTargetHealth(t *testing.T) {
	f := start(t, http.StatusOK)
	web := f.groupARN(t, "web")
	f.waitState(t, web, "127.0.0.1", f.target.port(), types.TargetHealthStateEnumHealthy)
	out, err := f.client.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(web)})
	if err != nil || len(out.TargetHealthDescriptions) != 1 {
		t.Fatalf("DescribeTargetHealth: %v, %+v", err, out)
	}
	d := out.TargetHealthDescriptions[0]
	if aws.ToString(d.Target.Id) != "127.0.0.1" || aws.ToInt32(d.Target.Port) != f.target.port() || aws.ToString(d.HealthCheckPort) == "" {
		t.Fatalf("description: %+v", d)
	}
	h := f.health(t, web, "127.0.0.7", 9)
	if h.State != types.TargetHealthStateEnumUnused || h.Reason != types.TargetHealthReasonEnumNotRegistered ||
		aws.ToString(h.Description) != "Target is not registered to the target group" {
		t.Fatalf("unknown target: %s %s %q", h.State, h.Reason, aws.ToString(h.Description))
	}
	_, err = f.client.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{
		TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/nope/0123456789abcdef"),
	})
	var nf *types.TargetGroupNotFoundException
	if !errors.As(err, &nf) || nf.ErrorMessage() != "One or more target groups not found" {
		t.Fatalf("unknown group: %v, want TargetGroupNotFound", err)
	}
}

func TestUnknownActionNamesTheOperations(t *testing.T) {
	f := start(t, http.StatusOK)
	resp, err := http.PostForm(f.api, url.Values{"Action": {"CreateLoadBalancer"}, "Version": {"2015-12-01"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 8192)
	for n, _ := resp.Body.Read(buf); n > 0; n, _ = resp.Body.Read(buf) {
		b.Write(buf[:n])
	}
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(b.String(), "<Code>InvalidAction</Code>") ||
		!strings.Contains(b.String(), "DescribeTargetHealth") {
		t.Fatalf("%d %s", resp.StatusCode, b.String())
	}
}
