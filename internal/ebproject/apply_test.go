package ebproject

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/elbow-lb/elbow/internal/config"
)

func TestApplyProjectAlone(t *testing.T) {
	p, err := Load("testdata/okuna", Options{Branch: "master"})
	if err != nil {
		t.Fatal(err)
	}
	c, prov, err := p.Apply(nil)
	if err != nil {
		t.Fatal(err)
	}
	tg := c.TargetGroups[0]
	if c.Name != "okuna-prod" || c.Region != "eu-west-1" || c.LoadBalancer.Name != "okuna-prod" ||
		tg.HealthCheck.Path != "/health/" || tg.HealthCheck.Interval != 15 || tg.DeregistrationDelay != 20 ||
		c.Instances.Min != 1 || c.Instances.Max != 4 || c.Instances.SampleApp || c.Instances.Port != 8000 || tg.Port != 8000 ||
		c.Instances.Command.Shell != "gunicorn --bind 127.0.0.1:8000 --workers=1 --threads=15 openbook_org/wsgi.py" || c.Instances.Dir != p.Dir {
		t.Errorf("config %+v", c)
	}
	for key, src := range map[string]string{
		"name":                                  ".elasticbeanstalk/config.yml",
		"target_groups[0].health_check.path":    ".ebextensions/healthcheck.config:3",
		"target_groups[0].health_check.timeout": "Beanstalk default",
		"instances.min":                         "Beanstalk default",
		"instances.command":                     "platform default",
		"instances.port":                        "platform default",
	} {
		if prov[key].String() != src {
			t.Errorf("provenance of %s: %s, want %s", key, prov[key], src)
		}
	}
}

// elbow.yaml is "settings applied directly": a field it sets wins over
// .ebextensions, and its provenance is elbow.yaml and its line.
func TestApplyElbowYAMLWins(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Procfile", "web: gunicorn --bind 127.0.0.1:8000 app.wsgi\n")
	write(t, dir, ".ebextensions/hc.config", `option_settings:
  aws:elasticbeanstalk:environment:process:default:
    HealthCheckPath: /health/
    MatcherHTTPCode: 200-399
    HealthCheckInterval: '30'
  aws:autoscaling:asg:
    MinSize: '2'
    MaxSize: '6'
  aws:elasticbeanstalk:application:environment:
    DJANGO_SETTINGS_MODULE: app.settings
    DEBUG: 'false'
  aws:elbv2:loadbalancer:
    IdleTimeout: '120'
  aws:elbv2:listener:default:
    Rules: static
  aws:elbv2:listenerrule:static:
    PathPatterns: /static/*
    Priority: '5'
  aws:elasticbeanstalk:healthreporting:system:
    SystemType: enhanced
    ConfigDocument: '{"Rules":{"Environment":{"Application":{"ApplicationRequests4xx":{"Enabled":false}}}},"Version":1}'
`)
	elbowYAML := filepath.Join(dir, "elbow.yaml")
	write(t, dir, "elbow.yaml", `instances:
  command: ./serve
  min: 3
  env:
    DEBUG: "true"
target_groups:
  - name: default
    health_check:
      path: /ready
`)
	base, err := config.Load(elbowYAML)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, prov, err := p.Apply(base)
	if err != nil {
		t.Fatal(err)
	}
	hc := c.TargetGroups[0].HealthCheck
	if hc.Path != "/ready" || hc.Matcher != "200-399" || hc.Interval != 30 || c.Instances.Min != 3 || c.Instances.Max != 6 ||
		c.Instances.Command.Shell != "./serve" || c.Instances.Env["DEBUG"] != "true" || c.Instances.Env["DJANGO_SETTINGS_MODULE"] != "app.settings" ||
		c.LoadBalancer.IdleTimeout != 120 || c.EnhancedHealth.ApplicationRequests4xx.Enabled || !c.EnhancedHealth.ELBRequests4xx.Enabled || c.File != elbowYAML {
		t.Errorf("config %+v", c)
	}
	if r := c.Listeners[0].Rules; len(r) != 1 || r[0].Priority != 5 || r[0].Conditions[0].PathPattern[0] != "/static/*" || r[0].Action.TargetGroup != "default" {
		t.Errorf("rules %+v", r)
	}
	for key, src := range map[string]string{
		"target_groups[0].health_check.path":               elbowYAML + ":9",
		"target_groups[0].health_check.matcher":            ".ebextensions/hc.config:4",
		"instances.min":                                    elbowYAML + ":3",
		"instances.max":                                    ".ebextensions/hc.config:8",
		"instances.command":                                elbowYAML + ":2",
		"instances.env.DEBUG":                              elbowYAML + ":5",
		"instances.env.DJANGO_SETTINGS_MODULE":             ".ebextensions/hc.config:10",
		"load_balancer.idle_timeout":                       ".ebextensions/hc.config:13",
		"listeners[0].rules[0]":                            ".ebextensions/hc.config:15",
		"enhanced_health.application_requests_4xx.enabled": ".ebextensions/hc.config:21",
	} {
		if prov[key].String() != src {
			t.Errorf("provenance of %s: %s, want %s", key, prov[key], src)
		}
	}
}

// A value Beanstalk accepts but elbow's config does not (timeout 1 s:
// Beanstalk 1-60, elbow 2-120) fails Apply, naming where it came from.
func TestApplyValidates(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Procfile", "web: ./run\n")
	write(t, dir, ".ebextensions/t.config", "option_settings:\n  aws:elasticbeanstalk:environment:process:default:\n    HealthCheckTimeout: '1'\n")
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Apply(nil)
	want := "target_groups[0].health_check.timeout: 1 is out of range: must be between 2 and 120 seconds (set by .ebextensions/t.config:3)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to contain %s", err, want)
	}
}

func TestApplyNoWebProcess(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".ebextensions/t.config", "option_settings: {}\n")
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Apply(nil); err == nil || !strings.HasPrefix(err.Error(), "no web process") {
		t.Errorf("error %v", err)
	}
}
