package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
)

// fakeUpdates records calls and answers as scripted.
type fakeUpdates struct {
	mu       sync.Mutex
	updating bool
	desired  int
	deployed []apiv1.DeployRequest
	aborts   int
	scaleErr error
}

func (f *fakeUpdates) Deploy(_ context.Context, label, description string) (apiv1.DeployResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.updating {
		return apiv1.DeployResult{}, fmt.Errorf("deploying %s: %w", label, ErrUpdateInProgress)
	}
	if label == "v1" {
		return apiv1.DeployResult{}, &InvalidParameterError{Message: "Application Version v1 already exists."}
	}
	if label == "" {
		label = "app-260102_150405"
	}
	f.updating = true
	f.deployed = append(f.deployed, apiv1.DeployRequest{VersionLabel: label, Description: description})
	return apiv1.DeployResult{VersionLabel: label, Deployment: len(f.deployed) + 1}, nil
}

func (f *fakeUpdates) Abort() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.updating {
		return ErrNoUpdate
	}
	f.updating = false
	f.aborts++
	return nil
}

func (f *fakeUpdates) Scale(_ context.Context, n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.scaleErr != nil {
		return f.scaleErr
	}
	if n > 4 {
		return &InvalidParameterError{Message: fmt.Sprintf("New SetDesiredCapacity value %d is above max value 4 for the AutoScalingGroup.", n)}
	}
	f.desired = n
	return nil
}

func (f *fakeUpdates) Status() apiv1.EnvironmentStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := "Ready"
	if f.updating {
		st = "Updating"
	}
	return apiv1.EnvironmentStatus{ApplicationName: "app", EnvironmentName: "app-env", VersionLabel: "v1", Status: st,
		AbortableOperationInProgress: f.updating, Instances: 2, DesiredCapacity: f.desired}
}

func (f *fakeUpdates) Versions() []apiv1.ApplicationVersion {
	return []apiv1.ApplicationVersion{{ApplicationName: "app", VersionLabel: "v1", Status: "Processed", DateCreated: time.Unix(0, 0).UTC()}}
}

func updatesConsole(t *testing.T, o Options) (*apiv1.Client, *fakeUpdates, string) {
	t.Helper()
	f := &fakeUpdates{desired: 2}
	o.Updates = f
	srv := httptest.NewServer(New(o))
	t.Cleanup(srv.Close)
	c, err := apiv1.NewClient(srv.URL, apiv1.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c, f, srv.URL
}

func wantAPIError(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	ae, ok := errors.AsType[*apiv1.Error](err)
	if !ok || ae.StatusCode != status || ae.Code != code || ae.Message != msg {
		t.Fatalf("err = %#v, want %d %s %q", err, status, code, msg)
	}
}

func TestUpdatesRoutes(t *testing.T) {
	c, f, _ := updatesConsole(t, Options{})
	ctx := t.Context()

	res, err := c.Deploy(ctx, apiv1.DeployRequest{VersionLabel: "v2", Description: "fix"})
	if err != nil || res.VersionLabel != "v2" || res.Deployment != 2 {
		t.Fatalf("Deploy = %+v, %v", res, err)
	}
	if f.deployed[0] != (apiv1.DeployRequest{VersionLabel: "v2", Description: "fix"}) {
		t.Errorf("deployed %+v", f.deployed)
	}
	_, err = c.Deploy(ctx, apiv1.DeployRequest{VersionLabel: "v3"})
	wantAPIError(t, err, http.StatusBadRequest, "InvalidParameterValue",
		"Environment named app-env is in an invalid state for this operation. Must be Ready.")
	st, _, err := c.Status(ctx)
	if err != nil || st.Status != "Updating" || !st.AbortableOperationInProgress {
		t.Errorf("Status during the update = %+v, %v", st, err)
	}
	if st, err = c.Abort(ctx); err != nil || st.Status != "Ready" || f.aborts != 1 {
		t.Errorf("Abort = %+v, %v (aborts %d)", st, err, f.aborts)
	}
	_, err = c.Abort(ctx)
	wantAPIError(t, err, http.StatusBadRequest, "InvalidParameterValue",
		"Environment named app-env is in an invalid state for this operation. Must be pending deployment.")

	_, err = c.Deploy(ctx, apiv1.DeployRequest{VersionLabel: "v1"})
	wantAPIError(t, err, http.StatusBadRequest, "InvalidParameterValue", "Application Version v1 already exists.")
	long := strings.Repeat("x", 101)
	_, err = c.Deploy(ctx, apiv1.DeployRequest{VersionLabel: long})
	wantAPIError(t, err, http.StatusBadRequest, "ValidationError",
		"1 validation error detected: Value '"+long+"' at 'versionLabel' failed to satisfy constraint: Member must have length less than or equal to 100")
	if len(f.deployed) != 1 {
		t.Errorf("refused deployments reached Updates: %+v", f.deployed)
	}

	if st, err = c.Scale(ctx, 3); err != nil || st.DesiredCapacity != 3 {
		t.Errorf("Scale(3) = %+v, %v", st, err)
	}
	_, err = c.Scale(ctx, 5)
	wantAPIError(t, err, http.StatusBadRequest, "InvalidParameterValue", "New SetDesiredCapacity value 5 is above max value 4 for the AutoScalingGroup.")
	f.scaleErr = errors.New("fleet stopped")
	_, err = c.Scale(ctx, 2)
	wantAPIError(t, err, http.StatusInternalServerError, "InternalFailure", "setting the desired capacity: fleet stopped")

	vs, err := c.ApplicationVersions(ctx)
	if err != nil || len(vs.ApplicationVersions) != 1 || vs.ApplicationVersions[0].VersionLabel != "v1" {
		t.Errorf("ApplicationVersions = %+v, %v", vs, err)
	}
}

func TestUpdatesRequests(t *testing.T) {
	_, _, url := updatesConsole(t, Options{})
	for _, tc := range []struct {
		method, path, ctype, body string
		status                    int
		code                      string
	}{
		{"POST", "/api/v1/deployments", "application/x-www-form-urlencoded", "VersionLabel=v2", 415, "UnsupportedMediaType"},
		{"POST", "/api/v1/environment/abort", "text/plain", "", 415, "UnsupportedMediaType"},
		{"POST", "/api/v1/deployments", "application/json", `{"Label": "v2"}`, 400, "ValidationError"},
		{"POST", "/api/v1/deployments", "application/json", `{} {}`, 400, "ValidationError"},
		{"PUT", "/api/v1/environment/capacity", "application/json", `{}`, 400, "MissingParameter"},
		{"PUT", "/api/v1/environment/capacity", "application/json", `{"DesiredCapacity": -1}`, 400, "ValidationError"},
		{"GET", "/api/v1/deployments", "", "", 405, "MethodNotAllowed"},
		{"POST", "/api/v1/status", "application/json", `{}`, 405, "MethodNotAllowed"},
	} {
		req, _ := http.NewRequest(tc.method, url+tc.path, strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = fmt.Fprint(&b, resp.Status)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s %q: %s, want %d", tc.method, tc.path, tc.body, b.String(), tc.status)
		}
	}
}

func TestUpdatesNeedCredentialsAndUpdates(t *testing.T) {
	cr := &Credentials{AccessKeyID: "AKIDELBOW", SecretAccessKey: "s3cret"}
	_, f, url := updatesConsole(t, Options{Credentials: cr})
	noCreds, _ := apiv1.NewClient(url, apiv1.ClientOptions{})
	_, err := noCreds.Deploy(t.Context(), apiv1.DeployRequest{VersionLabel: "v2"})
	if _, ok := errors.AsType[*apiv1.CredentialsRequiredError](err); !ok {
		t.Errorf("Deploy without credentials: %v, want CredentialsRequiredError", err)
	}
	withCreds, _ := apiv1.NewClient(url, apiv1.ClientOptions{Credentials: func() (string, string, bool) { return cr.AccessKeyID, cr.SecretAccessKey, true }})
	if _, err := withCreds.Deploy(t.Context(), apiv1.DeployRequest{VersionLabel: "v2"}); err != nil || len(f.deployed) != 1 {
		t.Errorf("Deploy with credentials: %v (deployed %+v)", err, f.deployed)
	}

	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	none, _ := apiv1.NewClient(srv.URL, apiv1.ClientOptions{})
	_, _, err = none.Status(t.Context())
	if ae, ok := errors.AsType[*apiv1.Error](err); !ok || ae.StatusCode != http.StatusServiceUnavailable || ae.Code != "UpdatesUnavailable" {
		t.Errorf("Status without Updates: %v, want 503 UpdatesUnavailable", err)
	}
}
