package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/elbow-lb/elbow/internal/config"
)

// clientCredentials finds the access key for a console that asks for one:
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the aws CLI's names, which
// take precedence as they do for it), else console.credentials of
// elbow.yaml in the working directory. ok is false when neither has them.
func clientCredentials() (id, secret string, ok bool) {
	id, secret = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id != "" && secret != "" {
		return id, secret, true
	}
	path, _ := configPath("")
	if path == "" {
		return "", "", false
	}
	cfg, err := config.Load(path)
	if err != nil || cfg.Console.Credentials == nil {
		return "", "", false
	}
	return cfg.Console.Credentials.AccessKeyID, cfg.Console.Credentials.Secret(), true
}

// credentialsError: the console asks for credentials and none are at hand.
type credentialsError struct{ base string }

func (e *credentialsError) Error() string {
	return "the console at " + e.base + " requires credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY " +
		"to the access key id and secret of its console.credentials, or run from the directory of its elbow.yaml"
}

// do sends req, and sends it again with the credentials when the console
// answers elbow's challenge: credentials go only to a console that asks for
// them, and the default one on loopback never sees them.
func (c *consoleClient) do(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `realm="elbow"`) {
		return resp, err
	}
	id, secret, ok := clientCredentials()
	if !ok {
		resp.Body.Close()
		return nil, &credentialsError{base: c.base}
	}
	retry := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return resp, nil
		}
		if retry.Body, err = req.GetBody(); err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("console request %s: %w", req.URL.Path, err)
		}
	}
	resp.Body.Close()
	retry.SetBasicAuth(id, secret)
	return c.http.Do(retry)
}
