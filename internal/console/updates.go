package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
)

// Updates are the environment's deployments and capacity: what `elbow
// deploy`, `abort`, `scale` and `status` reach through the console (and
// the Elastic Beanstalk API through ebapi). Errors wrapping
// ErrUpdateInProgress or ErrNoUpdate, or an *InvalidParameterError, are
// answered in AWS's words; any other error is 500 InternalFailure.
type Updates interface {
	// Deploy snapshots the project folder as version label ("" means
	// app-YYMMDD_HHMMSS) and starts deploying it; it returns once the
	// deployment has started. ctx bounds the snapshot only: the deployment
	// outlives the request.
	Deploy(ctx context.Context, label, description string) (apiv1.DeployResult, error)
	// Abort stops the update in progress (AbortEnvironmentUpdate).
	Abort() error
	// Scale sets the Auto Scaling group's desired capacity, within Min..Max.
	Scale(ctx context.Context, desired int) error
	// Status is the environment as `eb status` shows it. The console fills
	// Health and HealthStatus from enhanced health when left empty.
	Status() apiv1.EnvironmentStatus
	// Versions are the application versions, newest first.
	Versions() []apiv1.ApplicationVersion
}

// ErrUpdateInProgress refuses a deployment or a scaling while an update
// runs; answered 400 InvalidParameterValue "Environment named X is in an
// invalid state for this operation. Must be Ready." (Beanstalk's words).
var ErrUpdateInProgress = errors.New("an update is in progress")

// ErrNoUpdate refuses an abort when no update runs; answered as Beanstalk
// answers `eb abort` then: "... Must be pending deployment."
// (aws/aws-elastic-beanstalk-cli-setup issue 144).
var ErrNoUpdate = errors.New("no update is in progress")

// InvalidParameterError refuses a request whose parameter the environment
// cannot take (a label that exists, a capacity outside Min..Max); answered
// 400 InvalidParameterValue with Message as it is.
type InvalidParameterError struct{ Message string }

func (e *InvalidParameterError) Error() string { return e.Message }

// Message bounds of CreateApplicationVersion (botocore's model:
// VersionLabel 1-100, Description 0-200).
const (
	maxLabel       = 100
	maxDescription = 200
	maxUpdateBody  = 16 << 10
)

func (c *Console) updatesOr503(w http.ResponseWriter) Updates {
	if c.o.Updates == nil {
		writeError(w, http.StatusServiceUnavailable, "UpdatesUnavailable", "this environment cannot deploy or scale: its targets run elsewhere (instances.targets)")
	}
	return c.o.Updates
}

// updateError answers an error of Updates.
func (c *Console) updateError(w http.ResponseWriter, u Updates, what string, err error) {
	name := u.Status().EnvironmentName
	var ipe *InvalidParameterError
	switch {
	case errors.Is(err, ErrUpdateInProgress):
		writeError(w, http.StatusBadRequest, "InvalidParameterValue",
			fmt.Sprintf("Environment named %s is in an invalid state for this operation. Must be Ready.", name))
	case errors.Is(err, ErrNoUpdate):
		writeError(w, http.StatusBadRequest, "InvalidParameterValue",
			fmt.Sprintf("Environment named %s is in an invalid state for this operation. Must be pending deployment.", name))
	case errors.As(err, &ipe):
		writeError(w, http.StatusBadRequest, "InvalidParameterValue", ipe.Message)
	default:
		c.log.Error(what, "err", err)
		writeError(w, http.StatusInternalServerError, "InternalFailure", fmt.Sprintf("%s: %v", what, err))
	}
}

// readJSON reads a strict JSON body into v: application/json only (a
// cross-site form cannot send it without a preflight this console never
// grants), one object, known fields only, at most maxUpdateBody bytes.
// It answers the refusal itself and reports false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType",
			fmt.Sprintf("Content-Type %q is not accepted: send application/json", r.Header.Get("Content-Type")))
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpdateBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprintf("the body is larger than %d bytes", maxUpdateBody))
			return false
		}
		writeError(w, http.StatusBadRequest, "ValidationError", "reading the body: "+err.Error())
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := "the body is not valid: " + strings.TrimPrefix(err.Error(), "json: ")
		if errors.Is(err, io.EOF) {
			msg = "the body is empty: send a JSON object"
		}
		writeError(w, http.StatusBadRequest, "ValidationError", msg)
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "ValidationError", "the body holds more than one JSON value")
		return false
	}
	return true
}

// lengthError is AWS's ValidationError for a string over its length.
func lengthError(w http.ResponseWriter, value, field string, limit int) {
	writeError(w, http.StatusBadRequest, "ValidationError",
		fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", value, field, limit))
}

// deploy is POST /api/v1/deployments: CreateApplicationVersion of the
// project folder, then UpdateEnvironment with its label; 202 once started.
func (c *Console) deploy(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r) {
		return
	}
	u := c.updatesOr503(w)
	if u == nil {
		return
	}
	var req apiv1.DeployRequest
	if !readJSON(w, r, &req) {
		return
	}
	if utf8.RuneCountInString(req.VersionLabel) > maxLabel {
		lengthError(w, req.VersionLabel, "versionLabel", maxLabel)
		return
	}
	if utf8.RuneCountInString(req.Description) > maxDescription {
		lengthError(w, req.Description, "description", maxDescription)
		return
	}
	res, err := u.Deploy(r.Context(), req.VersionLabel, req.Description)
	if err != nil {
		c.updateError(w, u, "deploying", err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

// abort is POST /api/v1/environment/abort (AbortEnvironmentUpdate).
func (c *Console) abort(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r) {
		return
	}
	u := c.updatesOr503(w)
	if u == nil {
		return
	}
	var req struct{}
	if !readJSON(w, r, &req) {
		return
	}
	if err := u.Abort(); err != nil {
		c.updateError(w, u, "aborting the update", err)
		return
	}
	writeJSON(w, http.StatusOK, c.status(u))
}

// capacity is PUT /api/v1/environment/capacity.
func (c *Console) capacity(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r) {
		return
	}
	u := c.updatesOr503(w)
	if u == nil {
		return
	}
	var req apiv1.CapacityRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.DesiredCapacity == nil {
		writeError(w, http.StatusBadRequest, "MissingParameter", "DesiredCapacity must be specified.")
		return
	}
	if *req.DesiredCapacity < 0 {
		writeError(w, http.StatusBadRequest, "ValidationError",
			fmt.Sprintf("1 validation error detected: Value '%d' at 'desiredCapacity' failed to satisfy constraint: Member must have value greater than or equal to 0", *req.DesiredCapacity))
		return
	}
	if err := u.Scale(r.Context(), *req.DesiredCapacity); err != nil {
		c.updateError(w, u, "setting the desired capacity", err)
		return
	}
	writeJSON(w, http.StatusOK, c.status(u))
}

// statusHandler is GET /api/v1/status.
func (c *Console) statusHandler(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r) {
		return
	}
	u := c.updatesOr503(w)
	if u == nil {
		return
	}
	writeJSON(w, http.StatusOK, c.status(u))
}

func (c *Console) status(u Updates) apiv1.EnvironmentStatus {
	s := u.Status()
	if (s.Health == "" || s.HealthStatus == "") && c.o.Health != nil {
		h := c.o.Health.EnvironmentHealth()
		if s.Health == "" {
			s.Health = string(h.Color)
		}
		if s.HealthStatus == "" {
			s.HealthStatus = string(h.HealthStatus)
		}
		if s.Status == "" {
			s.Status = h.Status
		}
	}
	return s
}

// versions is GET /api/v1/application-versions.
func (c *Console) versions(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r) {
		return
	}
	u := c.updatesOr503(w)
	if u == nil {
		return
	}
	out := apiv1.ApplicationVersionsResponse{ApplicationVersions: u.Versions()}
	if out.ApplicationVersions == nil {
		out.ApplicationVersions = []apiv1.ApplicationVersion{}
	}
	writeJSON(w, http.StatusOK, out)
}
