package apiv1

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/monitor"
)

// maxAnswer bounds an answer read into memory; the largest, a target list
// with diagnoses, is far smaller.
const maxAnswer = 64 << 20

// ClientOptions wire a Client; all may be left zero.
type ClientOptions struct {
	// HTTPClient sends the requests. Default: a client with a 30 s timeout.
	HTTPClient *http.Client
	// Credentials are asked for only when the console challenges a request
	// (401 with elbow's Basic realm), so that they go only to a console
	// that wants them; ok false when there are none.
	Credentials func() (id, secret string, ok bool)
	// CredentialsHint ends the error of a console that wants credentials
	// the caller does not have: where to set them.
	CredentialsHint string
}

// Client reads and changes an environment through its console's API.
type Client struct {
	base string
	o    ClientOptions
}

// NewClient returns a client of the console at base, an http(s) URL such as
// DefaultURL.
func NewClient(base string, o ClientOptions) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("console URL %q: want a URL such as %s", base, DefaultURL)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: strings.TrimRight(base, "/"), o: o}, nil
}

// BaseURL is the console's URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Error is an error the console answered, in AWS's shape. Fields lists the
// problems of a refused modification (ValidationError) by field.
type Error struct {
	StatusCode int
	Code       string
	Message    string
	Fields     []FieldError
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// CredentialsRequiredError: the console asks for credentials and the
// client has none.
type CredentialsRequiredError struct {
	URL  string
	Hint string
}

func (e *CredentialsRequiredError) Error() string {
	msg := "the console at " + e.URL + " requires credentials"
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

// Each method returns the decoded answer and its bytes as the console sent
// them, for callers that print the document as given.

// EnvironmentHealth is GET /api/v1/environment (DescribeEnvironmentHealth).
func (c *Client) EnvironmentHealth(ctx context.Context) (monitor.EnvironmentHealth, []byte, error) {
	var v monitor.EnvironmentHealth
	raw, err := c.call(ctx, http.MethodGet, "/api/v1/environment", nil, &v)
	return v, raw, err
}

// InstancesHealth is GET /api/v1/instances (DescribeInstancesHealth).
func (c *Client) InstancesHealth(ctx context.Context) (monitor.InstancesHealth, []byte, error) {
	var v monitor.InstancesHealth
	raw, err := c.call(ctx, http.MethodGet, "/api/v1/instances", nil, &v)
	return v, raw, err
}

// TargetGroups is GET /api/v1/target-groups (DescribeTargetGroups).
func (c *Client) TargetGroups(ctx context.Context) (TargetGroupsResponse, []byte, error) {
	var v TargetGroupsResponse
	raw, err := c.call(ctx, http.MethodGet, "/api/v1/target-groups", nil, &v)
	return v, raw, err
}

// TargetHealth is GET /api/v1/target-groups/{group}/targets
// (DescribeTargetHealth, with diagnoses).
func (c *Client) TargetHealth(ctx context.Context, group string) (TargetHealthResponse, []byte, error) {
	var v TargetHealthResponse
	raw, err := c.call(ctx, http.MethodGet, "/api/v1/target-groups/"+url.PathEscape(group)+"/targets", nil, &v)
	return v, raw, err
}

// ModifyTargetGroup is PATCH /api/v1/target-groups/{group}
// (ModifyTargetGroup): the group as it is after the change. A refused
// change is an *Error whose Fields list every problem.
func (c *Client) ModifyTargetGroup(ctx context.Context, group string, m TargetGroupModification) (TargetGroupDescription, []byte, error) {
	var v TargetGroupsResponse
	path := "/api/v1/target-groups/" + url.PathEscape(group)
	raw, err := c.call(ctx, http.MethodPatch, path, m, &v)
	if err != nil {
		return TargetGroupDescription{}, nil, err
	}
	if len(v.TargetGroups) != 1 {
		return TargetGroupDescription{}, nil, fmt.Errorf("%s%s: unexpected answer: %s", c.base, path, raw)
	}
	return v.TargetGroups[0], raw, nil
}

// Deploy is POST /api/v1/deployments: the version whose deployment started.
func (c *Client) Deploy(ctx context.Context, r DeployRequest) (DeployResult, error) {
	var v DeployResult
	_, err := c.call(ctx, http.MethodPost, "/api/v1/deployments", r, &v)
	return v, err
}

// Abort is POST /api/v1/environment/abort (AbortEnvironmentUpdate).
func (c *Client) Abort(ctx context.Context) (EnvironmentStatus, error) {
	var v EnvironmentStatus
	_, err := c.call(ctx, http.MethodPost, "/api/v1/environment/abort", struct{}{}, &v)
	return v, err
}

// Scale is PUT /api/v1/environment/capacity.
func (c *Client) Scale(ctx context.Context, desired int) (EnvironmentStatus, error) {
	var v EnvironmentStatus
	_, err := c.call(ctx, http.MethodPut, "/api/v1/environment/capacity", CapacityRequest{DesiredCapacity: &desired}, &v)
	return v, err
}

// Status is GET /api/v1/status.
func (c *Client) Status(ctx context.Context) (EnvironmentStatus, []byte, error) {
	var v EnvironmentStatus
	raw, err := c.call(ctx, http.MethodGet, "/api/v1/status", nil, &v)
	return v, raw, err
}

// ApplicationVersions is GET /api/v1/application-versions.
func (c *Client) ApplicationVersions(ctx context.Context) (ApplicationVersionsResponse, error) {
	var v ApplicationVersionsResponse
	_, err := c.call(ctx, http.MethodGet, "/api/v1/application-versions", nil, &v)
	return v, err
}

// Events is GET /api/v1/events: the events dated after since (all when
// zero), newest first.
func (c *Client) Events(ctx context.Context, since time.Time) (EventsResponse, error) {
	var v EventsResponse
	path := "/api/v1/events"
	if !since.IsZero() {
		path += "?since=" + url.QueryEscape(since.UTC().Format(time.RFC3339Nano))
	}
	_, err := c.call(ctx, http.MethodGet, path, nil, &v)
	return v, err
}

// call sends one request and decodes a 200 (or 202) answer into out. A console that
// does not answer, or something else answering, is said plainly.
func (c *Client) call(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, fmt.Errorf("encoding the request %s %s: %w", method, path, err)
		}
	}
	newReq := func() (*http.Request, error) {
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
		if err != nil {
			return nil, fmt.Errorf("console request %s: %w", path, err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, nil
	}
	resp, err := c.do(newReq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if _, ok := errors.AsType[*CredentialsRequiredError](err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("no elbow environment answering at %s: is `elbow up` running? (%w)", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("reading %s%s: %w", c.base, path, err)
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s%s: unexpected answer: %w", c.base, path, err)
		}
		return raw, nil
	}
	var e ValidationErrorResponse
	if json.Unmarshal(raw, &e) == nil && e.Error.Code != "" {
		return nil, &Error{StatusCode: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message, Fields: e.Errors}
	}
	return nil, fmt.Errorf("%s%s answered %s: is it an elbow console?", c.base, path, resp.Status)
}

// do sends a request, and sends it again with the credentials when the
// console answers elbow's challenge (RFC 7617 Basic, realm "elbow"): the
// credentials go only to a console that asks for them, and the default one
// on loopback never sees them.
func (c *Client) do(newReq func() (*http.Request, error)) (*http.Response, error) {
	req, err := newReq()
	if err != nil {
		return nil, err
	}
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `realm="elbow"`) {
		return resp, err
	}
	resp.Body.Close()
	var id, secret string
	ok := false
	if c.o.Credentials != nil {
		id, secret, ok = c.o.Credentials()
	}
	if !ok {
		return nil, &CredentialsRequiredError{URL: c.base, Hint: c.o.CredentialsHint}
	}
	if req, err = newReq(); err != nil {
		return nil, err
	}
	req.SetBasicAuth(id, secret)
	return c.o.HTTPClient.Do(req)
}
