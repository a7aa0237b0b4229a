package imds

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestRequestsCountsWhatWasAnswered: a fresh service has answered nothing;
// then every kind of request counts, refused ones too, with the time of the
// latest by the service's clock.
func TestRequestsCountsWhatWasAnswered(t *testing.T) {
	ts := startServer(t, testInstance(), Options{})
	created := ts.clock.Now()
	if got, want := ts.imds.Requests(), (Activity{Since: created}); got != want {
		t.Fatalf("before any request: %+v, want %+v", got, want)
	}

	ts.clock.Advance(time.Minute)
	if r := ts.do(t, http.MethodGet, "/latest/meta-data/local-ipv4"); r.status != 200 {
		t.Fatalf("IMDSv1 GET: %d", r.status)
	}
	got := ts.imds.Requests()
	if want := (Activity{Since: created, Requests: 1, Last: created.Add(time.Minute)}); got != want {
		t.Fatalf("after one IMDSv1 GET: %+v, want %+v", got, want)
	}

	ts.clock.Advance(time.Second)
	token := ts.token(t, "60")
	ts.do(t, http.MethodGet, "/latest/meta-data/local-ipv4", TokenHeader, token)
	ts.do(t, http.MethodHead, "/latest/meta-data/instance-id", TokenHeader, token)
	ts.clock.Advance(time.Second)
	ts.do(t, http.MethodGet, "/latest/meta-data/no-such-thing")      // 404
	ts.do(t, http.MethodGet, "/latest/api/token")                    // 405
	ts.do(t, http.MethodPut, TokenPath)                              // 400: no TTL
	ts.do(t, http.MethodGet, "/latest/meta-data/", TokenHeader, "x") // 401
	got = ts.imds.Requests()
	want := Activity{Since: created, Requests: 8, TokenRequests: 3, Refused: 4, Last: created.Add(time.Minute + 2*time.Second)}
	if got != want {
		t.Fatalf("after a session and four refusals: %+v, want %+v", got, want)
	}
}

// TestRequestsTokensRequired: an IMDSv1 GET refused with 401 (the
// reference's scenario 3, HttpTokens=required) still counts as asked.
func TestRequestsTokensRequired(t *testing.T) {
	ts := startServer(t, testInstance(), Options{TokensRequired: true})
	if r := ts.do(t, http.MethodGet, "/latest/meta-data/local-ipv4"); r.status != http.StatusUnauthorized {
		t.Fatalf("IMDSv1 GET with tokens required: %d, want 401", r.status)
	}
	if got := ts.imds.Requests(); got.Requests != 1 || got.Refused != 1 || got.TokenRequests != 0 {
		t.Fatalf("%+v, want 1 request, 1 refused, no token request", got)
	}
}

// TestRequestsConcurrent: counts are exact under concurrent callers (run
// with -race).
func TestRequestsConcurrent(t *testing.T) {
	ts := startServer(t, testInstance(), Options{})
	const callers, each = 8, 25
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range each {
				req, _ := http.NewRequest(http.MethodGet, ts.URL+"/latest/meta-data/instance-id", nil)
				resp, err := ts.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if got := ts.imds.Requests().Requests; got != callers*each {
		t.Fatalf("Requests = %d, want %d", got, callers*each)
	}
}
