package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
)

// HealthCheckModifier changes a target group's health check at run time
// (and its deregistration delay when delay is not nil); the block it gets
// is already valid. *environment.Env's ModifyHealthCheck is one. An error
// wrapping ErrTargetGroupNotFound answers 404.
type HealthCheckModifier func(group string, hc config.HealthCheck, delay *int) error

// ErrTargetGroupNotFound is what a HealthCheckModifier wraps for a group it
// does not have (a reload may remove one between lookup and change).
var ErrTargetGroupNotFound = errors.New("target group not found")

// maxModifyBody bounds a PATCH body: the settings fit in a few hundred bytes.
const maxModifyBody = 64 << 10

// apiField maps the health_check block's keys, as config.ValidateHealthCheck
// names them, to the API's field names. The interval-versus-timeout rule
// concerns the block ("") and is shown beside the interval.
var apiField = map[string]string{
	"":                    "HealthCheckIntervalSeconds",
	"path":                "HealthCheckPath",
	"port":                "HealthCheckPort",
	"protocol":            "HealthCheckProtocol",
	"interval":            "HealthCheckIntervalSeconds",
	"timeout":             "HealthCheckTimeoutSeconds",
	"healthy_threshold":   "HealthyThresholdCount",
	"unhealthy_threshold": "UnhealthyThresholdCount",
	"matcher":             "Matcher",
}

// healthCheckBlock is the running group's health_check block, rebuilt from
// the checker's settings: the values a modification starts from.
func healthCheckBlock(s healthcheck.Settings) config.HealthCheck {
	port := "traffic-port"
	if s.Port != 0 {
		port = strconv.Itoa(s.Port)
	}
	return config.HealthCheck{
		Enabled: s.Enabled, Path: s.Path, Port: port, Protocol: string(s.Protocol),
		Interval: int(s.Interval / time.Second), Timeout: int(s.Timeout / time.Second),
		HealthyThreshold: s.HealthyThreshold, UnhealthyThreshold: s.UnhealthyThreshold,
		Matcher: s.Matcher.String(),
	}
}

// applyModification returns hc with the modification's fields set.
func applyModification(m apiv1.TargetGroupModification, hc config.HealthCheck) config.HealthCheck {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setInt := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	if m.HealthCheckEnabled != nil {
		hc.Enabled = *m.HealthCheckEnabled
	}
	set(&hc.Path, m.HealthCheckPath)
	set(&hc.Port, m.HealthCheckPort)
	set(&hc.Protocol, m.HealthCheckProtocol)
	setInt(&hc.Interval, m.HealthCheckIntervalSeconds)
	setInt(&hc.Timeout, m.HealthCheckTimeoutSeconds)
	setInt(&hc.HealthyThreshold, m.HealthyThresholdCount)
	setInt(&hc.UnhealthyThreshold, m.UnhealthyThresholdCount)
	if m.Matcher != nil {
		set(&hc.Matcher, m.Matcher.HttpCode)
		set(&hc.Matcher, m.Matcher.GrpcCode)
	}
	return hc
}

// matcherKind refuses the matcher that does not fit the group: HttpCode
// for a GRPC group, whose codes are gRPC codes, GrpcCode for the others.
func matcherKind(m apiv1.TargetGroupModification, protocolVersion string) []apiv1.FieldError {
	if m.Matcher == nil {
		return nil
	}
	grpc := protocolVersion == "GRPC"
	switch {
	case grpc && m.Matcher.HttpCode != nil:
		return []apiv1.FieldError{{Field: "Matcher", Message: "HttpCode does not apply to a target group with the protocol-version 'GRPC': give its gRPC codes as GrpcCode (0-99)"}}
	case !grpc && m.Matcher.GrpcCode != nil:
		return []apiv1.FieldError{{Field: "Matcher", Message: fmt.Sprintf("GrpcCode applies only to a target group with the protocol-version 'GRPC' (this one is '%s'): give HTTP codes as HttpCode (200-499)", protocolVersion)}}
	}
	return nil
}

// validate checks the merged block with the config file's rules and
// messages, and the delay with the file's range.
func validateModification(hc config.HealthCheck, delay *int, protocolVersion string) []apiv1.FieldError {
	var errs []apiv1.FieldError
	for _, fe := range config.ValidateHealthCheck(hc, protocolVersion) {
		errs = append(errs, apiv1.FieldError{Field: apiField[fe.Key], Message: fe.Msg})
	}
	// deregistration_delay.timeout_seconds: 0-3600, worded as the file's check.
	if delay != nil && (*delay < 0 || *delay > 3600) {
		errs = append(errs, apiv1.FieldError{Field: "DeregistrationDelay",
			Message: fmt.Sprintf("%d is out of range: must be between 0 and 3600 seconds", *delay)})
	}
	return errs
}

// errBodyTooLarge answers 413: the body exceeds maxModifyBody.
var errBodyTooLarge = fmt.Errorf("the body is larger than %d bytes: send only the settings to change", maxModifyBody)

// readModification reads the whole body, at most maxModifyBody bytes, before
// decoding: a decoder stops at the end of the first value, so a body whose
// excess follows a complete object would otherwise pass.
func readModification(w http.ResponseWriter, r *http.Request) (apiv1.TargetGroupModification, error) {
	if r.ContentLength > maxModifyBody {
		return apiv1.TargetGroupModification{}, errBodyTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxModifyBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return apiv1.TargetGroupModification{}, errBodyTooLarge
		}
		return apiv1.TargetGroupModification{}, fmt.Errorf("reading the body: %w", err)
	}
	return decodeModification(bytes.NewReader(body))
}

// decodeModification reads a strict JSON body: one object, known fields only.
func decodeModification(r io.Reader) (apiv1.TargetGroupModification, error) {
	var m apiv1.TargetGroupModification
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field == "":
			// The body itself is not an object; Go would name an empty field.
			return m, fmt.Errorf(`the body is a JSON %s: send a JSON object of the settings to change, such as {"HealthCheckPath": "/health"}`, typeErr.Value)
		case errors.As(err, &typeErr):
			return m, fmt.Errorf("field %s must be a JSON %s, not %s", typeErr.Field, jsonKind(typeErr.Type), typeErr.Value)
		case errors.Is(err, io.EOF):
			return m, errors.New("the body is empty: send a JSON object of the settings to change")
		}
		// Unknown fields: "json: unknown field \"Foo\"".
		return m, fmt.Errorf("the body is not a valid modification: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return m, errors.New("the body holds more than one JSON value")
	}
	return m, nil
}

// jsonKind names a Go type as JSON's kinds (RFC 8259 section 3), not Go's.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return t.Kind().String()
}

// modifyTargetGroup is PATCH /api/v1/target-groups/{name}: ModifyTargetGroup
// and the deregistration delay of ModifyTargetGroupAttributes, in one call.
func (c *Console) modifyTargetGroup(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r) {
		return
	}
	// A cross-site form can only send form or text content types without a
	// CORS preflight, which this console never grants: requiring JSON keeps
	// other sites' pages from changing the environment (CSRF).
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType",
			fmt.Sprintf("Content-Type %q is not accepted: send application/json", r.Header.Get("Content-Type")))
		return
	}
	if c.o.ModifyHealthCheck == nil {
		writeError(w, http.StatusServiceUnavailable, "ModificationUnavailable", "this console cannot change target groups")
		return
	}
	name := r.PathValue("name")
	g := c.group(name)
	if g == nil {
		writeError(w, http.StatusNotFound, "TargetGroupNotFound", fmt.Sprintf("One or more target groups not found: %q", name))
		return
	}
	m, err := readModification(w, r)
	if errors.Is(err, errBodyTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "ValidationError", err.Error())
		return
	}
	// One change at a time: two PATCHes merged onto the same settings would
	// otherwise undo each other's fields.
	c.modifyMu.Lock()
	defer c.modifyMu.Unlock()
	running := g.HealthCheck()
	before := healthCheckBlock(running)
	after := applyModification(m, before)
	errs := matcherKind(m, running.ProtocolVersion())
	if errs == nil {
		errs = validateModification(after, m.DeregistrationDelay, running.ProtocolVersion())
	}
	if len(errs) > 0 {
		lines := make([]string, len(errs))
		for i, e := range errs {
			lines[i] = e.Field + ": " + e.Message
		}
		writeJSON(w, http.StatusBadRequest, apiv1.ValidationErrorResponse{
			Error:  apiv1.ErrorDetail{Code: "ValidationError", Message: strings.Join(lines, "\n")},
			Errors: errs,
		})
		return
	}
	oldDelay, hasDelay := deregistrationDelay(g)
	if err := c.o.ModifyHealthCheck(name, after, m.DeregistrationDelay); err != nil {
		if errors.Is(err, ErrTargetGroupNotFound) {
			writeError(w, http.StatusNotFound, "TargetGroupNotFound", fmt.Sprintf("One or more target groups not found: %q", name))
			return
		}
		c.log.Error("modifying a target group", "target_group", name, "err", err)
		writeError(w, http.StatusInternalServerError, "InternalFailure", fmt.Sprintf("modifying target group %s: %v", name, err))
		return
	}
	changes := describeChanges(before, after)
	if m.DeregistrationDelay != nil && (!hasDelay || oldDelay != *m.DeregistrationDelay) {
		changes = append(changes, fmt.Sprintf("DeregistrationDelay %d s", *m.DeregistrationDelay))
	}
	msg := fmt.Sprintf("Target group %s modified: %s.", name, strings.Join(changes, ", "))
	if len(changes) == 0 {
		msg = fmt.Sprintf("Target group %s modified: no setting changed.", name)
	}
	c.log.Info("target group modified through the console", "target_group", name, "changes", strings.Join(changes, ", "))
	c.changes.add(monitor.Event{EventDate: time.Now(), EnvironmentName: c.environmentName(), Severity: "INFO", Message: msg})
	writeJSON(w, http.StatusOK, apiv1.TargetGroupsResponse{TargetGroups: []apiv1.TargetGroupDescription{describeGroup(g)}})
}

// deregistrationDelay reads the group's delay when it tells it
// (*targetgroup.Group does), in whole seconds.
func deregistrationDelay(g TargetGroup) (int, bool) {
	d, ok := g.(interface{ DeregistrationDelay() time.Duration })
	if !ok {
		return 0, false
	}
	return int(d.DeregistrationDelay() / time.Second), true
}

// describeChanges names each field that changed, as "Matcher 200 → 200-301".
func describeChanges(a, b config.HealthCheck) []string {
	var out []string
	add := func(field string, from, to any) {
		if from != to {
			out = append(out, fmt.Sprintf("%s %v → %v", field, from, to))
		}
	}
	add("HealthCheckEnabled", a.Enabled, b.Enabled)
	add("HealthCheckProtocol", a.Protocol, b.Protocol)
	add("HealthCheckPath", a.Path, b.Path)
	add("HealthCheckPort", a.Port, b.Port)
	add("HealthCheckIntervalSeconds", a.Interval, b.Interval)
	add("HealthCheckTimeoutSeconds", a.Timeout, b.Timeout)
	add("HealthyThresholdCount", a.HealthyThreshold, b.HealthyThreshold)
	add("UnhealthyThresholdCount", a.UnhealthyThreshold, b.UnhealthyThreshold)
	add("Matcher", a.Matcher, b.Matcher)
	return out
}

func (c *Console) environmentName() string {
	if c.o.Health == nil {
		return ""
	}
	return c.o.Health.EnvironmentHealth().EnvironmentName
}

// changeLog keeps the console's own events (modifications made through the
// API), which /api/v1/events lists with the monitor's.
type changeLog struct {
	mu     sync.Mutex
	events []monitor.Event // oldest first, at most maxChanges
}

const maxChanges = 100

func (l *changeLog) add(e monitor.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	if len(l.events) > maxChanges {
		l.events = slices.Delete(l.events, 0, len(l.events)-maxChanges)
	}
}

// since returns the events dated after t, oldest first.
func (l *changeLog) since(t time.Time) []monitor.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []monitor.Event
	for _, e := range l.events {
		if e.EventDate.After(t) {
			out = append(out, e)
		}
	}
	return out
}
