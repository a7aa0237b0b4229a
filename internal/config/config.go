package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"gopkg.in/yaml.v3"
)

// Config is one environment, as described by an elbow.yaml file.
type Config struct {
	// Name of the environment, as Elastic Beanstalk names it. Default "elbow-env".
	Name string `yaml:"name"`
	// Region the metadata service reports. Default us-west-2.
	Region string `yaml:"region"`
	// Instances run the app, or name targets that already run.
	Instances Instances `yaml:"instances"`
	// LoadBalancer holds the settings of the load balancer as a whole.
	LoadBalancer LoadBalancer `yaml:"load_balancer"`
	// Listeners accept client traffic. Default: one HTTP listener on 127.0.0.1:8080
	// forwarding to the first target group.
	Listeners []Listener `yaml:"listeners"`
	// TargetGroups hold the targets and their health checks. Default: one group
	// "default" with the Elastic Beanstalk process defaults.
	TargetGroups []TargetGroup `yaml:"target_groups"`
	// Console is the JSON API, dashboard and /metrics.
	Console Console `yaml:"console"`
	// EnhancedHealth holds the thresholds of the enhanced health rules.
	EnhancedHealth EnhancedHealth `yaml:"enhanced_health"`
	// Deployment is how a new version reaches the instances
	// (aws:elasticbeanstalk:command).
	Deployment Deployment `yaml:"deployment"`
	// RollingUpdate is how a configuration update replaces the instances
	// (aws:autoscaling:updatepolicy:rollingupdate).
	RollingUpdate RollingUpdate `yaml:"rolling_update"`
	// AutoScaling holds the Auto Scaling group's cooldown, health check and
	// scaling trigger (aws:autoscaling:asg, aws:autoscaling:trigger).
	AutoScaling AutoScaling `yaml:"auto_scaling"`

	// File is the path the config was read from ("" for the built-in default).
	File string `yaml:"-"`
	// overlay: read by ParseOverlay, the app may be left to a project.
	overlay bool
}

// Instances describes the app's instances.
type Instances struct {
	// Command runs one instance: a string (run with sh -c) or a list (argv).
	// It reads HOST, PORT, ELBOW_INSTANCE_ID and AWS_EC2_METADATA_SERVICE_ENDPOINT.
	Command Command `yaml:"command"`
	// SampleApp runs elbow's built-in sample application instead of a command.
	SampleApp bool `yaml:"sample_app"`
	// Dir is the working directory of the command, relative to the config file.
	Dir string `yaml:"dir"`
	// Env is added to each instance's environment.
	Env map[string]string `yaml:"env"`
	// Port every instance listens on, each on its own IP. Default 8000.
	Port int `yaml:"port"`
	// Min instances are launched at start. Default 2.
	Min int `yaml:"min"`
	// Max bounds scaling. Default 4 (at least Min).
	Max int `yaml:"max"`
	// TargetGroup the instances register in. Default: the first target group.
	TargetGroup string `yaml:"target_group"`
	// Targets lists addresses (ip:port) already running somewhere, registered
	// instead of launching a command.
	Targets []string `yaml:"targets"`
	// MetadataOptions configure each instance's metadata service, named after
	// Terraform's aws_instance metadata_options.
	MetadataOptions MetadataOptions `yaml:"metadata_options"`
	// LogDir keeps one output file per instance. Default .elbow/logs beside the config.
	LogDir string `yaml:"log_dir"`
	// Network is "loopback" (default: instance N on 127.0.0.(N+1), no
	// privilege needed) or "vpc" (each instance in its own network
	// namespace with a private IP from VPCCIDR and the metadata service at
	// 169.254.169.254; needs root).
	Network string `yaml:"network"`
	// VPCCIDR is the VPC's CIDR block in vpc mode. Default 172.31.0.0/16,
	// Amazon's default VPC.
	VPCCIDR string `yaml:"vpc_cidr"`
}

// MetadataOptions of the instance metadata service.
type MetadataOptions struct {
	// HTTPTokens is "optional" (IMDSv1 and v2) or "required" (v2 only). Default optional.
	HTTPTokens string `yaml:"http_tokens"`
	// Port of each instance's metadata service on the instance's IP. Default
	// 1338. In vpc mode the service is at 169.254.169.254:80, as on EC2.
	Port int `yaml:"port"`
	// HTTPPutResponseHopLimit is the IP hop limit (TTL) of the token's
	// response, 1-64, default 1 as on an EC2 instance: a container behind
	// one more hop then gets no token and needs 2 (EC2
	// ModifyInstanceMetadataOptions, HttpPutResponseHopLimit). It changes
	// something only in vpc mode, where instances are a hop apart.
	HTTPPutResponseHopLimit int `yaml:"http_put_response_hop_limit"`
}

// Command is an app command given as a string (shell) or as a list (argv).
type Command struct {
	Shell string
	Argv  []string
}

// UnmarshalYAML accepts a scalar or a sequence of strings.
func (c *Command) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		c.Shell, c.Argv = n.Value, nil
		return nil
	case yaml.SequenceNode:
		c.Shell = ""
		if err := n.Decode(&c.Argv); err != nil {
			return err
		}
		// An empty list is no command, as an absent key: Marshal writes
		// the zero Command as [], and a copy must equal its original.
		if len(c.Argv) == 0 {
			c.Argv = nil
		}
		return nil
	}
	return fmt.Errorf("line %d: command must be a string or a list of strings", n.Line)
}

// MarshalYAML writes the form it was given in.
func (c Command) MarshalYAML() (any, error) {
	if c.Shell != "" {
		return c.Shell, nil
	}
	return c.Argv, nil
}

// IsZero reports whether no command was given.
func (c Command) IsZero() bool { return c.Shell == "" && len(c.Argv) == 0 }

// Args is the argv to execute: the list as given, or sh -c for a string.
func (c Command) Args() []string {
	if c.Shell != "" {
		return []string{"/bin/sh", "-c", c.Shell}
	}
	return c.Argv
}

// LoadBalancer settings, named after Terraform's aws_lb.
type LoadBalancer struct {
	// Name of the load balancer in access logs (app/<name>/<id>). Default: the environment name.
	Name string `yaml:"name"`
	// IdleTimeout in seconds, 1-4000: a target that does not answer within it gets a 504. Default 60.
	IdleTimeout int `yaml:"idle_timeout"`
	// AccessLogs in the ALB access-log format.
	AccessLogs AccessLogs `yaml:"access_logs"`
	// DropInvalidHeaderFields removes request headers whose names are not
	// letters, digits and hyphens before routing, as the ALB attribute
	// routing.http.drop_invalid_header_fields.enabled does. Default false, as
	// on AWS. Turn it on for apps that read headers through CGI/WSGI names,
	// where X_Forwarded_For would pass for X-Forwarded-For.
	DropInvalidHeaderFields bool `yaml:"drop_invalid_header_fields"`
	// DesyncMitigationMode is how requests that may desynchronise a target
	// are treated, as the ALB attribute routing.http.desync_mitigation_mode:
	// monitor, defensive (default) or strictest. See docs/load-balancer.md.
	DesyncMitigationMode string `yaml:"desync_mitigation_mode"`
	// PublicHost is the Host your users send (your domain, such as
	// www.example.com). The diagnosis of a failing health check compares the
	// check with a user's request carrying it. Default empty: unset, the
	// comparison carries the listener's address, the Host users reaching
	// elbow send, never a made-up name that a host allow-list also refuses.
	PublicHost string `yaml:"public_host"`
	// HTTP2Enabled is the ALB attribute routing.http2.enabled: HTTPS
	// listeners offer HTTP/2 to clients (ALPN h2). Default true, as on AWS;
	// targets get HTTP/1.1 either way.
	HTTP2Enabled *bool `yaml:"http2_enabled"`
}

// HTTP2 reports whether HTTPS listeners offer HTTP/2 (http2_enabled, default true).
func (lb LoadBalancer) HTTP2() bool { return lb.HTTP2Enabled == nil || *lb.HTTP2Enabled }

// AccessLogs destination.
type AccessLogs struct {
	Enabled bool `yaml:"enabled"`
	// Path of the log file, or "-" for standard output. Default "-".
	Path string `yaml:"path"`
}

// Console settings.
type Console struct {
	// Address of the console (API, dashboard, /metrics). Default 127.0.0.1:8099;
	// it listens on loopback unless configured otherwise.
	Address string `yaml:"address"`
	// Credentials, when set, are required of every console request. A
	// console listening beyond loopback must have them.
	Credentials *ConsoleCredentials `yaml:"credentials,omitempty"`
}

// TargetGroup is one target group, with keys named after Terraform's aws_lb_target_group.
type TargetGroup struct {
	Name string `yaml:"name"`
	// Protocol to the targets: HTTP or HTTPS. Default HTTP.
	Protocol string `yaml:"protocol"`
	// ProtocolVersion the load balancer speaks to the targets: HTTP1
	// (HTTP/1.1, the default), HTTP2 (HTTP/2: over TLS with ALPN h2 for
	// an HTTPS group, cleartext with prior knowledge for HTTP) or GRPC
	// (gRPC calls over HTTP/2). An HTTP2 group takes HTTP/2 requests only,
	// a GRPC group gRPC calls only, both from HTTPS listeners; their health
	// checks are HTTP/2 too, a GRPC group's a gRPC call whose grpc-status
	// the matcher judges. The ELBv2 API's ProtocolVersion.
	ProtocolVersion string `yaml:"protocol_version"`
	// Port is the traffic port. Default: instances.port.
	Port        int         `yaml:"port"`
	HealthCheck HealthCheck `yaml:"health_check"`
	// DeregistrationDelay in seconds, 0-3600. Default 20 (Elastic Beanstalk's).
	DeregistrationDelay int `yaml:"deregistration_delay"`
	// SlowStart in seconds: 0 (off) or 30-900. Default 0.
	SlowStart int `yaml:"slow_start"`
	// LoadBalancingAlgorithmType: round_robin, least_outstanding_requests or weighted_random.
	LoadBalancingAlgorithmType string `yaml:"load_balancing_algorithm_type"`
}

// HealthCheck is a target group's health_check block.
type HealthCheck struct {
	// Enabled turns health checks on. Default true.
	Enabled bool `yaml:"enabled"`
	// Path of the check, 1-1024 characters. Default "/"; for a GRPC group
	// the gRPC method /package.service/method, default /AWS.ALB/healthcheck.
	Path string `yaml:"path"`
	// Port: "traffic-port" or 1-65535. Default traffic-port.
	Port string `yaml:"port"`
	// Protocol: HTTP or HTTPS. Default HTTP.
	Protocol string `yaml:"protocol"`
	// Interval in seconds, 5-300. Default 15 (Elastic Beanstalk).
	Interval int `yaml:"interval"`
	// Timeout in seconds, 2-120, smaller than the interval. Default 5.
	Timeout int `yaml:"timeout"`
	// HealthyThreshold, 2-10. Default 3 (Elastic Beanstalk).
	HealthyThreshold int `yaml:"healthy_threshold"`
	// UnhealthyThreshold, 2-10. Default 5 (Elastic Beanstalk).
	UnhealthyThreshold int `yaml:"unhealthy_threshold"`
	// Matcher: success codes 200-499 as "200", "200,202" or "200-299".
	// Default "200". For a GRPC group, gRPC codes 0-99 as "0", "0,1" or
	// "0-5", default "12" (the ELBv2 API's Matcher.GrpcCode; one key for
	// both, as Terraform's health_check.matcher).
	Matcher string `yaml:"matcher"`
}

// Defaults as values. Health-check defaults are Elastic Beanstalk's process
// defaults, defined once by healthcheck.EBDefaults: an environment file
// describes an Elastic Beanstalk environment, not a bare ALB.
var (
	DefaultHealthCheck = healthCheckOf(healthcheck.EBDefaults())
	DefaultTargetGroup = TargetGroup{
		Protocol: "HTTP", ProtocolVersion: "HTTP1", HealthCheck: DefaultHealthCheck,
		DeregistrationDelay: 20, LoadBalancingAlgorithmType: "round_robin",
	}
	DefaultInstances = Instances{
		Port: 8000, Min: 2,
		MetadataOptions: MetadataOptions{HTTPTokens: "optional", Port: 1338, HTTPPutResponseHopLimit: 1},
		Network:         "loopback",
		VPCCIDR:         "172.31.0.0/16",
	}
	DefaultLoadBalancer = LoadBalancer{IdleTimeout: 60, AccessLogs: AccessLogs{Path: "-"}, DesyncMitigationMode: "defensive"}
	DefaultConsole      = Console{Address: "127.0.0.1:8099"}
)

// UnmarshalYAML starts from the defaults, so that absent keys keep them.
func (h *HealthCheck) UnmarshalYAML(n *yaml.Node) error {
	*h = DefaultHealthCheck
	type plain HealthCheck
	return n.Decode((*plain)(h))
}

// UnmarshalYAML starts from the defaults. A GRPC group's health check
// defaults to AWS's gRPC ones where the file leaves them out: path
// /AWS.ALB/healthcheck and matcher 12 (ELBv2 API reference,
// CreateTargetGroup HealthCheckPath and Matcher).
func (t *TargetGroup) UnmarshalYAML(n *yaml.Node) error {
	*t = DefaultTargetGroup
	type plain TargetGroup
	if err := n.Decode((*plain)(t)); err != nil {
		return err
	}
	if t.ProtocolVersion == "GRPC" {
		hc := valueOf(n, "health_check")
		if valueOf(hc, "path") == nil {
			t.HealthCheck.Path = healthcheck.DefaultGRPCPath
		}
		if valueOf(hc, "matcher") == nil {
			t.HealthCheck.Matcher = healthcheck.DefaultGRPCMatcher
		}
	}
	return nil
}

// Default is the built-in environment `elbow up` runs without elbow.yaml: the
// sample application on 2 instances behind an HTTP listener on 127.0.0.1:8080,
// with the console on 127.0.0.1:8099.
func Default() *Config {
	c := &Config{}
	c.preset()
	c.applyDefaults()
	c.Instances.SampleApp = true
	c.Instances.Env = map[string]string{}
	if err := c.finish(); err != nil {
		panic("config: the built-in default is invalid: " + err.Error())
	}
	return c
}

func (c *Config) preset() {
	c.Name = "elbow-env"
	c.Region = "us-west-2"
	c.Instances = DefaultInstances
	c.LoadBalancer = DefaultLoadBalancer
	c.Console = DefaultConsole
	c.EnhancedHealth = DefaultEnhancedHealth
	c.Deployment = DefaultDeployment
	c.RollingUpdate = DefaultRollingUpdate
	c.AutoScaling = DefaultAutoScaling
}

// applyDefaults fills what depends on other values once the file is decoded.
func (c *Config) applyDefaults() {
	if len(c.TargetGroups) == 0 {
		tg := DefaultTargetGroup
		tg.Name = "default"
		c.TargetGroups = []TargetGroup{tg}
	}
	for i := range c.TargetGroups {
		if c.TargetGroups[i].Port == 0 {
			c.TargetGroups[i].Port = c.Instances.Port
		}
	}
	if c.Instances.TargetGroup == "" {
		c.Instances.TargetGroup = c.TargetGroups[0].Name
	}
	if c.Instances.Max == 0 {
		c.Instances.Max = max(4, c.Instances.Min)
	}
	if c.LoadBalancer.Name == "" {
		c.LoadBalancer.Name = c.Name
	}
	if len(c.Listeners) == 0 {
		c.Listeners = []Listener{DefaultListener(c.TargetGroups[0].Name)}
	}
	for i := range c.Listeners {
		c.Listeners[i].applyDefaults()
	}
}

// finish validates the whole config; it returns Errors.
func (c *Config) finish() error {
	var v validator
	c.validate(&v)
	return v.err()
}

// Settings converts a validated health_check block of a target group with
// protocolVersion (HTTP1, HTTP2 or GRPC; "" is HTTP1) to the checker's
// settings.
func (h HealthCheck) Settings(protocolVersion string) (healthcheck.Settings, error) {
	parse := healthcheck.ParseMatcher
	if protocolVersion == "GRPC" {
		parse = healthcheck.ParseGRPCMatcher
	}
	m, err := parse(h.Matcher)
	if err != nil {
		return healthcheck.Settings{}, err
	}
	port := 0
	if h.Port != "traffic-port" {
		if port, err = strconv.Atoi(h.Port); err != nil {
			return healthcheck.Settings{}, fmt.Errorf("health check port %q: %w", h.Port, err)
		}
	}
	return healthcheck.Settings{
		Enabled:            h.Enabled,
		Protocol:           healthcheck.Protocol(strings.ToUpper(h.Protocol)),
		Port:               port,
		Path:               h.Path,
		Interval:           time.Duration(h.Interval) * time.Second,
		Timeout:            time.Duration(h.Timeout) * time.Second,
		HealthyThreshold:   h.HealthyThreshold,
		UnhealthyThreshold: h.UnhealthyThreshold,
		Matcher:            m,
		HTTP2:              protocolVersion == "HTTP2",
		GRPC:               protocolVersion == "GRPC",
	}, nil
}

// healthCheckOf is the health_check block that Settings turns into s.
func healthCheckOf(s healthcheck.Settings) HealthCheck {
	port := "traffic-port"
	if s.Port != 0 {
		port = strconv.Itoa(s.Port)
	}
	return HealthCheck{
		Enabled: s.Enabled, Path: s.Path, Port: port, Protocol: string(s.Protocol),
		Interval: int(s.Interval / time.Second), Timeout: int(s.Timeout / time.Second),
		HealthyThreshold: s.HealthyThreshold, UnhealthyThreshold: s.UnhealthyThreshold, Matcher: s.Matcher.String(),
	}
}

// Resolve is where a path given in the file points: a relative path is
// relative to the file's folder (to the working directory for the built-in
// default), so that elbow.yaml means the same wherever elbow runs from.
func (c *Config) Resolve(path string) string {
	if path == "" || filepath.IsAbs(path) || c.File == "" {
		return path
	}
	return filepath.Join(filepath.Dir(c.File), path)
}

// TargetGroup returns the group named name, or nil.
func (c *Config) TargetGroup(name string) *TargetGroup {
	for i := range c.TargetGroups {
		if c.TargetGroups[i].Name == name {
			return &c.TargetGroups[i]
		}
	}
	return nil
}
