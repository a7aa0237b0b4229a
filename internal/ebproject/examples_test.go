package ebproject

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The example projects of the repository (examples/eb-django, examples/eb-node)
// are read here as elbow up reads them: if one of them stops loading cleanly,
// or a setting its README promises comes out different, these fail.

const (
	djangoExample = "../../examples/eb-django"
	nodeExample   = "../../examples/eb-node"
)

// lineOf is the 1-based line of dir/file whose trimmed text starts with
// prefix; the test fails when there is not exactly one.
func lineOf(t *testing.T, dir, file, prefix string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for i, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			if found != 0 {
				t.Fatalf("%s: %q at lines %d and %d", file, prefix, found, i+1)
			}
			found = i + 1
		}
	}
	if found == 0 {
		t.Fatalf("%s: no line starts with %q", file, prefix)
	}
	return found
}

func at(t *testing.T, dir, file, prefix string) string {
	return fmt.Sprintf("%s:%d", file, lineOf(t, dir, file, prefix))
}

func loadClean(t *testing.T, dir string, opts Options) *Project {
	t.Helper()
	p, err := Load(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) > 0 {
		t.Errorf("warnings: %v", p.Warnings)
	}
	if len(p.NotApplied) > 0 {
		t.Errorf("not applied: %+v", p.NotApplied)
	}
	return p
}

func TestExampleEBDjango(t *testing.T) {
	const (
		django = ".ebextensions/01_django.config"
		health = ".ebextensions/02_health.config"
	)
	d := djangoExample
	p := loadClean(t, d, Options{Branch: "main"})

	if p.Platform != Python || p.PlatformSource.String() != ebConfigFile {
		t.Errorf("platform %q from %s, want python from %s", p.Platform, p.PlatformSource, ebConfigFile)
	}
	if p.EB == nil || p.EB.ApplicationName != "shop" || p.EB.Environment != "shop-env" || p.EB.Region != "us-east-1" {
		t.Errorf("config.yml: %+v", p.EB)
	}
	// The same environment without a git branch (global), so that the
	// example's name does not depend on the branch it is run from.
	if q := loadClean(t, d, Options{}); q.EB == nil || q.EB.Environment != "shop-env" {
		t.Errorf("config.yml without a branch: %+v", q.EB)
	}

	web, ok := p.Web()
	const gunicorn = "gunicorn --bind 127.0.0.1:8000 --workers 1 --threads 4 shop.wsgi:application"
	if !ok || !p.HasProcfile || len(p.Processes) != 1 || web.Command != gunicorn || web.Source.String() != "Procfile:1" {
		t.Errorf("processes %+v, want web: %s at Procfile:1", p.Processes, gunicorn)
	}
	if port, src := p.AppPort(); port != 8000 || src != PlatformDefault {
		t.Errorf("app port %d from %s, want 8000 from the platform default", port, src)
	}

	for _, w := range []struct{ ns, opt, value, src string }{
		{nsProcessDefault, "HealthCheckPath", "/health/", at(t, d, health, "HealthCheckPath:")},
		{nsProcessDefault, "MatcherHTTPCode", "200", at(t, d, health, "MatcherHTTPCode:")},
		{nsProcessDefault, "HealthCheckInterval", "15", "Beanstalk default"},
		{nsASG, "MinSize", "2", at(t, d, health, "MinSize:")},
		{nsASG, "MaxSize", "4", at(t, d, health, "MaxSize:")},
		{nsHealth, "SystemType", "enhanced", at(t, d, health, "SystemType:")},
		{nsPython, "WSGIPath", "shop.wsgi:application", at(t, d, django, "WSGIPath:")},
		{nsEnv, "DJANGO_SETTINGS_MODULE", "shop.settings", at(t, d, django, "DJANGO_SETTINGS_MODULE:")},
		{nsEnv, "DJANGO_ALLOWED_HOSTS", "www.example.com", at(t, d, django, "DJANGO_ALLOWED_HOSTS:")},
		{nsEnv, "ALLOW_INSTANCE_IP", "0", at(t, d, django, "ALLOW_INSTANCE_IP:")},
		{nsStatic, "/static", "static", at(t, d, django, "/static:")},
	} {
		s, ok := p.Setting(w.ns, w.opt)
		if !ok || s.Value != w.value || s.Source.String() != w.src {
			t.Errorf("%s %s = %q from %s (set %v), want %q from %s", w.ns, w.opt, s.Value, s.Source, ok, w.value, w.src)
		}
	}

	want := []struct {
		name, command string
		leader        bool
	}{
		{"01_migrate", "python3 manage.py migrate --noinput", true},
		{"02_collectstatic", "python3 manage.py collectstatic --noinput", false},
	}
	if len(p.ContainerCommands) != len(want) {
		t.Fatalf("container commands %+v, want %d", p.ContainerCommands, len(want))
	}
	for i, w := range want {
		c := p.ContainerCommands[i]
		if src := at(t, d, django, w.name+":"); c.Name != w.name || c.Command != w.command || c.LeaderOnly != w.leader || c.Source.String() != src {
			t.Errorf("container command %d: %+v, want %s %q leader_only %v at %s", i, c, w.name, w.command, w.leader, src)
		}
	}

	c, prov, err := p.Apply(nil)
	if err != nil {
		t.Fatal(err)
	}
	tg := c.TargetGroups[0]
	if c.Name != "shop-env" || c.Region != "us-east-1" || c.Instances.Command.Shell != gunicorn || c.Instances.Dir != p.Dir ||
		c.Instances.Port != 8000 || c.Instances.Min != 2 || c.Instances.Max != 4 ||
		tg.HealthCheck.Path != "/health/" || tg.HealthCheck.Matcher != "200" {
		t.Errorf("config: name %q region %q command %q dir %q port %d min %d max %d health path %q matcher %q",
			c.Name, c.Region, c.Instances.Command.Shell, c.Instances.Dir, c.Instances.Port, c.Instances.Min, c.Instances.Max,
			tg.HealthCheck.Path, tg.HealthCheck.Matcher)
	}
	for k, v := range map[string]string{"DJANGO_SETTINGS_MODULE": "shop.settings", "DJANGO_ALLOWED_HOSTS": "www.example.com", "ALLOW_INSTANCE_IP": "0"} {
		if c.Instances.Env[k] != v {
			t.Errorf("instances.env.%s = %q, want %q", k, c.Instances.Env[k], v)
		}
	}
	for key, src := range map[string]string{
		"name":                                  ebConfigFile,
		"instances.command":                     "Procfile:1",
		"instances.min":                         at(t, d, health, "MinSize:"),
		"instances.max":                         at(t, d, health, "MaxSize:"),
		"target_groups[0].health_check.path":    at(t, d, health, "HealthCheckPath:"),
		"target_groups[0].health_check.matcher": at(t, d, health, "MatcherHTTPCode:"),
		"instances.env.ALLOW_INSTANCE_IP":       at(t, d, django, "ALLOW_INSTANCE_IP:"),
	} {
		if prov[key].String() != src {
			t.Errorf("provenance of %s: %s, want %s", key, prov[key], src)
		}
	}
}

// The story of the Django example's README holds only if its files agree:
// the health-check path is a URL of the app and is exempt from the HTTPS
// redirect, the Procfile serves the WSGI application the settings name, and
// the settings read the environment properties .ebextensions sets.
func TestExampleEBDjangoIsConsistent(t *testing.T) {
	d := djangoExample
	p := loadClean(t, d, Options{})
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(d, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	path, _ := p.Setting(nsProcessDefault, "HealthCheckPath")
	rel := strings.TrimPrefix(path.Value, "/")
	if urls := read("shop/urls.py"); !strings.Contains(urls, fmt.Sprintf("path(%q", rel)) {
		t.Errorf("shop/urls.py has no path(%q, ...) for the health check path %s", rel, path.Value)
	}
	settings := read("shop/settings.py")
	exempt := regexp.MustCompile(`SECURE_REDIRECT_EXEMPT = \[r"([^"]+)"\]`).FindStringSubmatch(settings)
	if exempt == nil || !regexp.MustCompile(exempt[1]).MatchString(rel) {
		t.Errorf("shop/settings.py: SECURE_REDIRECT_EXEMPT %v does not exempt %q: the health check would get 301", exempt, rel)
	}
	for _, s := range p.Settings {
		if s.Namespace == nsEnv && s.Option != "DJANGO_SETTINGS_MODULE" && !strings.Contains(settings, fmt.Sprintf("os.environ.get(%q", s.Option)) {
			t.Errorf("shop/settings.py does not read the environment property %s (%s)", s.Option, s.Source)
		}
	}
	wsgi, _ := p.Setting(nsPython, "WSGIPath")
	if web, _ := p.Web(); !strings.HasSuffix(web.Command, " "+wsgi.Value) {
		t.Errorf("the Procfile's web %q does not serve WSGIPath %s", web.Command, wsgi.Value)
	}
}

func TestExampleEBNode(t *testing.T) {
	const hc = ".ebextensions/healthcheck.config"
	d := nodeExample
	p := loadClean(t, d, Options{Branch: "main"})
	if p.Platform != NodeJS || p.PlatformSource.String() != ebConfigFile {
		t.Errorf("platform %q from %s, want nodejs from %s", p.Platform, p.PlatformSource, ebConfigFile)
	}
	web, ok := p.Web()
	if !ok || p.HasProcfile || web.Command != "npm start" || web.Source != PlatformDefault {
		t.Errorf("processes %+v (Procfile %v), want the platform's npm start", p.Processes, p.HasProcfile)
	}
	if port, src := p.AppPort(); port != 8080 || src != PlatformDefault {
		t.Errorf("app port %d from %s, want 8080 from the platform default", port, src)
	}
	if s, _ := p.Setting(nsProcessDefault, "HealthCheckPath"); s.Value != "/" || s.Source.String() != at(t, d, hc, "HealthCheckPath:") {
		t.Errorf("HealthCheckPath %q from %s", s.Value, s.Source)
	}
	if len(p.ContainerCommands) != 0 || len(p.Build) != 0 {
		t.Errorf("container commands %+v, build %+v: want none", p.ContainerCommands, p.Build)
	}

	// npm start runs the start script; no dependency means nothing to install.
	var pkg struct {
		Scripts         map[string]string
		Dependencies    map[string]string
		DevDependencies map[string]string
	}
	data, err := os.ReadFile(filepath.Join(d, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		t.Fatalf("package.json: %v", err)
	}
	if pkg.Scripts["start"] != "node server.js" || len(pkg.Dependencies)+len(pkg.DevDependencies) != 0 {
		t.Errorf("package.json: scripts %v, dependencies %v %v", pkg.Scripts, pkg.Dependencies, pkg.DevDependencies)
	}

	c, prov, err := p.Apply(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "hello-node-env" || c.Instances.Command.Shell != "npm start" || c.Instances.Port != 8080 ||
		c.TargetGroups[0].HealthCheck.Path != "/" || c.Instances.Min != 1 || c.Instances.Max != 4 {
		t.Errorf("config: name %q command %q port %d health path %q min %d max %d", c.Name, c.Instances.Command.Shell,
			c.Instances.Port, c.TargetGroups[0].HealthCheck.Path, c.Instances.Min, c.Instances.Max)
	}
	for key, src := range map[string]string{
		"instances.command":                  "platform default",
		"instances.port":                     "platform default",
		"instances.min":                      "Beanstalk default",
		"target_groups[0].health_check.path": at(t, d, hc, "HealthCheckPath:"),
	} {
		if prov[key].String() != src {
			t.Errorf("provenance of %s: %s, want %s", key, prov[key], src)
		}
	}
}
