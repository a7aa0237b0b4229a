package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		// Only a Diagnosis can fail to encode; the shapes above cannot.
		status = http.StatusInternalServerError
		body, _ = json.Marshal(apiv1.ErrorResponse{Error: apiv1.ErrorDetail{Code: "InternalFailure", Message: "encoding the response: " + err.Error()}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, apiv1.ErrorResponse{Error: apiv1.ErrorDetail{Code: code, Message: message}})
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

func describeGroup(g TargetGroup) apiv1.TargetGroupDescription {
	s := g.HealthCheck()
	port := "traffic-port"
	if s.Port != 0 {
		port = strconv.Itoa(s.Port)
	}
	d := apiv1.TargetGroupDescription{
		TargetGroupName: g.Name(), Protocol: g.Protocol(), Port: g.Port(),
		HealthCheckEnabled: s.Enabled, HealthCheckProtocol: string(s.Protocol), HealthCheckPort: port,
		HealthCheckPath:            s.Path,
		HealthCheckIntervalSeconds: int(s.Interval / time.Second), HealthCheckTimeoutSeconds: int(s.Timeout / time.Second),
		HealthyThresholdCount: s.HealthyThreshold, UnhealthyThresholdCount: s.UnhealthyThreshold,
	}
	if s.GRPC {
		d.Matcher.GrpcCode = s.Matcher.String()
	} else {
		d.Matcher.HttpCode = s.Matcher.String()
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
	out := apiv1.TargetGroupsResponse{TargetGroups: []apiv1.TargetGroupDescription{}}
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
	writeJSON(w, http.StatusOK, apiv1.TargetGroupsResponse{TargetGroups: []apiv1.TargetGroupDescription{describeGroup(g)}})
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
	out := apiv1.TargetHealthResponse{TargetHealthDescriptions: []apiv1.TargetHealthDescription{}}
	for _, t := range g.Describe() {
		d := apiv1.TargetHealthDescription{Target: t.Target, HealthCheckPort: t.HealthCheckPort, TargetHealth: t.TargetHealth}
		if t.Target.IP != t.Target.ID {
			d.PrivateIpAddress = t.Target.IP
		}
		if c.o.Diagnose != nil && t.TargetHealth.State == healthcheck.StateUnhealthy {
			if diag, ok := c.o.Diagnose(r.Context(), name, t.Target, t.TargetHealth); ok {
				d.Diagnosis = &diag
			}
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
	writeJSON(w, http.StatusOK, apiv1.EventsResponse{Events: events})
}
