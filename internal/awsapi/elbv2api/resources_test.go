package elbv2api_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestLoadBalancerAndAttributes(t *testing.T) {
	f := start(t, http.StatusOK)
	out, err := f.client.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"api-test"}})
	if err != nil {
		t.Fatalf("DescribeLoadBalancers: %v", err)
	}
	lb := out.LoadBalancers[0]
	if aws.ToString(lb.LoadBalancerName) != "api-test" || lb.Type != types.LoadBalancerTypeEnumApplication ||
		lb.State.Code != types.LoadBalancerStateEnumActive || lb.Scheme != types.LoadBalancerSchemeEnumInternal ||
		!strings.HasPrefix(aws.ToString(lb.DNSName), "api-test-") || !strings.HasSuffix(aws.ToString(lb.DNSName), ".us-west-2.elb.localhost") ||
		!strings.HasPrefix(aws.ToString(lb.VpcId), "vpc-") || len(lb.AvailabilityZones) != 1 ||
		aws.ToString(lb.AvailabilityZones[0].ZoneName) != "us-west-2a" ||
		!strings.HasPrefix(aws.ToString(lb.LoadBalancerArn), "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/api-test/") {
		t.Fatalf("load balancer: %+v", lb)
	}
	_, err = f.client.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"other"}})
	var nf *types.LoadBalancerNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("unknown name: %v, want LoadBalancerNotFound", err)
	}

	arn := lb.LoadBalancerArn
	attrs, err := f.client.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: arn})
	if err != nil {
		t.Fatalf("DescribeLoadBalancerAttributes: %v", err)
	}
	got := map[string]string{}
	for _, a := range attrs.Attributes {
		got[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	want := map[string]string{"idle_timeout.timeout_seconds": "60", "access_logs.s3.enabled": "false",
		"routing.http.drop_invalid_header_fields.enabled": "false", "routing.http.desync_mitigation_mode": "defensive",
		"routing.http2.enabled": "true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("attributes %v, want %v", got, want)
	}
	modify := func(k, v string) error {
		_, err := f.client.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{
			LoadBalancerArn: arn, Attributes: []types.LoadBalancerAttribute{{Key: aws.String(k), Value: aws.String(v)}}})
		return err
	}
	if err := modify("idle_timeout.timeout_seconds", "60"); err != nil {
		t.Fatalf("the same value: %v", err)
	}
	if code, msg := apiCode(t, modify("deletion_protection.enabled", "true")); code != "ValidationError" || !strings.Contains(msg, "routing.http.desync_mitigation_mode") {
		t.Fatalf("unknown key: %s %q", code, msg)
	}
	if code, msg := apiCode(t, modify("idle_timeout.timeout_seconds", "5000")); code != "ValidationError" || !strings.Contains(msg, "between 1 and 4000") {
		t.Fatalf("out of range: %s %q", code, msg)
	}
	// routing.http2.enabled is the file's load_balancer.http2_enabled.
	if err := modify("routing.http2.enabled", "false"); err != nil || f.env.Config().LoadBalancer.HTTP2() {
		t.Fatalf("routing.http2.enabled false: %v, config %v", err, f.env.Config().LoadBalancer.HTTP2())
	}
	if code, _ := apiCode(t, modify("routing.http2.enabled", "no")); code != "ValidationError" {
		t.Fatalf("routing.http2.enabled no: %s, want ValidationError", code)
	}
	// As on AWS, the idle timeout changes live (TestModifyLoadBalancerAttributesLive shows it on the wire).
	if err := modify("idle_timeout.timeout_seconds", "30"); err != nil || f.env.Config().LoadBalancer.IdleTimeout != 30 {
		t.Fatalf("idle timeout 30: %v, config %d", err, f.env.Config().LoadBalancer.IdleTimeout)
	}
}

func TestListenersAndRules(t *testing.T) {
	f := start(t, http.StatusOK)
	ln := f.listenerARN(t)
	ls, err := f.client.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{ln}})
	if err != nil || ls.Listeners[0].Protocol != types.ProtocolEnumHttp || aws.ToString(ls.Listeners[0].DefaultActions[0].TargetGroupArn) != f.groupARN(t, "web") {
		t.Fatalf("DescribeListeners: %v %+v", err, ls)
	}
	created, err := f.client.CreateRule(ctx, &elbv2.CreateRuleInput{
		ListenerArn: aws.String(ln), Priority: aws.Int32(10),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/api/*"}}}},
		Actions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{
			StatusCode: aws.String("200"), ContentType: aws.String("text/plain"), MessageBody: aws.String("api")}}},
	})
	if err != nil {
		t.Fatalf("CreateRule: %v", err)
	}
	rule := aws.ToString(created.Rules[0].RuleArn)
	if code, body := f.get(t, "/api/x"); code != 200 || body != "api" {
		t.Fatalf("the new rule does not route: %d %q", code, body)
	}
	if _, err := f.client.CreateRule(ctx, &elbv2.CreateRuleInput{
		ListenerArn: aws.String(ln), Priority: aws.Int32(10),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/b/*"}}},
		Actions:    []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(f.groupARN(t, "web"))}},
	}); !errors.As(err, new(*types.PriorityInUseException)) {
		t.Fatalf("a priority in use: %v", err)
	}
	rules, err := f.client.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(ln)})
	if err != nil || len(rules.Rules) != 2 || aws.ToString(rules.Rules[0].Priority) != "10" || !aws.ToBool(rules.Rules[1].IsDefault) {
		t.Fatalf("DescribeRules: %v %+v", err, rules)
	}
	def := aws.ToString(rules.Rules[1].RuleArn)

	if _, err := f.client.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(rule),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/v2/*"}}}}); err != nil {
		t.Fatalf("ModifyRule: %v", err)
	}
	if code, body := f.get(t, "/v2/x"); code != 200 || body != "api" {
		t.Fatalf("the modified rule does not route: %d %q", code, body)
	}
	// The ARN the caller holds still names the rule.
	set, err := f.client.SetRulePriorities(ctx, &elbv2.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: aws.String(rule), Priority: aws.Int32(20)}}})
	if err != nil || aws.ToString(set.Rules[0].Priority) != "20" {
		t.Fatalf("SetRulePriorities: %v %+v", err, set)
	}
	if f.env.Config().Listeners[0].Rules[0].Priority != 20 {
		t.Fatalf("the running rule has priority %d", f.env.Config().Listeners[0].Rules[0].Priority)
	}
	if _, err := f.client.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(def)}); !errors.As(err, new(*types.OperationNotPermittedException)) {
		t.Fatalf("deleting the default rule: %v", err)
	}
	if _, err := f.client.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(rule)}); err != nil {
		t.Fatalf("DeleteRule: %v", err)
	}
	if code, body := f.get(t, "/v2/x"); code != 200 || body != "target" {
		t.Fatalf("after DeleteRule: %d %q, want the target's answer", code, body)
	}
	if _, err := f.client.DescribeRules(ctx, &elbv2.DescribeRulesInput{RuleArns: []string{rule}}); !errors.As(err, new(*types.RuleNotFoundException)) {
		t.Fatalf("a deleted rule: %v", err)
	}

	mod, err := f.client.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(ln),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("503")}}}})
	if err != nil || mod.Listeners[0].DefaultActions[0].Type != types.ActionTypeEnumFixedResponse {
		t.Fatalf("ModifyListener: %v %+v", err, mod)
	}
	if code, _ := f.get(t, "/"); code != 503 {
		t.Fatalf("after ModifyListener: %d, want the fixed 503", code)
	}
	if _, err := f.client.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{ln + "0"}}); !errors.As(err, new(*types.ListenerNotFoundException)) {
		t.Fatalf("an unknown listener: %v", err)
	}
}

func TestTargetGroupsLifecycle(t *testing.T) {
	f := start(t, http.StatusOK)
	all, err := f.client.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
	if err != nil || len(all.TargetGroups) != 2 {
		t.Fatalf("DescribeTargetGroups: %v %+v", err, all)
	}
	byLB, err := f.client.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(f.lbARN(t))})
	if err != nil || len(byLB.TargetGroups) != 1 || aws.ToString(byLB.TargetGroups[0].TargetGroupName) != "web" || len(byLB.TargetGroups[0].LoadBalancerArns) != 1 {
		t.Fatalf("by load balancer: %v %+v", err, byLB)
	}
	web := f.groupARN(t, "web")
	byARN, err := f.client.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{web}})
	if err != nil || aws.ToInt32(byARN.TargetGroups[0].HealthCheckIntervalSeconds) != 5 || aws.ToString(byARN.TargetGroups[0].HealthCheckPath) != "/health" {
		t.Fatalf("by ARN: %v %+v", err, byARN)
	}
	_, err = f.client.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"nope"}})
	var nf *types.TargetGroupNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("unknown name: %v", err)
	}

	in := &elbv2.CreateTargetGroupInput{Name: aws.String("extra"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(9000),
		HealthCheckPath: aws.String("/ping"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}
	created, err := f.client.CreateTargetGroup(ctx, in)
	if err != nil {
		t.Fatalf("CreateTargetGroup: %v", err)
	}
	g := created.TargetGroups[0]
	if aws.ToInt32(g.HealthCheckIntervalSeconds) != 30 || aws.ToInt32(g.HealthyThresholdCount) != 5 || aws.ToString(g.HealthCheckPath) != "/ping" {
		t.Fatalf("a new group has the ELBv2 API's defaults: %+v", g)
	}
	if f.env.Group("extra") == nil {
		t.Fatal("the new group does not run")
	}
	if _, err := f.client.CreateTargetGroup(ctx, in); err != nil {
		t.Fatalf("CreateTargetGroup again with the same settings: %v", err)
	}
	in.Port = aws.Int32(9001)
	if _, err := f.client.CreateTargetGroup(ctx, in); !errors.As(err, new(*types.DuplicateTargetGroupNameException)) {
		t.Fatalf("same name, other settings: %v", err)
	}
	if aws.ToString(g.ProtocolVersion) != "HTTP1" {
		t.Fatalf("ProtocolVersion %q; want HTTP1, the default", aws.ToString(g.ProtocolVersion))
	}
	h2, err := f.client.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("h2"), Protocol: types.ProtocolEnumHttp,
		ProtocolVersion: aws.String("HTTP2"), Port: aws.Int32(9002)})
	if err != nil || aws.ToString(h2.TargetGroups[0].ProtocolVersion) != "HTTP2" || f.env.Group("h2").ProtocolVersion() != "HTTP2" {
		t.Fatalf("CreateTargetGroup ProtocolVersion HTTP2: %v %+v", err, h2)
	}
	if _, err := f.client.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("h3"), Protocol: types.ProtocolEnumHttp,
		ProtocolVersion: aws.String("HTTP3"), Port: aws.Int32(9003)}); err == nil || !strings.Contains(err.Error(), `"HTTP3" is not allowed: must be one of HTTP1, HTTP2, GRPC`) {
		t.Fatalf("CreateTargetGroup ProtocolVersion HTTP3: %v; want the allowed values named", err)
	}
	extra := aws.ToString(g.TargetGroupArn)
	tags, err := f.client.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{extra}})
	if err != nil || len(tags.TagDescriptions[0].Tags) != 1 {
		t.Fatalf("the tags of CreateTargetGroup: %v %+v", err, tags)
	}

	if _, err := f.client.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(web)}); !errors.As(err, new(*types.ResourceInUseException)) {
		t.Fatalf("deleting a group a listener forwards to: %v", err)
	}
	if _, err := f.client.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(extra)}); err != nil {
		t.Fatalf("DeleteTargetGroup: %v", err)
	}
	if f.env.Config().TargetGroup("extra") != nil {
		t.Fatal("the deleted group is still configured")
	}
}

func TestTargetGroupAttributes(t *testing.T) {
	f := start(t, http.StatusOK)
	web := f.groupARN(t, "web")
	modify := func(k, v string) (*elbv2.ModifyTargetGroupAttributesOutput, error) {
		return f.client.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(web),
			Attributes: []types.TargetGroupAttribute{{Key: aws.String(k), Value: aws.String(v)}}})
	}
	out, err := modify("deregistration_delay.timeout_seconds", "7")
	if err != nil || len(out.Attributes) != 3 {
		t.Fatalf("ModifyTargetGroupAttributes: %v %+v", err, out)
	}
	if d := f.env.Group("web").DeregistrationDelay(); d.Seconds() != 7 {
		t.Fatalf("the running group's delay is %s", d)
	}
	desc, err := f.client.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(web)})
	if err != nil || aws.ToString(desc.Attributes[0].Value) != "7" {
		t.Fatalf("DescribeTargetGroupAttributes: %v %+v", err, desc)
	}
	if _, err := modify("deregistration_delay.timeout_seconds", "4000"); err == nil {
		t.Fatal("a delay out of range was taken")
	} else if code, msg := apiCode(t, err); code != "ValidationError" || !strings.Contains(msg, "between 0 and 3600") {
		t.Fatalf("out of range: %s %q", code, msg)
	}
	if _, err := modify("stickiness.enabled", "true"); err == nil {
		t.Fatal("an unknown key was taken")
	} else if code, msg := apiCode(t, err); code != "ValidationError" || !strings.Contains(msg, "load_balancing.algorithm.type") {
		t.Fatalf("unknown key: %s %q", code, msg)
	}
	// Slow start and the algorithm change live (TestModifyTargetGroupAttributesLive).
	if _, err := modify("slow_start.duration_seconds", "60"); err != nil || f.env.Group("web").SlowStart().Seconds() != 60 {
		t.Fatalf("slow start: %v", err)
	}
}

func TestTags(t *testing.T) {
	f := start(t, http.StatusOK)
	web := f.groupARN(t, "web")
	lb := f.lbARN(t)
	if _, err := f.client.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{web, lb},
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}, {Key: aws.String("owner"), Value: aws.String("me")}}}); err != nil {
		t.Fatalf("AddTags: %v", err)
	}
	if _, err := f.client.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{web}, TagKeys: []string{"owner"}}); err != nil {
		t.Fatalf("RemoveTags: %v", err)
	}
	out, err := f.client.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{web, lb}})
	if err != nil || len(out.TagDescriptions) != 2 || len(out.TagDescriptions[0].Tags) != 1 || len(out.TagDescriptions[1].Tags) != 2 {
		t.Fatalf("DescribeTags: %v %+v", err, out)
	}
	_, err = f.client.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{web + "0"}, Tags: []types.Tag{{Key: aws.String("k")}}})
	if !errors.As(err, new(*types.TargetGroupNotFoundException)) {
		t.Fatalf("tags on an unknown group: %v", err)
	}
}
