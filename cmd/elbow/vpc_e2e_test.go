package main

import (
	"context"
	"io"
	"net/http"

	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	sdkimds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/elbow-lb/elbow/internal/testutil"
	"github.com/elbow-lb/elbow/internal/vpc"
)

// requireVPC skips where network namespaces cannot be made (not root); CI
// runs as root, and ELBOW_REQUIRE_E2E=1 turns the skip into a failure.
func requireVPC(t *testing.T) {
	t.Helper()
	if err := vpc.CheckPrivilege(); err != nil {
		testutil.Missing(t, "root (CAP_NET_ADMIN and CAP_SYS_ADMIN) for network: vpc", err.Error())
	}
}

// TestReferenceStoryInVPC runs the reference story's published fix
// unchanged (settings_ec2.py: requests.get of the hard-coded
// 169.254.169.254 with timeout=0.01, ConnectionError caught) under
// network: vpc. The app allows its 172.31.x.y address, so the check gets
// [301], not [400]; the matcher 200-301 then brings the environment to Ok.
func TestReferenceStoryInVPC(t *testing.T) {
	t.Parallel()
	requireDjango(t)
	requireVPC(t)
	python := testutil.RequireProgram(t, testutil.SystemPython)
	if out, err := exec.Command(python, "-c", "import requests").CombinedOutput(); err != nil {
		testutil.Missing(t, "python3-requests", "apt-get install -y python3-requests: "+string(out))
	}
	dir := filepath.Join(testutil.RepoRoot(t), "examples", "django")
	yaml := func(matcher string) string {
		return fmt.Sprintf(`name: django-vpc
instances:
  command: /usr/bin/python3 manage.py runserver --noreload "$HOST:$PORT"
  dir: %s
  network: vpc
  port: 8000
  min: 2
  env:
    DJANGO_SETTINGS_MODULE: shop.settings_ec2
    PYTHONDONTWRITEBYTECODE: "1"
load_balancer:
  public_host: www.example.com
target_groups:
  - name: web
    deregistration_delay: 1
    health_check: {path: /, interval: 5, timeout: 2, healthy_threshold: 2, unhealthy_threshold: 2, matcher: "%s"}
listeners:
  - {protocol: HTTP, port: %d, default_action: {target_group: web}}
console:
  address: 127.0.0.1:0
`, dir, matcher, freePort(t))
	}
	first := yaml("200")
	p := startUp(t, first)
	p.waitFor(t, `is up`, 30*time.Second)
	mismatch := `\((172\.31\.\d+\.\d+):8000\) in web: unhealthy \(Target\.ResponseCodeMismatch: Health checks failed with these codes: \[301\]\)`
	line := p.waitForN(t, mismatch, 2, 60*time.Second)
	ip := regexp.MustCompile(mismatch).FindStringSubmatch(line)[1]
	t.Logf("the check of %s gets [301]: ALLOWED_HOSTS holds the address the app read from 169.254.169.254", ip)
	if strings.Contains(p.output(), "[400]") {
		t.Errorf("a check got [400]: the app did not allow its private IP")
	}

	// The matcher 200-301, as the story's step 3, applied live.
	cfgPath := filepath.Join(filepath.Dir(p.cmd.Args[len(p.cmd.Args)-1]), "elbow.yaml")
	next := strings.Replace(first, `matcher: "200"`, `matcher: "200-301"`, 1)
	if err := os.WriteFile(cfgPath, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	p.waitForN(t, `\(172\.31\.\d+\.\d+:8000\) in web: healthy$`, 2, 40*time.Second)
	p.waitFor(t, `Environment health has transitioned from \w+ to Ok\.`, 90*time.Second)
}

// TestVPCLeavesNothingBehind kills elbow (SIGKILL, and SIGTERM) in vpc mode
// and finds no process of the instances, and nothing still referring to
// the VPC's namespaces (which would keep their interfaces, bridge and
// routes alive); the host's own routing table never had a route into the
// VPC.
func TestVPCLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	requireVPC(t)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startUp(t, fmt.Sprintf(`name: vpc-kill
instances: {sample_app: true, network: vpc, min: 2}
listeners: [{protocol: HTTP, port: %d, default_action: {target_group: default}}]
console: {address: 127.0.0.1:0}
`, freePort(t)))
			p.waitFor(t, `is up`, 30*time.Second)
			p.waitForN(t, `\(172\.31\.\d+\.\d+:8000\) in default: healthy$`, 2, 30*time.Second)
			home, _ := os.Readlink("/proc/self/ns/net")
			spaces := map[string]bool{}
			for _, pid := range markedProcesses(p.marker) {
				if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); err == nil && ns != home {
					spaces[ns] = true
				}
				for _, ns := range namespaceFDs(pid) {
					if ns != home {
						spaces[ns] = true
					}
				}
			}
			// Two instances and the router.
			if len(spaces) < 3 {
				t.Fatalf("found %d VPC namespaces (%v), want the router's and one per instance", len(spaces), spaces)
			}
			if routes, _ := exec.Command("ip", "-4", "route", "show", "table", "all").Output(); strings.Contains(string(routes), "172.31.") {
				t.Fatalf("the host's routing table has a route into the VPC:\n%s", routes)
			}

			p.cmd.Process.Signal(sig)
			p.cmd.Wait()
			ok := testutil.Poll(10*time.Second, func() bool {
				return len(markedProcesses(p.marker)) == 0 && len(referrersOf(spaces)) == 0
			})
			if !ok {
				t.Fatalf("after %v: processes %v left; still referring to the VPC's namespaces: %v",
					sig, markedProcesses(p.marker), referrersOf(spaces))
			}
			if links, _ := exec.Command("ip", "-o", "link").Output(); regexp.MustCompile(`vpc0|vi[0-9a-f]{8}`).Match(links) {
				t.Fatalf("a VPC interface is on the host:\n%s", links)
			}
		})
	}
}

// namespaceFDs lists the network namespaces pid holds open descriptors to.
func namespaceFDs(pid int) []string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "net:[") {
			out = append(out, l)
		}
	}
	return out
}

// referrersOf lists the processes that are in, or hold a descriptor to,
// one of spaces: while one does, the namespace lives on.
func referrersOf(spaces map[string]bool) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); err == nil && spaces[ns] {
			out = append(out, fmt.Sprintf("%d (in %s)", pid, ns))
		}
		for _, ns := range namespaceFDs(pid) {
			if spaces[ns] {
				out = append(out, fmt.Sprintf("%d (holds %s)", pid, ns))
			}
		}
	}
	return out
}

// TestVPCRefusedWithoutPrivilege drops CAP_NET_ADMIN and CAP_SYS_ADMIN
// (setpriv(1)) and finds one clear message, a failed start and no
// instance launched.
func TestVPCRefusedWithoutPrivilege(t *testing.T) {
	t.Parallel()
	requireVPC(t) // dropping capabilities needs them first
	setpriv := testutil.RequireProgram(t, "setpriv")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "elbow.yaml")
	os.WriteFile(cfg, []byte("instances: {sample_app: true, network: vpc}\nconsole: {address: 127.0.0.1:0}\nlisteners: [{protocol: HTTP, port: "+strconv.Itoa(freePort(t))+", default_action: {target_group: default}}]\n"), 0o644)
	cmd := exec.Command(setpriv, "--inh-caps=-net_admin,-sys_admin", "--bounding-set=-net_admin,-sys_admin", "--",
		os.Args[0], "up", "-c", cfg)
	marker := "ELBOW_E2E_MARKER=refused" + strconv.Itoa(os.Getpid())
	cmd.Env = append(os.Environ(), "ELBOW_TEST_AS_MAIN=1", marker)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("elbow up --network vpc without privilege did not exit")
	}
	want := "network vpc needs the capabilities CAP_NET_ADMIN and CAP_SYS_ADMIN (run elbow as root) to create the instances' network namespaces; " +
		"this process lacks CAP_NET_ADMIN and CAP_SYS_ADMIN. Run as root, or use network: loopback (the default), which needs no privilege"
	if err == nil || !strings.Contains(string(out), want) {
		t.Fatalf("err %v, output:\n%s\nwant the message:\n%s", err, out, want)
	}
	if strings.Contains(string(out), "Added instance") || len(markedProcesses(marker)) > 0 {
		t.Fatalf("an instance was launched before the refusal:\n%s", out)
	}
}

// imdsClientMain is the test binary run inside an instance (elbow ssh):
// the AWS SDK for Go v2's metadata client, with its defaults and no
// endpoint variable, prints local-ipv4 and the region.
func imdsClientMain() int {
	if v, ok := os.LookupEnv("AWS_EC2_METADATA_SERVICE_ENDPOINT"); ok {
		fmt.Fprintln(os.Stderr, "AWS_EC2_METADATA_SERVICE_ENDPOINT is set:", v)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := sdkimds.New(sdkimds.Options{})
	out, err := c.GetMetadata(ctx, &sdkimds.GetMetadataInput{Path: "local-ipv4"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ip, _ := io.ReadAll(out.Content)
	region, err := c.GetRegion(ctx, &sdkimds.GetRegionInput{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s %s\n", ip, region.Region)
	return 0
}

// botocoreFetcher asks as botocore does (its IMDSFetcher: a token PUT,
// then the GET), with no endpoint variable.
const botocoreFetcher = `
import os, sys
from botocore.utils import IMDSFetcher, InstanceMetadataRegionFetcher
assert "AWS_EC2_METADATA_SERVICE_ENDPOINT" not in os.environ, os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
f = IMDSFetcher(timeout=2, num_attempts=2)
token = f._fetch_metadata_token()
if token is None:
    sys.exit("no token")
ip = f._get_request("latest/meta-data/local-ipv4", None, token).text
print(ip, InstanceMetadataRegionFetcher(timeout=2, num_attempts=2).retrieve_region())
`

// TestMetadataSDKsInsideTheVPC asks an instance's metadata service from
// inside the instance (elbow ssh) with botocore's fetcher and the AWS SDK
// for Go v2's imds client, with tokens required and no endpoint variable:
// both find it at 169.254.169.254 and get the instance's own address.
func TestMetadataSDKsInsideTheVPC(t *testing.T) {
	t.Parallel()
	requireVPC(t)
	python := testutil.RequireProgram(t, testutil.SystemPython)
	if out, err := exec.Command(python, "-c", "import botocore").CombinedOutput(); err != nil {
		testutil.Missing(t, "python3-botocore", "apt-get install -y python3-botocore: "+string(out))
	}
	testutil.RequireProgram(t, "nsenter")
	accessLog := filepath.Join(t.TempDir(), "access.log")
	port := freePort(t)
	p := startUp(t, fmt.Sprintf(`name: vpc-sdk
region: eu-central-1
instances: {sample_app: true, network: vpc, min: 2, metadata_options: {http_tokens: required}}
load_balancer: {access_logs: {enabled: true, path: %s}}
listeners: [{protocol: HTTP, port: %d, default_action: {target_group: default}}]
console: {address: 127.0.0.1:0}
`, accessLog, port))
	p.waitFor(t, `is up`, 30*time.Second)
	p.waitForN(t, `\(172\.31\.\d+\.\d+:8000\) in default: healthy$`, 2, 30*time.Second)
	rx := regexp.MustCompile(`instance  (i-[0-9a-f]+)  (172\.31\.\d+\.\d+):8000`)
	var insts [][]string
	for _, l := range strings.Split(p.output(), "\n") {
		if m := rx.FindStringSubmatch(l); m != nil {
			insts = append(insts, m)
		}
	}
	if len(insts) != 2 {
		t.Fatalf("want 2 instances listed, got %v", insts)
	}
	// The console, elbow targets and the access log show the private IPs.
	consoleURL := regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, time.Second))[1]
	targetsJSON := getText(t, consoleURL+"/api/v1/target-groups/default/targets")
	cli := exec.Command(os.Args[0], "targets", "--console", consoleURL)
	cli.Env = append(os.Environ(), "ELBOW_TEST_AS_MAIN=1")
	targetsOut, _ := cli.CombinedOutput()
	for range 4 {
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
			resp.Body.Close()
		}
	}
	var logged string
	testutil.Poll(10*time.Second, func() bool {
		b, _ := os.ReadFile(accessLog)
		logged = string(b)
		return strings.Count(logged, "\n") >= 4
	})
	for _, in := range insts {
		if ip := in[2]; !strings.Contains(targetsJSON, `"`+ip+`"`) || !strings.Contains(string(targetsOut), ip) || !strings.Contains(logged, " "+ip+":8000 ") {
			t.Errorf("%s: missing from the console's targets, elbow targets or the access log:\n%s\n%s\n%s", ip, targetsJSON, targetsOut, logged)
		}
	}

	for _, in := range insts {
		id, ip := in[1], in[2]
		for name, argv := range map[string][]string{
			"botocore":               {python, "-c", botocoreFetcher},
			"aws-sdk-go-v2 imds":     {"env", "-u", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "ELBOW_TEST_IMDS_CLIENT=1", os.Args[0]},
			"curl (as the app does)": {"sh", "-c", "printf '%s ' $(curl -s -H \"X-aws-ec2-metadata-token: $(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)\" http://169.254.169.254/latest/meta-data/local-ipv4) eu-central-1"},
		} {
			if name == "curl (as the app does)" {
				if _, err := exec.LookPath("curl"); err != nil {
					continue
				}
			}
			cmd := exec.Command(os.Args[0], append([]string{"ssh", id, "--"}, argv...)...)
			cmd.Env = append(os.Environ(), "ELBOW_TEST_AS_MAIN=1")
			out, err := cmd.CombinedOutput()
			if got, want := strings.TrimSpace(string(out)), ip+" eu-central-1"; err != nil || got != want {
				t.Errorf("%s inside %s: %v %q, want %q", name, id, err, got, want)
			}
		}
	}
}
