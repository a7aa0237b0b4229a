package diagnose

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// allowListApp answers 200 to the Hosts in allowed and 400 to any other, as
// a host allow-list does (Django's ALLOWED_HOSTS, Rails' config.hosts), and
// records every Host it was sent.
func allowListApp(t *testing.T, ip string, allowed ...string) (healthcheck.Target, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	tgt := serveOn(t, ip, false, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Host)
		mu.Unlock()
		for _, h := range allowed {
			if r.Host == h {
				w.Write([]byte("ok"))
				return
			}
		}
		http.Error(w, "Bad Request", http.StatusBadRequest)
	})
	return tgt, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

// The comparison request carries the Host users send: public_host when set,
// else the listener's address, else the target's own; never a made-up name.
func TestComparisonHost(t *testing.T) {
	const listener = "127.0.0.1:8080"
	for _, tc := range []struct {
		name                 string
		public, listenerHost string
		wantHost             string // "" means the target's address
		wantCase             string
	}{
		{"public host", "www.shop.test", listener, "www.shop.test", CaseHostValidation},
		{"listener host when no public host", "", listener, listener, CaseHostValidation},
		{"target address when neither", "", "", "", CaseUnrecognised},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tgt, seen := allowListApp(t, "127.0.0.2", "www.shop.test", listener)
			want := tc.wantHost
			if want == "" {
				want = tgt.Addr()
			}
			ctx := context.Background()
			s := settings("/", "200")
			r := healthcheck.HTTPProber{}.Probe(ctx, tgt, s)
			d := Diagnoser{PublicHost: tc.public, ListenerHost: tc.listenerHost}.Diagnose(ctx, tgt, s, r)
			if d.Evidence.AsUser == nil || !strings.Contains(d.Evidence.AsUser.Request, "\nHost: "+want+"\n") {
				t.Fatalf("user-like request %+v, want Host: %s", d.Evidence.AsUser, want)
			}
			if hosts := seen(); len(hosts) != 2 || hosts[1] != want {
				t.Errorf("the app saw Hosts %q, want the check's then %s", hosts, want)
			}
			if d.Case != tc.wantCase {
				t.Errorf("Case = %q, want %q (%s)", d.Case, tc.wantCase, d.Summary)
			}
			if strings.Contains(d.Summary+d.Why+fixText(d), "example.com") {
				t.Errorf("the diagnosis names a made-up host: %s\n%s", d.Summary, d.Why)
			}
		})
	}
}
