package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
)

// ErrorResponse is the body of every error, in AWS's JSON style.
type ErrorResponse struct {
	Error ErrorDetail `json:"Error"`
}

// ErrorDetail names the error and says what went wrong.
type ErrorDetail struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// TargetGroupsResponse is the answer of /api/v1/target-groups.
type TargetGroupsResponse struct {
	TargetGroups []TargetGroupDescription `json:"TargetGroups"`
}

// TargetGroupDescription is one target group as DescribeTargetGroups names
// its fields, plus the counts of healthy and unhealthy targets (the ALB's
// HealthyHostCount and UnHealthyHostCount metrics).
type TargetGroupDescription struct {
	TargetGroupName            string  `json:"TargetGroupName"`
	Protocol                   string  `json:"Protocol"`
	Port                       int     `json:"Port"`
	HealthCheckEnabled         bool    `json:"HealthCheckEnabled"`
	HealthCheckProtocol        string  `json:"HealthCheckProtocol"`
	HealthCheckPort            string  `json:"HealthCheckPort"`
	HealthCheckPath            string  `json:"HealthCheckPath"`
	HealthCheckIntervalSeconds int     `json:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int     `json:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int     `json:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int     `json:"UnhealthyThresholdCount"`
	Matcher                    Matcher `json:"Matcher"`
	HealthyHostCount           int     `json:"HealthyHostCount"`
	UnhealthyHostCount         int     `json:"UnhealthyHostCount"`
	// DeregistrationDelay in seconds (the deregistration_delay.timeout_seconds
	// attribute), when the group tells it.
	DeregistrationDelay *int `json:"DeregistrationDelay,omitempty"`
}

// Matcher is the success codes of the health check.
type Matcher struct {
	HttpCode string `json:"HttpCode"` //nolint:revive // AWS's spelling.
}

// TargetHealthResponse is the answer of /api/v1/target-groups/{name}/targets.
type TargetHealthResponse struct {
	TargetHealthDescriptions []TargetHealthDescription `json:"TargetHealthDescriptions"`
}

// TargetHealthDescription is one target of DescribeTargetHealth, plus the
// Diagnosis of an unhealthy target when a Diagnoser gave one.
type TargetHealthDescription struct {
	Target          healthcheck.Target       `json:"Target"`
	HealthCheckPort string                   `json:"HealthCheckPort"`
	TargetHealth    healthcheck.TargetHealth `json:"TargetHealth"`
	Diagnosis       any                      `json:"Diagnosis,omitempty"`
}

// EventsResponse is the answer of /api/v1/events, newest first as
// DescribeEvents orders them.
type EventsResponse struct {
	Events []monitor.Event `json:"Events"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		// Only a Diagnosis can fail to encode; the shapes above cannot.
		status = http.StatusInternalServerError
		body, _ = json.Marshal(ErrorResponse{ErrorDetail{"InternalFailure", "encoding the response: " + err.Error()}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, ErrorResponse{ErrorDetail{Code: code, Message: message}})
}

// checkParams refuses query parameters the route does not know, so that a
// misspelt one is not silently ignored.
func checkParams(w http.ResponseWriter, r *http.Request, known ...string) bool {
	for name := range r.URL.Query() {
		if !slices.Contains(known, name) {
			writeError(w, http.StatusBadRequest, "InvalidParameterValue",
				fmt.Sprintf("unknown parameter %q for %s", name, r.URL.Path))
			return false
		}
	}
	return true
}

func (c *Console) healthOr503(w http.ResponseWriter) Health {
	if c.o.Health == nil {
		writeError(w, http.StatusServiceUnavailable, "HealthUnavailable", "enhanced health is not available in this environment")
	}
	return c.o.Health
}

func (c *Console) environment(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r) {
		return
	}
	h := c.healthOr503(w)
	if h == nil {
		return
	}
	env := h.EnvironmentHealth()
	if env.Causes == nil {
		env.Causes = []string{}
	}
	writeJSON(w, http.StatusOK, env)
}

func (c *Console) instances(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r) {
		return
	}
	h := c.healthOr503(w)
	if h == nil {
		return
	}
	ih := h.InstancesHealth()
	if ih.InstanceHealthList == nil {
		ih.InstanceHealthList = []monitor.SingleInstanceHealth{}
	}
	for i := range ih.InstanceHealthList {
		in := &ih.InstanceHealthList[i]
		if in.Causes == nil {
			in.Causes = []string{}
		}
		if c.o.Instance == nil {
			continue
		}
		if info, ok := c.o.Instance(in.InstanceId); ok {
			if in.InstanceType == "" {
				in.InstanceType = info.InstanceType
			}
			if in.AvailabilityZone == "" {
				in.AvailabilityZone = info.AvailabilityZone
			}
		}
	}
	writeJSON(w, http.StatusOK, ih)
}

func describeGroup(g TargetGroup) TargetGroupDescription {
	s := g.HealthCheck()
	port := "traffic-port"
	if s.Port != 0 {
		port = strconv.Itoa(s.Port)
	}
	d := TargetGroupDescription{
		TargetGroupName: g.Name(), Protocol: g.Protocol(), Port: g.Port(),
		HealthCheckEnabled: s.Enabled, HealthCheckProtocol: string(s.Protocol), HealthCheckPort: port,
		HealthCheckPath:            s.Path,
		HealthCheckIntervalSeconds: int(s.Interval / time.Second), HealthCheckTimeoutSeconds: int(s.Timeout / time.Second),
		HealthyThresholdCount: s.HealthyThreshold, UnhealthyThresholdCount: s.UnhealthyThreshold,
		Matcher: Matcher{HttpCode: s.Matcher.String()},
	}
	if delay, ok := deregistrationDelay(g); ok {
		d.DeregistrationDelay = &delay
	}
	for _, t := range g.Describe() {
		switch t.TargetHealth.State {
		case healthcheck.StateHealthy:
			d.HealthyHostCount++
		case healthcheck.StateUnhealthy:
			d.UnhealthyHostCount++
		}
	}
	return d
}

func (c *Console) targetGroups(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r) {
		return
	}
	out := TargetGroupsResponse{TargetGroups: []TargetGroupDescription{}}
	for _, g := range c.o.TargetGroups() {
		out.TargetGroups = append(out.TargetGroups, describeGroup(g))
	}
	writeJSON(w, http.StatusOK, out)
}

// targetGroup is GET /api/v1/target-groups/{name}: one group, in the shape
// of the list.
func (c *Console) targetGroup(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r) {
		return
	}
	name := r.PathValue("name")
	g := c.group(name)
	if g == nil {
		writeError(w, http.StatusNotFound, "TargetGroupNotFound", fmt.Sprintf("One or more target groups not found: %q", name))
		return
	}
	writeJSON(w, http.StatusOK, TargetGroupsResponse{TargetGroups: []TargetGroupDescription{describeGroup(g)}})
}

func (c *Console) group(name string) TargetGroup {
	for _, g := range c.o.TargetGroups() {
		if g.Name() == name {
			return g
		}
	}
	return nil
}

func (c *Console) targets(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r) {
		return
	}
	name := r.PathValue("name")
	g := c.group(name)
	if g == nil {
		writeError(w, http.StatusNotFound, "TargetGroupNotFound",
			fmt.Sprintf("One or more target groups not found: %q", name))
		return
	}
	out := TargetHealthResponse{TargetHealthDescriptions: []TargetHealthDescription{}}
	for _, t := range g.Describe() {
		d := TargetHealthDescription{Target: t.Target, HealthCheckPort: t.HealthCheckPort, TargetHealth: t.TargetHealth}
		if c.o.Diagnose != nil && t.TargetHealth.State == healthcheck.StateUnhealthy {
			d.Diagnosis = c.o.Diagnose(r.Context(), name, t.Target, t.TargetHealth)
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, d)
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r, "since") {
		return
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "InvalidParameterValue",
				fmt.Sprintf("parameter since %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", v))
			return
		}
		since = t
	}
	h := c.healthOr503(w)
	if h == nil {
		return
	}
	// The monitor's transitions and the console's own changes, newest first.
	events := append(slices.Clone(h.Events(since)), c.changes.since(since)...)
	slices.Reverse(events) // equal dates keep the latest first
	slices.SortStableFunc(events, func(a, b monitor.Event) int { return b.EventDate.Compare(a.EventDate) })
	if events == nil {
		events = []monitor.Event{}
	}
	writeJSON(w, http.StatusOK, EventsResponse{Events: events})
}
