package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// TestLoadBadConfigs matches each invalid fixture against its exact messages.
func TestLoadBadConfigs(t *testing.T) {
	cases := map[string][]string{
		"invalid-interval-not-greater.yaml": {
			"testdata/invalid-interval-not-greater.yaml:5: target_groups[0].health_check: Health check interval must be greater than the timeout. (interval 5, timeout 5)",
		},
		"invalid-matcher-empty.yaml": {
			"testdata/invalid-matcher-empty.yaml:6: target_groups[0].health_check.matcher: Health check matcher HTTP code cannot be empty (allowed: codes between 200 and 499 as 200, 200,202 or 200-299)",
		},
		"invalid-matcher-range.yaml": {
			`testdata/invalid-matcher-range.yaml:6: target_groups[0].health_check.matcher: "200-502": code 502 is out of range: codes must be between 200 and 499; the forms are 200, 200,202 or 200-299`,
		},
		"invalid-interval-range.yaml": {
			"testdata/invalid-interval-range.yaml:6: target_groups[0].health_check.interval: 301 is out of range: must be between 5 and 300 seconds",
		},
		"invalid-timeout-range.yaml": {
			"testdata/invalid-timeout-range.yaml:6: target_groups[0].health_check.timeout: 1 is out of range: must be between 2 and 120 seconds",
		},
		"invalid-thresholds.yaml": {
			"testdata/invalid-thresholds.yaml:6: target_groups[0].health_check.healthy_threshold: 1 is out of range: must be between 2 and 10",
			"testdata/invalid-thresholds.yaml:7: target_groups[0].health_check.unhealthy_threshold: 11 is out of range: must be between 2 and 10",
		},
		"invalid-unknown-key.yaml": {
			`testdata/invalid-unknown-key.yaml:6: target_groups[0].health_check.intervall: unknown key "intervall"; allowed here: enabled, healthy_threshold, interval, matcher, path, port, protocol, timeout, unhealthy_threshold`,
		},
		"invalid-type.yaml": {
			`testdata/invalid-type.yaml:6: target_groups[0].health_check.interval: "fast" is a string: want a whole number`,
		},
		"invalid-path.yaml": {
			`testdata/invalid-path.yaml:6: target_groups[0].health_check.path: "health" must begin with /`,
		},
		"invalid-port.yaml": {
			`testdata/invalid-port.yaml:6: target_groups[0].health_check.port: "70000" is not allowed: must be traffic-port or a port between 1 and 65535`,
		},
		"invalid-protocol.yaml": {
			`testdata/invalid-protocol.yaml:5: target_groups[0].protocol: "TCP" is not allowed: must be one of HTTP, HTTPS`,
		},
		"invalid-protocol-version.yaml": {
			`testdata/invalid-protocol-version.yaml:5: target_groups[0].protocol_version: "HTTP3" is not allowed: must be one of HTTP1, HTTP2, GRPC`,
			`testdata/invalid-protocol-version.yaml:13: listeners[0].default_action: Listener protocol 'HTTP' is not supported with a target group with the protocol-version 'HTTP2' (target group "h2"): use an HTTPS listener, or protocol_version HTTP1`,
			`testdata/invalid-protocol-version.yaml:19: listeners[2].default_action: Listener protocol 'HTTP' is not supported with a target group with the protocol-version 'GRPC' (target group "grpc"): use an HTTPS listener, or protocol_version HTTP1`,
		},
		// A GRPC group's path names a gRPC method and its matcher holds
		// gRPC codes (Matcher.GrpcCode, 0-99); an HTTP group's does not.
		"invalid-grpc-health-check.yaml": {
			`testdata/invalid-grpc-health-check.yaml:6: target_groups[0].health_check.matcher: "0": "0" is not an HTTP code: codes are three digits between 200 and 499; the forms are 200, 200,202 or 200-299`,
			`testdata/invalid-grpc-health-check.yaml:10: target_groups[1].health_check.path: "/health" is not a gRPC method: a GRPC target group's path has the form /package.service/method, such as /AWS.ALB/healthcheck or /grpc.health.v1.Health/Check`,
			`testdata/invalid-grpc-health-check.yaml:11: target_groups[1].health_check.matcher: "200": Health check matcher GRPC code '200' must be within '0-99' inclusive; a GRPC target group's matcher holds gRPC codes 0-99, as 12, 0,1 or 0-5`,
			`testdata/invalid-grpc-health-check.yaml:16: target_groups[2].health_check.matcher: "0-100": Health check matcher GRPC code '100' must be within '0-99' inclusive; a GRPC target group's matcher holds gRPC codes 0-99, as 12, 0,1 or 0-5`,
			`testdata/invalid-grpc-health-check.yaml:20: target_groups[3].health_check.path: "/AWS.ALB" is not a gRPC method: a GRPC target group's path has the form /package.service/method, such as /AWS.ALB/healthcheck or /grpc.health.v1.Health/Check`,
			"testdata/invalid-grpc-health-check.yaml:21: target_groups[3].health_check.matcher: Health check matcher GRPC code cannot be empty (allowed: gRPC codes between 0 and 99 as 12, 0,1 or 0-5)",
		},
		"invalid-slow-start.yaml": {
			"testdata/invalid-slow-start.yaml:5: target_groups[0].slow_start: 10 is out of range: must be 0 (off) or between 30 and 900 seconds",
			"testdata/invalid-slow-start.yaml:6: target_groups[0].deregistration_delay: 3601 is out of range: must be between 0 and 3600 seconds",
		},
		"invalid-algorithm.yaml": {
			`testdata/invalid-algorithm.yaml:5: target_groups[0].load_balancing_algorithm_type: "random" is not allowed: must be one of round_robin, least_outstanding_requests, weighted_random`,
		},
		"invalid-no-instances.yaml": {
			"testdata/invalid-no-instances.yaml: instances: give exactly one of command (the app to launch), sample_app: true, or targets (addresses already running)",
		},
		"invalid-redirect.yaml": {
			`testdata/invalid-redirect.yaml:7: listeners[0].default_action.redirect: a redirect must change at least one of protocol, host, port or path`,
			`testdata/invalid-redirect.yaml:8: listeners[0].default_action.redirect.status_code: "HTTP_308" is not allowed: must be one of HTTP_301, HTTP_302`,
		},
		"invalid-fixed-response.yaml": {
			`testdata/invalid-fixed-response.yaml:8: listeners[0].default_action.fixed_response.status_code: "302" is not allowed: must be a 2XX, 4XX or 5XX code`,
			`testdata/invalid-fixed-response.yaml:9: listeners[0].default_action.fixed_response.content_type: "text/xml" is not allowed: must be one of text/plain, text/css, text/html, application/javascript, application/json`,
		},
		"invalid-rule.yaml": {
			"testdata/invalid-rule.yaml:8: listeners[0].rules[0].priority: 0 is out of range: must be between 1 and 50000",
			"testdata/invalid-rule.yaml:9: listeners[0].rules[0].conditions: a rule needs at least one condition",
			`testdata/invalid-rule.yaml:11: listeners[0].rules[0].action.target_group: "nowhere" is not a target group of this environment`,
		},
		"invalid-many.yaml": {
			"testdata/invalid-many.yaml:5: instances.max: 2 is smaller than min 3: max must be at least min",
			"testdata/invalid-many.yaml:8: target_groups[0].health_check: Health check interval must be greater than the timeout. (interval 2, timeout 3)",
			"testdata/invalid-many.yaml:9: target_groups[0].health_check.interval: 2 is out of range: must be between 5 and 300 seconds",
			`testdata/invalid-many.yaml:11: target_groups[0].health_check.matcher: "abc": "abc" is not an HTTP code: codes are three digits between 200 and 499; the forms are 200, 200,202 or 200-299`,
			`testdata/invalid-many.yaml:12: target_groups[0].colour: unknown key "colour"; allowed here: deregistration_delay, health_check, load_balancing_algorithm_type, name, port, protocol, protocol_version, slow_start`,
		},
		"invalid-yaml.yaml": {
			"testdata/invalid-yaml.yaml:3: not valid YAML: did not find expected key",
		},
		"invalid-console-exposed.yaml": {
			`testdata/invalid-console-exposed.yaml:4: console.address: "0.0.0.0:8099" listens beyond loopback, where any machine that reaches it could change the environment: set console.credentials (access_key_id, and secret_access_key_env naming the variable that holds the secret), or listen on 127.0.0.1`,
		},
		"invalid-console-credentials.yaml": {
			"testdata/invalid-console-credentials.yaml:5: console.credentials: give one of secret_access_key or secret_access_key_env, not both",
			`testdata/invalid-console-credentials.yaml:6: console.credentials.access_key_id: "AKIA-short" is not an access key id: 16 to 128 letters, digits or underscores, such as AKIAIOSFODNN7EXAMPLE`,
		},
		"invalid-console-secret-env.yaml": {
			"testdata/invalid-console-secret-env.yaml:5: console.credentials.access_key_id: missing: credentials need both an access key id and a secret, or neither",
			"testdata/invalid-console-secret-env.yaml:6: console.credentials.secret_access_key_env: the environment variable ELBOW_TEST_UNSET_SECRET is not set or empty: set it to the secret access key",
		},
		"invalid-console-no-secret.yaml": {
			"testdata/invalid-console-no-secret.yaml:5: console.credentials: missing secret: give secret_access_key_env (the name of an environment variable holding the secret) or secret_access_key",
		},
		// A tab on line 4 is reported on line 4, not on line 3 where the
		// value it interrupts begins.
		"invalid-yaml-tab.yaml": {
			"testdata/invalid-yaml-tab.yaml:4: not valid YAML: found a tab character that violates indentation (YAML indents with spaces, not tabs)",
		},
	}
	files, _ := filepath.Glob("testdata/invalid-*.yaml")
	// invalid-enhanced-health.yaml is matched in enhanced_health_test.go,
	// the deployment, rolling update and auto scaling ones in deploy_test.go.
	if len(files) != len(cases)+4 {
		t.Errorf("%d invalid fixtures, %d cases: every fixture needs its expected messages", len(files), len(cases))
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load("testdata/" + name)
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("err = %v, want Errors", err)
			}
			got := strings.Split(es.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestLoadGoodConfig(t *testing.T) {
	c, err := Load("testdata/good-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	web, canary := c.TargetGroup("web"), c.TargetGroup("canary")
	if web == nil || canary == nil {
		t.Fatal("target groups missing")
	}
	s, err := web.HealthCheck.Settings("HTTP1")
	if err != nil {
		t.Fatal(err)
	}
	// Unset keys keep the Elastic Beanstalk defaults; set ones win.
	if s.Path != "/health" || s.Interval != 15*time.Second || s.Timeout != 5*time.Second ||
		s.HealthyThreshold != 3 || s.UnhealthyThreshold != 5 || !s.Matcher.Match(301) || s.Port != 0 {
		t.Errorf("web settings: %+v", s)
	}
	if web.DeregistrationDelay != 20 || web.Port != 8000 || web.LoadBalancingAlgorithmType != "round_robin" {
		t.Errorf("web group: %+v", web)
	}
	cs, _ := canary.HealthCheck.Settings(canary.ProtocolVersion)
	if cs.Port != 9000 || cs.Protocol != healthcheck.ProtocolHTTPS || cs.Interval != 30*time.Second || canary.SlowStart != 30 {
		t.Errorf("canary settings: %+v", cs)
	}
	if c.Instances.Command.Args()[0] != "/usr/bin/python3" || c.Instances.Min != 1 || c.Instances.Max != 4 ||
		c.Instances.MetadataOptions.HTTPTokens != "required" || c.Instances.MetadataOptions.Port != 1338 {
		t.Errorf("instances: %+v", c.Instances)
	}
	if c.Instances.TargetGroup != "web" || c.LoadBalancer.Name != "shop-prod" || c.LoadBalancer.IdleTimeout != 30 {
		t.Errorf("derived defaults: %+v %+v", c.Instances.TargetGroup, c.LoadBalancer)
	}
	l := c.Listeners[1]
	if l.Address != "127.0.0.1" || l.DefaultAction.Type != "forward" || l.Rules[1].Action.Type != "forward" {
		t.Errorf("listener defaults: %+v", l)
	}
	gs := l.Rules[1].Action.TargetGroups()
	if len(gs) != 2 || *gs[0].Weight != 3 || *gs[1].Weight != 1 {
		t.Errorf("weights: %+v", gs)
	}
}

func TestDefaultIsTheSampleEnvironment(t *testing.T) {
	c := Default()
	if !c.Instances.SampleApp || c.Instances.Min != 2 {
		t.Errorf("instances: %+v", c.Instances)
	}
	if len(c.Listeners) != 1 || c.Listeners[0].Address != "127.0.0.1" || c.Listeners[0].Port != 8080 {
		t.Errorf("listeners: %+v", c.Listeners)
	}
	if c.Console.Address != "127.0.0.1:8099" {
		t.Errorf("console: %q", c.Console.Address)
	}
	s, err := c.TargetGroups[0].HealthCheck.Settings(c.TargetGroups[0].ProtocolVersion)
	if err != nil {
		t.Fatal(err)
	}
	want := healthcheck.EBDefaults()
	if s.Interval != want.Interval || s.Timeout != want.Timeout || s.HealthyThreshold != 3 || s.UnhealthyThreshold != 5 ||
		s.Matcher.String() != "200" || s.Path != "/" || c.TargetGroups[0].DeregistrationDelay != 20 {
		t.Errorf("defaults are not Elastic Beanstalk's: %+v", s)
	}
}

// TestMarshalRoundTrip: what validate --print writes loads back to the same config.
func TestMarshalRoundTrip(t *testing.T) {
	c, err := Load("testdata/good-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "printed.yaml")
	os.WriteFile(path, b, 0o644)
	c2, err := Load(path)
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, b)
	}
	b2, _ := Marshal(c2)
	if string(b) != string(b2) {
		t.Errorf("round trip differs:\n%s\n---\n%s", b, b2)
	}
}

func TestValidateHealthCheckForTheAPI(t *testing.T) {
	h := DefaultHealthCheck
	h.Matcher = "200-301"
	if errs := ValidateHealthCheck(h, "HTTP1"); len(errs) != 0 {
		t.Fatalf("valid block rejected: %v", errs)
	}
	h.Timeout = 20
	errs := ValidateHealthCheck(h, "HTTP1")
	if len(errs) != 1 || errs[0].Error() != "Health check interval must be greater than the timeout. (interval 15, timeout 20)" {
		t.Errorf("errors: %v", errs)
	}
}

// FuzzLoad: the loader never panics, and whatever it accepts converts to
// checker settings the checker can run.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not Errors: %v", err)
			}
			return
		}
		for _, tg := range c.TargetGroups {
			s, err := tg.HealthCheck.Settings(tg.ProtocolVersion)
			if err != nil {
				t.Fatalf("accepted health check does not convert: %v", err)
			}
			if s.Timeout >= s.Interval || s.Interval < 5*time.Second {
				t.Fatalf("accepted invalid timing: %+v", s)
			}
		}
	})
}

// TestYAMLSyntaxErrorLines: a syntax error is reported on the line of the
// problem, not on the line where the construct around it began.
func TestYAMLSyntaxErrorLines(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"\tinstances:\n", "f.yaml:1: not valid YAML: found character that cannot start any token"},
		{"name: a\nregion: b\n\tinstances: {}\n", "f.yaml:3: not valid YAML: found a tab character that violates indentation (YAML indents with spaces, not tabs)"},
		{"name: a\nregion: b\n- c\n", "f.yaml:3: not valid YAML: did not find expected key"},
		{"name: a\n\nregion: b: c\n", "f.yaml:3: not valid YAML: mapping values are not allowed in this context"},
		{"name: a\nregion: \"b\nc: d\n", "f.yaml:2: not valid YAML: found unexpected end of stream"},
	}
	for _, tc := range cases {
		_, err := Parse("f.yaml", []byte(tc.yaml))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.yaml, err, tc.want)
		}
	}
}

// TestConsoleCredentials: loopback addresses need no credentials; any
// address may listen with them; the secret comes from the named variable and
// is printed masked, never in clear.
func TestConsoleCredentials(t *testing.T) {
	t.Setenv("ELBOW_TEST_SECRET", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	base := "instances:\n  sample_app: true\nconsole:\n  address: %s\n"
	for _, addr := range []string{"127.0.0.1:8099", "127.9.9.9:1", "localhost:8099", `"[::1]:8099"`} {
		if _, err := Parse("f.yaml", []byte(fmt.Sprintf(base, addr))); err != nil {
			t.Errorf("%s without credentials: %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:8099", ":8099", "192.168.1.10:8099", "example.com:8099", `"[::]:8099"`} {
		_, err := Parse("f.yaml", []byte(fmt.Sprintf(base, addr)))
		if err == nil || !strings.Contains(err.Error(), "listens beyond loopback") {
			t.Errorf("%s without credentials: %v, want refused", addr, err)
		}
	}
	c, err := Parse("f.yaml", []byte(fmt.Sprintf(base, "0.0.0.0:8099")+
		"  credentials:\n    access_key_id: AKIAIOSFODNN7EXAMPLE\n    secret_access_key_env: ELBOW_TEST_SECRET\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Console.Credentials.Secret(); got != "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" {
		t.Errorf("secret from the environment = %q", got)
	}
	inline, err := Parse("f.yaml", []byte(fmt.Sprintf(base, "0.0.0.0:8099")+
		"  credentials:\n    access_key_id: AKIAIOSFODNN7EXAMPLE\n    secret_access_key: inline-secret-value\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Marshal(inline)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "inline-secret-value") || !strings.Contains(string(out), "secret_access_key: '********'") {
		t.Errorf("--print shows:\n%s\nwant the secret masked", out)
	}
	if inline.Console.Credentials.Secret() != "inline-secret-value" {
		t.Errorf("Marshal changed the secret in effect")
	}
	// The refused file's errors never carry the secret.
	_, err = Load("testdata/invalid-console-credentials.yaml")
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("errors show the secret: %v", err)
	}
}

// TestDefaultHealthCheckIsEB: the file's health_check defaults are the
// checker's Elastic Beanstalk defaults, both ways: the block turns into them,
// and they turn back into the block.
func TestDefaultHealthCheckIsEB(t *testing.T) {
	s, err := DefaultHealthCheck.Settings("HTTP1")
	if err != nil {
		t.Fatal(err)
	}
	eb := healthcheck.EBDefaults()
	if s.Matcher.String() != eb.Matcher.String() {
		t.Errorf("matcher %s, want %s", s.Matcher, eb.Matcher)
	}
	s.Matcher, eb.Matcher = healthcheck.Matcher{}, healthcheck.Matcher{}
	if !reflect.DeepEqual(s, eb) {
		t.Errorf("DefaultHealthCheck.Settings(HTTP1) = %+v, want healthcheck.EBDefaults() %+v", s, eb)
	}
	if DefaultHealthCheck.Port != "traffic-port" || DefaultHealthCheck.Interval != 15 || DefaultTargetGroup.HealthCheck != DefaultHealthCheck {
		t.Errorf("DefaultHealthCheck %+v", DefaultHealthCheck)
	}
}

func TestResolve(t *testing.T) {
	c := &Config{File: filepath.Join("/srv", "app", "elbow.yaml")}
	for in, want := range map[string]string{
		"access.log":     filepath.Join("/srv", "app", "access.log"),
		"../logs/a.log":  filepath.Join("/srv", "logs", "a.log"),
		"/var/log/a.log": "/var/log/a.log",
		"":               "",
	} {
		if got := c.Resolve(in); got != want {
			t.Errorf("Resolve(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (&Config{}).Resolve("a.log"); got != "a.log" {
		t.Errorf("without a file: %q, want the working directory's a.log", got)
	}
}

// TestCopyKeepsNoCommand: a copy made through Marshal and Parse (as the
// API's environment.Update makes one) of a config without a command is
// not a change of instances.command, which would need a restart.
func TestCopyKeepsNoCommand(t *testing.T) {
	for _, src := range []string{"instances:\n  targets: [\"127.0.0.1:9\"]\n", "instances:\n  sample_app: true\n"} {
		c, err := Parse("elbow.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		data, err := Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		copied, err := Parse("elbow.yaml", data)
		if err != nil {
			t.Fatal(err)
		}
		if d := Diff(c, copied); len(d) != 0 {
			t.Errorf("%q: the copy differs: %v", src, d)
		}
	}
}

// TestGRPCDefaults: a GRPC group's health check defaults to AWS's gRPC
// ones, path /AWS.ALB/healthcheck and matcher 12, where the file leaves
// them out, keeps what it gives, and turns into a gRPC check.
func TestGRPCDefaults(t *testing.T) {
	c, err := Load("testdata/good-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rpc := c.TargetGroup("rpc")
	if rpc.HealthCheck.Path != "/AWS.ALB/healthcheck" || rpc.HealthCheck.Matcher != "12" {
		t.Fatalf("rpc health check path %q matcher %q; want /AWS.ALB/healthcheck and 12", rpc.HealthCheck.Path, rpc.HealthCheck.Matcher)
	}
	if web := c.TargetGroup("web"); web.HealthCheck.Path != "/health" || web.HealthCheck.Matcher != "200-301" {
		t.Fatalf("web's health check changed: %+v", web.HealthCheck)
	}
	s, err := rpc.HealthCheck.Settings(rpc.ProtocolVersion)
	if err != nil || !s.GRPC || s.HTTP2 || !s.Matcher.GRPC() || !s.Matcher.Match(12) || s.Matcher.Match(0) {
		t.Fatalf("settings %+v, %v; want a gRPC check matching 12 only", s, err)
	}
	c, err = Parse("elbow.yaml", []byte(`instances: {sample_app: true}
target_groups:
  - name: rpc
    protocol_version: GRPC
    health_check: {path: /grpc.health.v1.Health/Check}
  - name: rpc0
    protocol_version: GRPC
    health_check: {matcher: "0"}
listeners:
  - {protocol: HTTPS, port: 8443, default_action: {target_group: rpc}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if h := c.TargetGroup("rpc").HealthCheck; h.Path != "/grpc.health.v1.Health/Check" || h.Matcher != "12" {
		t.Fatalf("rpc: path %q matcher %q; want the given path and 12", h.Path, h.Matcher)
	}
	if h := c.TargetGroup("rpc0").HealthCheck; h.Path != "/AWS.ALB/healthcheck" || h.Matcher != "0" {
		t.Fatalf("rpc0: path %q matcher %q; want /AWS.ALB/healthcheck and the given 0", h.Path, h.Matcher)
	}
}
