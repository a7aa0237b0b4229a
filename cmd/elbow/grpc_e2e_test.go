package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// TestUpGRPCTargetGroup: `elbow up` with a target group whose
// protocol_version is GRPC, in front of two real gRPC servers, driven by
// a real gRPC client and Debian's aws CLI. The server with the standard
// health service passes the check of /grpc.health.v1.Health/Check with
// matcher 0; the one without answers UNIMPLEMENTED and turns unhealthy in
// AWS's words. Calls reach the healthy one, with their statuses; HTTP/1.1
// gets 464; the access log types the calls grpcs. The aws CLI reads
// ProtocolVersion and Matcher.GrpcCode, is refused a code beyond 99 in
// AWS's words, and accepting 12 turns the second server healthy.
func TestUpGRPCTargetGroup(t *testing.T) {
	t.Parallel()
	testutil.RequireProgram(t, debianAWS)
	var addrs []string
	for i, ip := range []string{"127.0.0.8", "127.0.0.9"} {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		if i == 0 {
			healthpb.RegisterHealthServer(srv, health.NewServer())
		}
		go srv.Serve(ln)
		t.Cleanup(srv.Stop)
		addrs = append(addrs, ln.Addr().String())
	}
	listen := freePort(t)
	accessLog := filepath.Join(t.TempDir(), "access.log")
	p := startUp(t, fmt.Sprintf(`name: e2e-grpc
instances:
  targets: [%s, %s]
load_balancer:
  access_logs: {enabled: true, path: %s}
target_groups:
  - name: rpc
    protocol_version: GRPC
    health_check: {path: /grpc.health.v1.Health/Check, matcher: "0", interval: 5, timeout: 2, healthy_threshold: 2, unhealthy_threshold: 2}
listeners:
  - protocol: HTTPS
    port: %d
    default_action: {target_group: rpc}
console:
  address: 127.0.0.1:0
`, addrs[0], addrs[1], accessLog, listen))
	p.waitFor(t, `Target 127\.0\.0\.8 \(127\.0\.0\.8:\d+\) in rpc: healthy`, 30*time.Second)
	p.waitFor(t, `Target 127\.0\.0\.9 \(127\.0\.0\.9:\d+\) in rpc: unhealthy \(Target\.ResponseCodeMismatch: Health checks failed with these codes: \[12\]\)`, 30*time.Second)
	p.waitFor(t, `Diagnosis for 127\.0\.0\.9 .*: The target has no gRPC method /grpc\.health\.v1\.Health/Check`, 10*time.Second)
	endpoint := regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, time.Second))[1]

	cc, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", listen), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	for range 4 { // every call reaches the healthy server
		res, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check through elbow: %v %v; want SERVING", res, err)
		}
	}
	if err := cc.Invoke(t.Context(), "/shop.Cart/Add", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("an unknown method through elbow: %v; want Unimplemented", err)
	}
	h1 := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if code, body, err := get(h1, fmt.Sprintf("https://127.0.0.1:%d/", listen)); err != nil || code != 464 {
		t.Fatalf("HTTP/1.1 client: %d %q %v; want 464", code, body, err)
	}
	if !testutil.Poll(5*time.Second, func() bool {
		b, _ := os.ReadFile(accessLog)
		return strings.Count(string(b), "grpcs ") >= 5
	}) {
		b, _ := os.ReadFile(accessLog)
		t.Fatalf("access log: want 5 lines typed grpcs:\n%s", b)
	}

	var groups struct {
		TargetGroups []struct {
			TargetGroupArn, ProtocolVersion, HealthCheckPath string
			Matcher                                          map[string]string
		}
	}
	awsJSON(t, endpoint, &groups, "elbv2", "describe-target-groups", "--names", "rpc")
	if g := groups.TargetGroups; len(g) != 1 || g[0].ProtocolVersion != "GRPC" || g[0].HealthCheckPath != "/grpc.health.v1.Health/Check" ||
		len(g[0].Matcher) != 1 || g[0].Matcher["GrpcCode"] != "0" {
		t.Fatalf("describe-target-groups --names rpc: %+v", groups)
	}
	tg := groups.TargetGroups[0].TargetGroupArn
	var th targetHealthOut
	awsJSON(t, endpoint, &th, "elbv2", "describe-target-health", "--target-group-arn", tg)
	for _, d := range th.TargetHealthDescriptions {
		want := "healthy"
		if d.Target.Id == "127.0.0.9" {
			want = "unhealthy"
			if d.TargetHealth.Description != "Health checks failed with these codes: [12]" {
				t.Errorf("127.0.0.9: %+v", d.TargetHealth)
			}
		}
		if d.TargetHealth.State != want {
			t.Errorf("%s: %+v; want %s", d.Target.Id, d.TargetHealth, want)
		}
	}
	_, errOut, code := awsCLI(t, endpoint, "elbv2", "modify-target-group", "--target-group-arn", tg, "--matcher", "GrpcCode=100")
	if want := "Health check matcher GRPC code '100' must be within '0-99' inclusive"; code != 254 || !strings.Contains(errOut, want) {
		t.Errorf("GrpcCode=100: exit %d %q; want 254 and %q", code, errOut, want)
	}
	var modified struct {
		TargetGroups []struct{ Matcher map[string]string }
	}
	awsJSON(t, endpoint, &modified, "elbv2", "modify-target-group", "--target-group-arn", tg, "--matcher", `{"GrpcCode":"0,12"}`)
	if len(modified.TargetGroups) != 1 || modified.TargetGroups[0].Matcher["GrpcCode"] != "0,12" {
		t.Fatalf("modify-target-group GrpcCode 0,12: %+v", modified)
	}
	p.waitFor(t, `Target 127\.0\.0\.9 \(127\.0\.0\.9:\d+\) in rpc: healthy`, 30*time.Second)
}
