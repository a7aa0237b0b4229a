package console

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
)

// TestCredentialsRequired: a console with credentials (on loopback here:
// tests reach loopback only, and credentials, when set, are enforced
// wherever the console listens) answers the page, the API and /metrics only
// to requests carrying them as HTTP Basic (or a SigV4 signature: sigv4_test.go);
// others get 401 with the challenge, and nothing echoes the secret.
func TestCredentialsRequired(t *testing.T) {
	t.Parallel()
	const id, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	url := serve(t, New(Options{Health: &fakeHealth{}, Credentials: &Credentials{AccessKeyID: id, SecretAccessKey: secret}}))
	type auth struct{ user, pass, header string }
	cases := []struct {
		name    string
		auth    *auth
		code    int
		errCode string
	}{
		{"none", nil, 401, "MissingAuthenticationToken"},
		{"wrong secret", &auth{user: id, pass: secret + "x"}, 401, "UnrecognizedClientException"},
		{"wrong key id", &auth{user: "AKIAIOSFODNN7EXAMPLF", pass: secret}, 401, "UnrecognizedClientException"},
		{"secret as user", &auth{user: secret, pass: id}, 401, "UnrecognizedClientException"},
		{"bearer", &auth{header: "Bearer " + secret}, 401, "MissingAuthenticationToken"},
		{"sigv4 without X-Amz-Date", &auth{header: "AWS4-HMAC-SHA256 Credential=" + id + "/20260101/us-west-2/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=00"}, 400, "IncompleteSignature"},
		{"right", &auth{user: id, pass: secret}, 200, ""},
	}
	for _, path := range []string{"/", "/api/v1/target-groups", "/metrics", "/ui/app.js"} {
		for _, tc := range cases {
			req, _ := http.NewRequest(http.MethodGet, url+path, nil)
			if tc.auth != nil && tc.auth.header != "" {
				req.Header.Set("Authorization", tc.auth.header)
			} else if tc.auth != nil {
				req.SetBasicAuth(tc.auth.user, tc.auth.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Errorf("%s %s: %d, want %d", path, tc.name, resp.StatusCode, tc.code)
				continue
			}
			if tc.code == 200 {
				continue
			}
			if got := resp.Header.Get("WWW-Authenticate"); tc.code == 401 && got != `Basic realm="elbow", charset="UTF-8"` {
				t.Errorf("%s %s: WWW-Authenticate %q", path, tc.name, got)
			}
			var e apiv1.ErrorResponse
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != tc.errCode {
				t.Errorf("%s %s: body %s, want code %s", path, tc.name, body, tc.errCode)
			}
			if containsBytes(body, secret) {
				t.Errorf("%s %s: the answer shows the secret: %s", path, tc.name, body)
			}
		}
	}
}

func containsBytes(b []byte, s string) bool { return strings.Contains(string(b), s) }
