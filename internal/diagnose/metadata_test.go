package diagnose

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/imds"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// startIMDS serves a real metadata service for instance id on ip, as elbow
// does in loopback mode, and returns it with its endpoint.
func startIMDS(t *testing.T, id, ip string, o imds.Options) (*imds.Server, string) {
	t.Helper()
	srv, err := imds.New(imds.NewInstance(id, ip, "eu-west-1"), o)
	if err != nil {
		t.Fatal(err)
	}
	ln := listenOn(t, ip)
	hs := srv.HTTPServer()
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return srv, "http://" + ln.Addr().String()
}

// lookupOf is what elbow hands the diagnosis about instance id.
func lookupOf(id, network, endpoint string, srv *imds.Server) MetadataLookup {
	return func(t healthcheck.Target) (MetadataService, bool) {
		if t.ID != id {
			return MetadataService{}, false
		}
		return MetadataService{Network: network, Endpoint: endpoint, Activity: srv.Requests()}, true
	}
}

// outsideWorld stands for every address off loopback: the apps under test
// get it as their HTTP proxy, so that a request to the hard-coded
// 169.254.169.254 never leaves the machine (this machine routes it to its
// gateway). It records each request line and closes the connection without
// an answer, which requests raises as a ConnectionError (ProxyError), as it
// raises the connect timeout of an address nothing answers at.
type outsideWorld struct {
	url  string
	mu   sync.Mutex
	seen []string
}

func startOutsideWorld(t *testing.T) *outsideWorld {
	t.Helper()
	ln := listenOn(t, "127.0.0.1")
	t.Cleanup(func() { ln.Close() })
	o := &outsideWorld{url: "http://" + ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			o.mu.Lock()
			o.seen = append(o.seen, strings.TrimSpace(line))
			o.mu.Unlock()
			c.Close()
		}
	}()
	return o
}

func (o *outsideWorld) requests() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen...)
}

// proxyEnv routes the app's plain-HTTP requests through o, except to the
// noProxy addresses, whatever the test's own environment says.
func (o *outsideWorld) proxyEnv(noProxy string) []string {
	return []string{"HTTP_PROXY=" + o.url, "http_proxy=" + o.url, "NO_PROXY=" + noProxy, "no_proxy=" + noProxy}
}

// startLookupApp runs the reference app with one of the IP lookups of
// testdata/imdslookup (SHOP_IMDS_LOOKUP), given the endpoint variable as
// elbow gives it. It skips without python3-requests, as without Django.
func startLookupApp(t *testing.T, ip, lookup, endpoint string, extra ...string) int {
	t.Helper()
	if out, err := exec.Command(testutil.SystemPython, "-c", "import requests").CombinedOutput(); err != nil {
		testutil.Missing(t, "python3-requests", "apt-get install -y python3-requests: "+string(out))
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "imdslookup"))
	if err != nil {
		t.Fatal(err)
	}
	env := append([]string{
		"DJANGO_SETTINGS_MODULE=imds_lookup_settings",
		"PYTHONPATH=" + dir,
		"SHOP_IMDS_LOOKUP=" + lookup,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + endpoint,
	}, extra...)
	return testutil.StartDjangoExample(t, ip, env...)
}

// TestHardCodedMetadataAddressUnderLoopback: the reference app with the
// published lookup (http://169.254.169.254 hard-coded, timeout=0.01,
// ConnectionError caught) under the loopback network. Its metadata service
// is at 127.0.0.N:PORT, the app never asks it and starts without its IP: the
// diagnosis says so, names the endpoint variable and suggests network: vpc.
// In vpc mode the same observation gives no such hint.
func TestHardCodedMetadataAddressUnderLoopback(t *testing.T) {
	const ip, id = "127.0.0.31", "i-0000000000000031"
	srv, endpoint := startIMDS(t, id, ip, imds.Options{})
	outside := startOutsideWorld(t)
	port := startLookupApp(t, ip, "hardcoded", endpoint, outside.proxyEnv(ip)...)

	// The settings ran and asked the hard-coded address, which answered
	// nothing; the instance's own service saw nothing.
	if seen := outside.requests(); len(seen) != 1 || seen[0] != "GET http://169.254.169.254/latest/meta-data/local-ipv4 HTTP/1.1" {
		t.Fatalf("requests off loopback: %q, want the one hard-coded lookup", seen)
	}

	tgt := healthcheck.Target{ID: id, IP: ip, Port: port}
	s := settings("/", "200")
	r := healthcheck.HTTPProber{}.Probe(t.Context(), tgt, s)
	if got, want := r.Health().Description, "Health checks failed with these codes: [400]"; got != want {
		t.Fatalf("description %q, want %q (%v)", got, want, r.Err)
	}

	t.Run("loopback", func(t *testing.T) {
		d := Diagnoser{PublicHost: "www.example.com", Metadata: lookupOf(id, NetworkLoopback, endpoint, srv)}.Diagnose(t.Context(), tgt, s, r)
		assertDiagnosis(t, d, CaseDjangoAllowedHosts, Django,
			"is not in ALLOWED_HOSTS. The app never asked its metadata service.",
			"that of instance "+id+", at "+endpoint+", has answered no request since the instance launched",
			"AWS_EC2_METADATA_SERVICE_ENDPOINT="+endpoint,
			"Code that hard-codes http://169.254.169.254 reaches nothing there",
			"network: vpc",
			"elbow up --network vpc",
			`os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254")`,
		)
		if len(d.Fixes) < 2 || !strings.Contains(d.Fixes[1].Title, "instances: {network: vpc}") {
			t.Errorf("the vpc fix must come right after the metadata lookup, second: %q", fixTitles(d))
		}
		m := d.Evidence.MetadataService
		if m == nil || m.Endpoint != endpoint || m.Activity.Requests != 0 {
			t.Errorf("Evidence.MetadataService = %+v, want %s with no request", m, endpoint)
		}
	})

	t.Run("vpc", func(t *testing.T) {
		d := Diagnoser{PublicHost: "www.example.com", Metadata: lookupOf(id, NetworkVPC, endpoint, srv)}.Diagnose(t.Context(), tgt, s, r)
		assertDiagnosis(t, d, CaseDjangoAllowedHosts, Django, "is not in ALLOWED_HOSTS")
		if all := d.Summary + d.Why + fixText(d); strings.Contains(all, "never asked") || strings.Contains(all, "network: vpc") {
			t.Errorf("vpc mode: the service is where the code looks; no hint expected:\n%s", all)
		}
	})
}

// TestEndpointVariableReachesTheMetadataService: the reference app reading
// AWS_EC2_METADATA_SERVICE_ENDPOINT (examples/django, IMDSv2) gets its IP
// from the real service: the check turns to 301 and the diagnosis, now
// about the redirect, has no metadata hint.
func TestEndpointVariableReachesTheMetadataService(t *testing.T) {
	const ip, id = "127.0.0.32", "i-0000000000000032"
	srv, endpoint := startIMDS(t, id, ip, imds.Options{})
	port := testutil.StartDjangoExample(t, ip, "ALLOW_INSTANCE_IP=1", "AWS_EC2_METADATA_SERVICE_ENDPOINT="+endpoint)
	if a := srv.Requests(); a.Requests != 2 || a.TokenRequests != 1 || a.Refused != 0 {
		t.Fatalf("metadata service activity %+v, want the token PUT and the local-ipv4 GET", a)
	}

	tgt := healthcheck.Target{ID: id, IP: ip, Port: port}
	s := settings("/", "200")
	r := healthcheck.HTTPProber{}.Probe(t.Context(), tgt, s)
	d := Diagnoser{PublicHost: "www.example.com", Metadata: lookupOf(id, NetworkLoopback, endpoint, srv)}.Diagnose(t.Context(), tgt, s, r)
	assertDiagnosis(t, d, CaseHTTPSRedirect, Django, "SECURE_SSL_REDIRECT = True")
	if all := d.Summary + d.Why + fixText(d); strings.Contains(all, "metadata service") {
		t.Errorf("a redirect is not the metadata service's business:\n%s", all)
	}
	if d.Evidence.MetadataService != nil {
		t.Errorf("Evidence.MetadataService = %+v, want none for a redirect", d.Evidence.MetadataService)
	}
}

// TestAppAskedButMisreadTheAnswer: the lookup reads the endpoint variable
// but with IMDSv1, no status check, against a service with tokens required
// (the reference's scenarios 3 and 4): the 401 page lands in ALLOWED_HOSTS
// and the check still gets 400. The diagnosis says the app asked, how often,
// when, and that the service refused.
func TestAppAskedButMisreadTheAnswer(t *testing.T) {
	const ip, id = "127.0.0.33", "i-0000000000000033"
	srv, endpoint := startIMDS(t, id, ip, imds.Options{TokensRequired: true})
	outside := startOutsideWorld(t)
	port := startLookupApp(t, ip, "endpoint-v1", endpoint, outside.proxyEnv(ip)...)
	if seen := outside.requests(); len(seen) != 0 {
		t.Fatalf("the metadata service is on loopback; requests off it: %q", seen)
	}

	tgt := healthcheck.Target{ID: id, IP: ip, Port: port}
	s := settings("/", "200")
	r := healthcheck.HTTPProber{}.Probe(t.Context(), tgt, s)
	d := Diagnoser{PublicHost: "www.example.com", Metadata: lookupOf(id, NetworkLoopback, endpoint, srv)}.Diagnose(t.Context(), tgt, s, r)
	assertDiagnosis(t, d, CaseDjangoAllowedHosts, Django,
		"The app did ask its metadata service (1 request), so the lookup ran.",
		"that of instance "+id+", at "+endpoint+", answered 1 request since the instance launched",
		"none of them for a token (IMDSv1 only)",
		"It refused 1 of them (401 to an IMDSv1 request when tokens are required",
		"the cause is in what the app did with the answers",
	)
	if all := d.Summary + d.Why + fixText(d); strings.Contains(all, "never asked") || strings.Contains(all, "network: vpc") {
		t.Errorf("the app asked: no never-asked hint expected:\n%s", all)
	}
}

// TestMetadataHintNeedsTheAdviceAndTheInstance: with no lookup, or a target
// elbow runs no instance for, the diagnosis is as before; the evidence's
// JSON carries the activity when it is known.
func TestMetadataHintNeedsTheAdviceAndTheInstance(t *testing.T) {
	const ip, id = "127.0.0.34", "i-0000000000000034"
	srv, endpoint := startIMDS(t, id, ip, imds.Options{})
	tgt := serveOn(t, ip, false, func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "www.example.com" {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte("<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n<body>\n  <h1>Bad Request (400)</h1><p></p>\n</body>\n</html>\n"))
			return
		}
		w.Write([]byte("shop"))
	})
	s := settings("/", "200")
	r := healthcheck.HTTPProber{}.Probe(t.Context(), tgt, s)

	for name, lookup := range map[string]MetadataLookup{
		"no lookup":      nil,
		"other instance": lookupOf("i-someone-else", NetworkLoopback, endpoint, srv),
	} {
		t.Run(name, func(t *testing.T) {
			d := Diagnoser{PublicHost: "www.example.com", Metadata: lookup}.Diagnose(t.Context(), tgt, s, r)
			assertDiagnosis(t, d, CaseDjangoAllowedHosts, Django, "is not in ALLOWED_HOSTS")
			if strings.Contains(d.Why, "never asked") || d.Evidence.MetadataService != nil {
				t.Errorf("no instance known, no hint: %s %+v", d.Why, d.Evidence.MetadataService)
			}
		})
	}

	t.Run("offline", func(t *testing.T) {
		tgt := tgt
		tgt.ID = id
		d := Diagnoser{Offline: true, Metadata: lookupOf(id, "", endpoint, srv)}.Diagnose(t.Context(), tgt, s, r)
		assertDiagnosis(t, d, CaseDjangoAllowedHosts, Django, "The app never asked its metadata service.", "AWS_EC2_METADATA_SERVICE_ENDPOINT="+endpoint)
		b, err := json.Marshal(d.Evidence.MetadataService)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(b); !strings.Contains(got, `"Endpoint":"`+endpoint+`"`) || !strings.Contains(got, `"Requests":0`) || strings.Contains(got, `"Last"`) {
			t.Errorf("Evidence.MetadataService JSON %s: want the endpoint, 0 requests and no Last", got)
		}
	})
}

func fixTitles(d Diagnosis) []string {
	var titles []string
	for _, f := range d.Fixes {
		titles = append(titles, f.Title)
	}
	return titles
}
