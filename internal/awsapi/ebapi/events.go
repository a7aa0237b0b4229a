package ebapi

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/monitor"
)

// severities in increasing order (botocore's EventSeverity); Severity
// asks for "this severity or higher"
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_DescribeEvents.html).
var severities = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

// defaultMaxRecords: without MaxRecords AWS returns up to its event limit
// ("the most recent 1,000 events").
const defaultMaxRecords = 1000

// tokenPrefix marks elbow's NextToken: the sequence number of the next
// (older) event to return.
const tokenPrefix = "elbow-event-"

// describeEvents answers the monitor's kept events, newest first. Filters
// that name something else than the running environment answer nothing.
func (s *Service) describeEvents(p awsapi.Params) (any, error) {
	n := s.names()
	out := eventsResult{Events: []eventDescription{}}
	minSeverity := 0
	if sev := p.String("Severity"); sev != "" {
		minSeverity = slices.Index(severities, sev)
		if minSeverity < 0 {
			return nil, enumError(sev, "severity", severities)
		}
	}
	if err := maxRecords(p); err != nil {
		return nil, err
	}
	limit, ok, _ := p.Int("MaxRecords")
	if !ok {
		limit = defaultMaxRecords
	}
	start, err := timeParam(p, "StartTime")
	if err != nil {
		return nil, err
	}
	end, err := timeParam(p, "EndTime")
	if err != nil {
		return nil, err
	}
	var below uint64 // 0: from the newest
	if tok := p.String("NextToken"); tok != "" {
		seq, err := strconv.ParseUint(strings.TrimPrefix(tok, tokenPrefix), 10, 64)
		if !strings.HasPrefix(tok, tokenPrefix) || err != nil || seq == 0 {
			return nil, invalid("Invalid NextToken: '%s' is not a token this API returned.", tok)
		}
		below = seq + 1
	}
	if app := p.String("ApplicationName"); app != "" && app != n.app {
		return out, nil
	}
	if name := p.String("EnvironmentName"); name != "" && name != n.env {
		return out, nil
	}
	if id := p.String("EnvironmentId"); id != "" && id != n.id {
		return out, nil
	}
	if v := p.String("VersionLabel"); v != "" && v != s.versionLabel() {
		return out, nil
	}
	if p.String("TemplateName") != "" || p.String("PlatformArn") != "" || p.String("RequestId") != "" {
		return out, nil // elbow has no templates or platforms, and no event carries a request id
	}
	keep := func(e monitor.Event) bool {
		if below != 0 && e.Seq >= below {
			return false
		}
		if slices.Index(severities, e.Severity) < minSeverity {
			return false
		}
		if !start.IsZero() && e.EventDate.Before(start) {
			return false
		}
		// EndTime is exclusive: "events that occur up to, but not including".
		return end.IsZero() || e.EventDate.Before(end)
	}
	events := s.env.Monitor().EventsAfter(0)
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if !keep(e) {
			continue
		}
		if len(out.Events) == limit {
			out.NextToken = tokenPrefix + strconv.FormatUint(e.Seq, 10)
			break
		}
		out.Events = append(out.Events, eventDescription{
			EventDate: ts(e.EventDate), Message: e.Message, ApplicationName: n.app,
			EnvironmentName: e.EnvironmentName, Severity: e.Severity,
		})
	}
	return out, nil
}

// timeParam reads an ISO 8601 timestamp (the CLI and the SDKs send
// 2006-01-02T15:04:05Z or with milliseconds).
func timeParam(p awsapi.Params, name string) (time.Time, error) {
	v := p.String(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, invalid("Invalid %s: '%s' is not an ISO 8601 timestamp such as 2026-01-02T15:04:05Z.", name, v)
	}
	return t, nil
}
