package diagnose

import (
	"context"
	"strings"
	"testing"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// TestReferenceScenarioDjango walks the reference scenario (examples/django/README.md) with
// the real Django app of examples/django on 127.0.0.2: 400, then 301 once the
// instance IP is allowed, then healthy with the matcher 200-301.
func TestReferenceScenarioDjango(t *testing.T) {
	const ip = "127.0.0.2"
	const public = "www.example.com"

	t.Run("step 1: ALLOWED_HOSTS rejects the IP Host", func(t *testing.T) {
		port := testutil.StartDjangoExample(t, ip)
		tgt := healthcheck.Target{ID: "i-0000000000000001", IP: ip, Port: port}
		r, d := checkAndDiagnose(t, tgt, settings("/", "200"), public)
		if got, want := r.Health().Description, "Health checks failed with these codes: [400]"; got != want {
			t.Fatalf("description %q, want %q (%v)", got, want, r.Err)
		}
		assertDiagnosis(t, d, CaseDjangoAllowedHosts, Django,
			"Host: "+tgt.Addr(),
			"is not in ALLOWED_HOSTS",
			"ALLOWED_HOSTS.append(_ip)",
			`method="PUT"`,
			`"X-aws-ec2-metadata-token-ttl-seconds": "60"`,
			"/latest/meta-data/local-ipv4",
			"timeout=0.5",
			"response.status != 200",
			"AWS_EC2_METADATA_SERVICE_ENDPOINT",
			"HealthCheckMiddleware",
			"ALLOWED_CIDR_NETS",
			"Users' requests carry your public name and pass",
		)
		if d.Evidence.AsUser == nil || d.Evidence.AsUser.StatusCode != 200 {
			t.Errorf("a user's request (www.example.com, X-Forwarded-Proto: https) must get 200: %+v", d.Evidence.AsUser)
		}
	})

	t.Run("step 2: the IP allowed, SECURE_SSL_REDIRECT answers 301", func(t *testing.T) {
		imds := testutil.FakeIMDS(t, ip, ip)
		port := testutil.StartDjangoExample(t, ip, "ALLOW_INSTANCE_IP=1", "AWS_EC2_METADATA_SERVICE_ENDPOINT="+imds)
		tgt := healthcheck.Target{ID: "i-0000000000000001", IP: ip, Port: port}
		r, d := checkAndDiagnose(t, tgt, settings("/", "200"), public)
		if got, want := r.Health().Description, "Health checks failed with these codes: [301]"; got != want {
			t.Fatalf("description %q, want %q: did settings.py read the IP from the metadata service?", got, want)
		}
		assertDiagnosis(t, d, CaseHTTPSRedirect, Django,
			"SECURE_SSL_REDIRECT = True",
			"SECURE_REDIRECT_EXEMPT = [r\"^health$\"]",
			"matcher: \"200-301\"",
			"HttpCode=200-301",
			"no X-Forwarded-For or X-Forwarded-Proto",
			"to https://"+tgt.Addr()+"/",
			"With X-Forwarded-Proto: https the redirect does not happen",
		)
		if d.Evidence.AsUser == nil || d.Evidence.AsUser.StatusCode != 200 {
			t.Errorf("a user's request through the load balancer must get 200: %+v", d.Evidence.AsUser)
		}

		// The exempt health path answers the checker directly.
		if r := (healthcheck.HTTPProber{}).Probe(context.Background(), tgt, settings("/health", "200")); !r.Passed() {
			t.Errorf("/health with the IP allowed: %d %s, want 200", r.StatusCode, r.Reason)
		}

		// Step 3: the matcher 200-301 makes the same check pass.
		r = healthcheck.HTTPProber{}.Probe(context.Background(), tgt, settings("/", "200-301"))
		if !r.Passed() || r.StatusCode != 301 {
			t.Fatalf("matcher 200-301: %d %s, want a pass on 301", r.StatusCode, r.Reason)
		}
	})
}

// TestDjangoExampleSettingsRefuseGarbage checks the example's IMDS lookup
// against a metadata service that answers an error page: nothing is added.
func TestDjangoExampleSettingsRefuseGarbage(t *testing.T) {
	const ip = "127.0.0.2"
	imds := testutil.FakeIMDS(t, ip, "<html>not an ip</html>")
	port := testutil.StartDjangoExample(t, ip, "ALLOW_INSTANCE_IP=1", "AWS_EC2_METADATA_SERVICE_ENDPOINT="+imds)
	tgt := healthcheck.Target{ID: "i-1", IP: ip, Port: port}
	r := healthcheck.HTTPProber{}.Probe(context.Background(), tgt, settings("/", "200"))
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), "Bad Request (400)") {
		t.Fatalf("got %d %q, want Django's 400: garbage from the metadata service must not be allowed", r.StatusCode, r.Body)
	}
}

// With a public Host that is not in ALLOWED_HOSTS either the case is still
// recognised from Django's page, and the text says the comparison failed.
func TestDjangoWrongPublicHost(t *testing.T) {
	const ip = "127.0.0.2"
	port := testutil.StartDjangoExample(t, ip)
	tgt := healthcheck.Target{ID: "i-1", IP: ip, Port: port}
	_, d := checkAndDiagnose(t, tgt, settings("/", "200"), "shop.example.org")
	assertDiagnosis(t, d, CaseDjangoAllowedHosts, Django, "shop.example.org is not in ALLOWED_HOSTS either", "--host")
}
