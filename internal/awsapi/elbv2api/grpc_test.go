package elbv2api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// TestGRPCTargetGroupAPI: CreateTargetGroup with ProtocolVersion GRPC makes
// a group with AWS's gRPC defaults (HealthCheckPath /AWS.ALB/healthcheck,
// Matcher.GrpcCode 12) that checks with gRPC; ModifyTargetGroup changes
// its GrpcCode, and refuses codes beyond 0-99 in AWS's words, HttpCode for
// it, GrpcCode for an HTTP1 group, and a path that names no gRPC method.
func TestGRPCTargetGroupAPI(t *testing.T) {
	f := start(t, http.StatusOK)
	created, err := f.client.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("rpc"),
		Protocol: types.ProtocolEnumHttp, ProtocolVersion: aws.String("GRPC"), Port: aws.Int32(50051)})
	if err != nil {
		t.Fatalf("CreateTargetGroup GRPC: %v", err)
	}
	g := created.TargetGroups[0]
	if aws.ToString(g.ProtocolVersion) != "GRPC" || g.Matcher == nil || aws.ToString(g.Matcher.GrpcCode) != "12" ||
		g.Matcher.HttpCode != nil || aws.ToString(g.HealthCheckPath) != "/AWS.ALB/healthcheck" {
		t.Fatalf("a new GRPC group: version %q, matcher %+v, path %q; want GRPC, GrpcCode 12 alone, /AWS.ALB/healthcheck",
			aws.ToString(g.ProtocolVersion), g.Matcher, aws.ToString(g.HealthCheckPath))
	}
	if s := f.env.Group("rpc").HealthCheck(); !s.GRPC || !s.Matcher.Match(12) {
		t.Fatalf("the running group's checks: %+v; want gRPC checks matching 12", s)
	}
	rpc := aws.ToString(g.TargetGroupArn)

	mod, err := f.client.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(rpc),
		HealthCheckPath: aws.String("/grpc.health.v1.Health/Check"), Matcher: &types.Matcher{GrpcCode: aws.String("0-5")}})
	if err != nil || aws.ToString(mod.TargetGroups[0].Matcher.GrpcCode) != "0-5" {
		t.Fatalf("ModifyTargetGroup GrpcCode 0-5: %v %+v", err, mod)
	}
	if s := f.env.Group("rpc").HealthCheck(); !s.Matcher.Match(5) || s.Matcher.Match(12) || s.Path != "/grpc.health.v1.Health/Check" {
		t.Fatalf("the running group's checks after the change: %+v", s)
	}
	described, err := f.client.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"rpc"}})
	if err != nil || aws.ToString(described.TargetGroups[0].Matcher.GrpcCode) != "0-5" || described.TargetGroups[0].Matcher.HttpCode != nil {
		t.Fatalf("DescribeTargetGroups: %v %+v", err, described)
	}

	for _, tc := range []struct {
		name string
		in   *elbv2.ModifyTargetGroupInput
		want string
	}{
		{"GrpcCode 100", &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(rpc), Matcher: &types.Matcher{GrpcCode: aws.String("0-100")}},
			`Matcher.GrpcCode: "0-100": Health check matcher GRPC code '100' must be within '0-99' inclusive`},
		{"HttpCode for GRPC", &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(rpc), Matcher: &types.Matcher{HttpCode: aws.String("200")}},
			"Matcher.HttpCode does not apply to a target group with the protocol-version 'GRPC'"},
		{"a path that is no method", &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(rpc), HealthCheckPath: aws.String("/health")},
			`HealthCheckPath: "/health" is not a gRPC method: a GRPC target group's path has the form /package.service/method`},
		{"GrpcCode for HTTP1", &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(f.groupARN(t, "web")), Matcher: &types.Matcher{GrpcCode: aws.String("0")}},
			"Matcher.GrpcCode applies only to a target group with the protocol-version 'GRPC' (this one is 'HTTP1')"},
	} {
		_, err := f.client.ModifyTargetGroup(ctx, tc.in)
		if err == nil || !strings.Contains(err.Error(), "ValidationError") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want a ValidationError saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := f.client.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("rpc2"), Protocol: types.ProtocolEnumHttp,
		ProtocolVersion: aws.String("GRPC"), Matcher: &types.Matcher{HttpCode: aws.String("200")}}); err == nil ||
		!strings.Contains(err.Error(), "Matcher.HttpCode does not apply") {
		t.Fatalf("CreateTargetGroup GRPC with HttpCode: %v; want refused", err)
	}
}
