package main

import (
	"archive/zip"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/testutil"
)

// The end-to-end tests of Beanstalk projects run `elbow up` in a copy of
// an example, with no elbow.yaml: the default listener (127.0.0.1:8080),
// console (127.0.0.1:8099) and each instance's nginx on port 80. They are
// not parallel, so that nothing else holds those ports meanwhile.

// shortChecks makes the copied project's health checks quick (5 s, two
// in a row), in its .ebextensions, as a user would.
const shortChecks = `
  aws:elasticbeanstalk:environment:process:default:
    HealthCheckInterval: '5'
    HealthCheckTimeout: '2'
    HealthyThresholdCount: '2'
    UnhealthyThresholdCount: '2'
`

// copyExample copies examples/NAME to a new folder and appends extra to
// the option_settings of its .ebextensions/99_test.config.
func copyExample(t *testing.T, name, extra string) string {
	t.Helper()
	src := filepath.Join(testutil.RepoRoot(t), "examples", name)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() && (d.Name() == ".elbow" || d.Name() == "__pycache__" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if strings.HasSuffix(rel, ".sqlite3") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := "option_settings:" + shortChecks + extra
	if err := os.WriteFile(filepath.Join(dst, ".ebextensions", "99_test.config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// debianPath puts Debian's python3 (with python3-django) first, as the
// project's container commands run `python3 manage.py ...`.
var debianPath = "PATH=/usr/bin:/bin:" + os.Getenv("PATH")

func requireBeanstalkPrograms(t *testing.T) {
	requireDjango(t)
	testutil.RequireProgram(t, "gunicorn")
	testutil.RequireProgram(t, "nginx")
}

// TestEBDjangoProject runs examples/eb-django as it is (Procfile with
// gunicorn, .ebextensions, config.yml) on two instances through real nginx
// and gunicorn, in loopback and vpc mode: with the host check broken as in
// the reference story the checks get [400] and the diagnosis quotes the
// nginx access-log line of the health checker and Django's own line;
// `elbow logs` prints them; leader_only migrate ran on one instance; with
// the fix (ALLOW_INSTANCE_IP, the IP read from the metadata service) the
// environment reaches Ok.
func TestEBDjangoProject(t *testing.T) {
	requireBeanstalkPrograms(t)
	for _, network := range []string{"loopback", "vpc"} {
		t.Run(network, func(t *testing.T) {
			if network == "vpc" {
				requireVPC(t)
			}
			t.Run("broken host check", func(t *testing.T) {
				dir := copyExample(t, "eb-django", "")
				p := startUpIn(t, dir, []string{debianPath}, "up", "--network", network)
				p.waitFor(t, `is up`, 30*time.Second)
				p.waitFor(t, `^\S+ INFO  Successfully launched environment: shop-env$`, 60*time.Second)
				p.waitForN(t, `:80\) in default: unhealthy \(Target\.ResponseCodeMismatch: Health checks failed with these codes: \[400\]\)`, 2, 60*time.Second)
				// The Django diagnoses: under load the first checks may come
				// before gunicorn listens and be diagnosed otherwise.
				p.waitForN(t, `Diagnosis for i-.*: Django rejects the health check's Host header`, 2, 30*time.Second)
				console := regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, time.Second))[1]
				var doc struct {
					TargetHealthDescriptions []struct {
						Target    struct{ Id string } //nolint:revive // AWS's spelling
						Diagnosis *struct {
							Case     string
							Evidence struct {
								InstanceLogs *struct {
									AccessLog *struct{ Line string }
									AppLog    *struct{ Line, Kind string }
								}
							}
						}
					}
				}
				getJSON(t, console+"/api/v1/target-groups/default/targets", &doc)
				if len(doc.TargetHealthDescriptions) != 2 {
					t.Fatalf("targets: %+v", doc)
				}
				checker := regexp.MustCompile(`^\S+ - - \[[^\]]+\] "GET /health/ HTTP/1\.1" 400 \d+ "-" "ELB-HealthChecker/2\.0" "-"$`)
				for _, d := range doc.TargetHealthDescriptions {
					dg := d.Diagnosis
					if dg == nil || dg.Case != "django-allowed-hosts" || dg.Evidence.InstanceLogs == nil ||
						dg.Evidence.InstanceLogs.AccessLog == nil || !checker.MatchString(dg.Evidence.InstanceLogs.AccessLog.Line) ||
						dg.Evidence.InstanceLogs.AppLog == nil || !strings.Contains(dg.Evidence.InstanceLogs.AppLog.Line, "Invalid HTTP_HOST header") {
						t.Errorf("%s: the diagnosis does not quote nginx's and Django's lines: %+v", d.Target.Id, dg)
					}
				}

				logs := exec.Command(os.Args[0], "logs")
				logs.Dir = dir
				logs.Env = append(os.Environ(), "ELBOW_TEST_AS_MAIN=1")
				out, err := logs.CombinedOutput()
				if err != nil || !regexp.MustCompile(`(?m)^/var/log/nginx/access\.log`).Match(out) ||
					!regexp.MustCompile(`(?m)"GET /health/ HTTP/1\.1" 400 \d+ "-" "ELB-HealthChecker/2\.0"`).Match(out) ||
					!strings.Contains(string(out), "Invalid HTTP_HOST header") {
					t.Errorf("elbow logs: %v\n%s", err, out)
				}
				ran, skipped := 0, 0
				for _, f := range globLogs(t, dir, "eb-engine.log") {
					b, _ := os.ReadFile(f)
					ran += strings.Count(string(b), "Running container command 01_migrate")
					skipped += strings.Count(string(b), "Skipping container command 01_migrate")
				}
				if ran != 1 || skipped != 1 {
					t.Errorf("leader_only migrate ran on %d instance(s) and was skipped on %d, want 1 and 1", ran, skipped)
				}
			})
			t.Run("fixed", func(t *testing.T) {
				dir := copyExample(t, "eb-django", "  aws:elasticbeanstalk:application:environment:\n    ALLOW_INSTANCE_IP: '1'\n")
				p := startUpIn(t, dir, []string{debianPath}, "up", "--network", network)
				p.waitFor(t, `is up`, 30*time.Second)
				p.waitForN(t, `:80\) in default: healthy$`, 2, 60*time.Second)
				p.waitFor(t, `Environment health has transitioned from \w+ to Ok\.`, 90*time.Second)
			})
		})
	}
}

// TestEBNodeProject runs examples/eb-node (package.json, no Procfile) from
// a source bundle: the platform's npm start with PORT 8080, behind nginx,
// reaches Ok.
func TestEBNodeProject(t *testing.T) {
	testutil.RequireProgram(t, "nginx")
	testutil.RequireProgram(t, "npm")
	project := copyExample(t, "eb-node", "  aws:autoscaling:asg:\n    MinSize: '2'\n")
	// As a source bundle: the project's files at the zip's root.
	dir := t.TempDir()
	bundle := filepath.Join(dir, "hello-node-v1.zip")
	zipFolder(t, project, bundle)
	p := startUpIn(t, dir, nil, "up", bundle)
	p.waitFor(t, `is up`, 30*time.Second)
	p.waitForN(t, `:80\) in default: healthy$`, 2, 60*time.Second)
	p.waitFor(t, `Environment health has transitioned from \w+ to Ok\.`, 90*time.Second)
	for _, f := range globLogs(t, dir, "eb-engine.log") {
		b, _ := os.ReadFile(f)
		if !strings.Contains(string(b), "Starting process web: npm start") {
			t.Errorf("%s: the platform's default web process did not start:\n%s", f, b)
		}
	}
}

func globLogs(t *testing.T, dir, name string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, ".elbow", "logs", "i-*", name))
	if len(files) != 2 {
		t.Fatalf("want the %s of 2 instances, found %v", name, files)
	}
	return files
}

func zipFolder(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestEBValidatePrint: in a project folder, elbow validate --print shows
// the settings the project makes, each with where it came from.
func TestEBValidatePrint(t *testing.T) {
	t.Parallel()
	dir := copyExample(t, "eb-django", "")
	cmd := exec.Command(os.Args[0], "validate", "--print")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ELBOW_TEST_AS_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	health := lineOf(t, filepath.Join(dir, ".ebextensions", "02_health.config"), "HealthCheckPath:")
	interval := lineOf(t, filepath.Join(dir, ".ebextensions", "99_test.config"), "HealthCheckInterval:")
	// Port 80, or 10080 while something else holds port 80 on the
	// loopback (another test's instance).
	if !regexp.MustCompile(`(?m)^  port: (80|10080) # the instance's proxy`).Match(out) {
		t.Errorf("elbow validate --print does not name the instance's proxy port:\n%s", out)
	}
	for _, want := range []string{
		"  command: gunicorn --bind 127.0.0.1:8000 --workers 1 --threads 4 shop.wsgi:application # Procfile:1",
		"      path: /health/ # .ebextensions/02_health.config:" + health,
		"      interval: 5 # .ebextensions/99_test.config:" + interval,
		"      unhealthy_threshold: 2 # .ebextensions/99_test.config:",
		"    deregistration_delay: 20 # Beanstalk default",
		"#   aws:elasticbeanstalk:environment:process:default: HealthCheckPath = /health/   (.ebextensions/02_health.config:" + health + ")",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("elbow validate --print lacks %q:\n%s", want, out)
		}
	}
}

// lineOf is the 1-based line of file holding s.
func lineOf(t *testing.T, file, s string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatalf("%s has no %q", file, s)
	return ""
}
