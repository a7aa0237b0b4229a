package ebproject

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad configuration files, each matched against its exact message, as
// Prometheus blackbox_exporter's config tests match theirs.
func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct {
		file string
		// warning is the expected warning; hard the expected error.
		warning, hard string
	}{
		{file: "wrong-namespace.config", warning: ".ebextensions/wrong-namespace.config:3: Invalid option specification (Namespace: 'aws:elasticbeanstalk:environment:proxy', OptionName: 'HealthCheckPath'): Unknown configuration setting. HealthCheckPath belongs in aws:elasticbeanstalk:environment:process:default."},
		{file: "misspelled.config", warning: ".ebextensions/misspelled.config:4: Invalid option specification (Namespace: 'aws:elasticbeanstalk:environment:process:default', OptionName: 'HealthCheckIntervall'): Unknown configuration setting. Did you mean HealthCheckInterval?"},
		{file: "out-of-range.config", warning: ".ebextensions/out-of-range.config:3: Invalid option value: '1' (Namespace: 'aws:elasticbeanstalk:environment:process:default', OptionName: 'HealthCheckInterval'): Value is less than minimum allowed value: 5"},
		{file: "json-range.config", warning: ".ebextensions/json-range.config:4: Invalid option value: '20000' (Namespace: 'aws:autoscaling:asg', OptionName: 'MaxSize'): Value is greater than maximum allowed value: 10000"},
		{file: "duplicate-key.config", warning: `.ebextensions/duplicate-key.config:7: "option_settings" is also a key at line 1: each key can appear once per configuration file, and Beanstalk would drop one of the sections; merge them`},
		{file: "invalid-key.config", warning: ".ebextensions/invalid-key.config:1: Error processing file (Skipping): '.ebextensions/invalid-key.config' - Contains invalid key: 'OptionSettings'. For information about valid keys, see https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/ebextensions.html (did you mean option_settings?)"},
		{file: "not-a-map.config", hard: ".ebextensions/not-a-map.config:2: Each option setting in configuration file .ebextensions/not-a-map.config must be a map. Update each option setting in the configuration file."},
		{file: "invalid-yaml.config", hard: ".ebextensions/invalid-yaml.config:4: The configuration file .ebextensions/invalid-yaml.config contains invalid YAML or JSON: did not find expected key. Update the configuration file."},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata/bad", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			x, err := parseExtension(".ebextensions/"+tc.file, data)
			if tc.hard != "" {
				if err == nil || err.Error() != tc.hard {
					t.Fatalf("error:\n got %v\nwant %s", err, tc.hard)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(x.warnings) != 1 || x.warnings[0].String() != tc.warning {
				t.Fatalf("warnings:\n got %q\nwant %q", x.warnings, tc.warning)
			}
		})
	}
}

// A file with a warning is ignored as a whole, as Beanstalk does: its
// container command and its other settings are not applied.
func TestInvalidFileIgnoredWhole(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Procfile", "web: ./run\n")
	write(t, dir, ".ebextensions/01-ok.config", "option_settings:\n  aws:autoscaling:asg:\n    MaxSize: '6'\n")
	write(t, dir, ".ebextensions/02-bad.config", "container_commands:\n  01_migrate:\n    command: migrate\noption_settings:\n  aws:autoscaling:asg:\n    MinSize: '3'\n  aws:elasticbeanstalk:environment:proxy:\n    HealthCheckPath: /x\n")
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.ContainerCommands) != 0 {
		t.Errorf("container commands of the ignored file: %+v", p.ContainerCommands)
	}
	min, _ := p.Setting(nsASG, "MinSize")
	maxs, _ := p.Setting(nsASG, "MaxSize")
	if min.Value != "1" || min.Source != BeanstalkDefault || maxs.Value != "6" || maxs.Source.String() != ".ebextensions/01-ok.config:3" {
		t.Errorf("MinSize %+v MaxSize %+v", min, maxs)
	}
	want := []string{
		".ebextensions/02-bad.config:8: Invalid option specification (Namespace: 'aws:elasticbeanstalk:environment:proxy', OptionName: 'HealthCheckPath'): Unknown configuration setting. HealthCheckPath belongs in aws:elasticbeanstalk:environment:process:default.",
		".ebextensions/02-bad.config: Error processing file (Skipping): none of its option_settings, container_commands or files are applied",
	}
	var got []string
	for _, w := range p.Warnings {
		got = append(got, w.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The official ALB examples, both files, and a JSON file: later files win,
// the list form without a namespace sets an environment property, JSON
// numbers are kept as strings, container commands run by name.
func TestALBExamplesAndJSON(t *testing.T) {
	p, err := Load("testdata/alb", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) > 0 {
		t.Fatalf("warnings: %v", p.Warnings)
	}
	for _, c := range []struct{ ns, opt, val, src string }{
		{nsProcessDefault, "HealthCheckInterval", "30", ".ebextensions/03-json.config:5"},
		{nsProcessDefault, "StickinessEnabled", "true", ".ebextensions/01-process.config:11"},
		{nsProcessDefault, "MatcherHTTPCode", "200", "Beanstalk default"},
		{nsEnv, "DJANGO_SETTINGS_MODULE", "app.settings.production", ".ebextensions/03-json.config:9"},
		{nsASG, "MinSize", "2", ".ebextensions/03-json.config:12"},
		{"aws:elbv2:listener:443", "SSLCertificateArns", "arn:aws:acm:us-east-2:123456789012:certificate/21324896-0fa4-412b-bf6f-f362d6eb6dd7", ".ebextensions/02-https.config:7"},
		{"aws:elasticbeanstalk:environment:process:admin", "HealthCheckPath", "/admin", ".ebextensions/02-https.config:12"},
		{"aws:elasticbeanstalk:environment:process:admin", "UnhealthyThresholdCount", "5", "Beanstalk default"},
		{"aws:elbv2:listenerrule:admin", "Priority", "1", ".ebextensions/02-https.config:17"},
	} {
		s, ok := p.Setting(c.ns, c.opt)
		if !ok || s.Value != c.val || s.Source.String() != c.src {
			t.Errorf("%s %s = %+v, want %q from %s", c.ns, c.opt, s, c.val, c.src)
		}
	}
	var names []string
	for _, c := range p.ContainerCommands {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "01_migrate,02_collectstatic" || !p.ContainerCommands[0].LeaderOnly || p.ContainerCommands[1].LeaderOnly {
		t.Errorf("container commands %+v", p.ContainerCommands)
	}
}

// Real-world projects: the wrong namespace of milestone_picks is reported
// and its file ignored; files outside the app and their reasons.
func TestRealWorldProjects(t *testing.T) {
	p, err := Load("testdata/milestone", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 2 || !strings.Contains(p.Warnings[0].Message, "HealthCheckPath belongs in aws:elasticbeanstalk:environment:process:default") {
		t.Errorf("warnings %v", p.Warnings)
	}
	if hp, _ := p.Setting(nsProcessDefault, "HealthCheckPath"); hp.Value != "/" || hp.Source != BeanstalkDefault {
		t.Errorf("HealthCheckPath %+v", hp)
	}
	if len(p.ContainerCommands) != 1 || p.ContainerCommands[0].Command != "python manage.py migrate" || !p.ContainerCommands[0].LeaderOnly {
		t.Errorf("container commands %+v", p.ContainerCommands)
	}
	if len(p.Processes) != 2 || p.Processes[1].Name != "worker" || p.Processes[1].Source.String() != "Procfile:3" {
		t.Errorf("processes %+v", p.Processes)
	}

	p, err = Load("testdata/letusgo", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if hp, _ := p.Setting(nsProcessDefault, "HealthCheckPath"); hp.Value != "/health/" || hp.Source.String() != ".ebextensions/healthcheck.config:3" {
		t.Errorf("HealthCheckPath %+v", hp)
	}
	want := NotApplied{What: "files /etc/nginx/conf.d/proxy.conf",
		Reason: "/etc/nginx/conf.d/proxy.conf is outside the app folder (/var/app/current): elbow writes files only inside the app; put it in .platform/nginx/conf.d/proxy.conf, where the instance's nginx reads it",
		Source: Source{File: ".ebextensions/01_files.config", Line: 2}}
	if len(p.NotApplied) != 1 || p.NotApplied[0] != want {
		t.Errorf("not applied %+v", p.NotApplied)
	}
	if p.Platform != NodeJS || p.Processes[0].Command != "npm start" || p.Processes[0].Source != PlatformDefault {
		t.Errorf("platform %q processes %+v", p.Platform, p.Processes)
	}
}

func TestOtherKeys(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Procfile", "web: ./run\n")
	write(t, dir, ".ebextensions/x.config", `packages:
  yum:
    git: []
commands:
  01_x:
    command: echo hi
files:
  "/var/app/staging/config/local.ini":
    mode: "000644"
    content: |
      debug = false
Resources:
  AWSEBAutoScalingGroup:
    Properties:
      HealthCheckType: ELB
  MyBucket:
    Type: AWS::S3::Bucket
`)
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.ASGHealthCheckType == nil || p.ASGHealthCheckType.Value != "ELB" || p.ASGHealthCheckType.Source.Line != 15 {
		t.Errorf("ASG health check type %+v", p.ASGHealthCheckType)
	}
	if len(p.Files) != 1 || p.Files[0].AppPath != "config/local.ini" || p.Files[0].Content != "debug = false\n" || p.Files[0].Mode != "000644" {
		t.Errorf("files %+v", p.Files)
	}
	var what []string
	for _, n := range p.NotApplied {
		what = append(what, n.What)
		if n.Reason == "" {
			t.Errorf("%s: no reason", n.What)
		}
	}
	if strings.Join(what, ",") != "packages,commands,Resources.MyBucket" {
		t.Errorf("not applied %v", what)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}
