package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Without --host, elbow check's comparison request carries the URL's host,
// the address the user gave, not a made-up name; --host "" is refused.
func TestCheckComparisonHostDefaultsToURLHost(t *testing.T) {
	hosts := make(chan string, 4)
	u := serve(t, "127.0.0.3", func(w http.ResponseWriter, r *http.Request) {
		hosts <- r.Host
		http.Error(w, "Bad Request (400)", http.StatusBadRequest)
	})
	code, stdout, stderr := runCLI(t, "check", u, "--json")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s %s", code, stdout, stderr)
	}
	var rep struct {
		Diagnosis struct {
			Evidence struct{ AsUser struct{ Request string } }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	urlHost := strings.TrimPrefix(u, "http://")
	if req := rep.Diagnosis.Evidence.AsUser.Request; !strings.Contains(req, "\nHost: "+urlHost+"\n") {
		t.Errorf("comparison request %q, want Host: %s", req, urlHost)
	}
	close(hosts)
	for h := range hosts {
		if h != urlHost {
			t.Errorf("the app was sent Host %q, want only %s", h, urlHost)
		}
	}
	code, _, stderr = runCLI(t, "check", u, "--host", "")
	if code != 2 || !strings.Contains(stderr, "--host: empty") {
		t.Errorf("--host \"\": exit %d %q, want 2 and --host: empty", code, stderr)
	}
}
