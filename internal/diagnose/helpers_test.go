package diagnose

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// listenOn listens on ip with a free port.
func listenOn(t *testing.T, ip string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	return ln
}

// serveOn starts h on ip (plain HTTP, or TLS) and returns the target.
func serveOn(t *testing.T, ip string, useTLS bool, h http.HandlerFunc) healthcheck.Target {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = listenOn(t, ip)
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return targetOf(t, srv.Listener.Addr().String())
}

func targetOf(t *testing.T, addr string) healthcheck.Target {
	t.Helper()
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portText)
	return healthcheck.Target{ID: host, IP: host, Port: port}
}

// settings are the Elastic Beanstalk defaults with a short timeout, for tests.
func settings(path, matcher string) healthcheck.Settings {
	s := healthcheck.EBDefaults()
	s.Path = path
	s.Timeout = 2 * time.Second
	s.Matcher = healthcheck.MustParseMatcher(matcher)
	return s
}

// checkAndDiagnose probes t once as the ELB checker does and diagnoses the result.
func checkAndDiagnose(t *testing.T, tgt healthcheck.Target, s healthcheck.Settings, publicHost string) (healthcheck.Result, Diagnosis) {
	t.Helper()
	ctx := context.Background()
	r := healthcheck.HTTPProber{}.Probe(ctx, tgt, s)
	d := Diagnoser{PublicHost: publicHost}.Diagnose(ctx, tgt, s, r)
	return r, d
}

// fixText is every fix's title, detail and trade-off, for phrase assertions.
func fixText(d Diagnosis) string {
	var b strings.Builder
	for _, f := range d.Fixes {
		b.WriteString(f.Title + "\n" + f.Detail + "\n" + f.TradeOff + "\n")
	}
	return b.String()
}

// assertDiagnosis checks the case, the framework and that each phrase occurs
// in the summary, the why or a fix.
func assertDiagnosis(t *testing.T, d Diagnosis, wantCase, wantFramework string, phrases ...string) {
	t.Helper()
	if d.Case != wantCase {
		t.Errorf("Case = %q, want %q\nsummary: %s\nwhy: %s\nevidence: %+v", d.Case, wantCase, d.Summary, d.Why, d.Evidence)
	}
	if d.Framework != wantFramework {
		t.Errorf("Framework = %q, want %q", d.Framework, wantFramework)
	}
	all := d.Summary + "\n" + d.Why + "\n" + fixText(d)
	for _, p := range phrases {
		if !strings.Contains(all, p) {
			t.Errorf("diagnosis lacks %q:\n%s", p, all)
		}
	}
	if d.Summary == "" || d.Why == "" {
		t.Errorf("empty summary or why: %+v", d)
	}
}
