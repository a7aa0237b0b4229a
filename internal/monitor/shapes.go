package monitor

import "time"

// EnvironmentHealth is the DescribeEnvironmentHealth response
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_DescribeEnvironmentHealth.html), with AWS's field names.
type EnvironmentHealth struct {
	EnvironmentName string `json:"EnvironmentName"`
	HealthStatus    Status `json:"HealthStatus"`
	// Status is the environment's lifecycle status, such as Ready.
	Status             string                `json:"Status"`
	Color              Color                 `json:"Color"`
	Causes             []string              `json:"Causes"`
	ApplicationMetrics ApplicationMetrics    `json:"ApplicationMetrics"`
	InstancesHealth    InstanceHealthSummary `json:"InstancesHealth"`
	RefreshedAt        time.Time             `json:"RefreshedAt"`
	// EvaluationMetrics are the requests the causes were read from (elbow's,
	// not AWS's: see PeriodMetrics); nil before the first evaluation.
	EvaluationMetrics *PeriodMetrics `json:"EvaluationMetrics,omitempty"`
}

// ApplicationMetrics are the requests of the last 10 s window, as the API
// reports them: counts per window, not rates (the page calls them "per
// second" and "percentage"; its example, 843 + 3391 = 4234, is counts).
type ApplicationMetrics struct {
	// Duration of the window in seconds, normally 10.
	Duration     int         `json:"Duration"`
	RequestCount int         `json:"RequestCount"`
	StatusCodes  StatusCodes `json:"StatusCodes"`
	Latency      Latency     `json:"Latency"`
	// Codes counts each status code seen (0 for codes outside 100-599).
	// AWS has no such field; it is for elbow's console and metrics.
	Codes map[int]int `json:"-"`
}

// StatusCodes counts responses by class.
type StatusCodes struct {
	Status2xx int `json:"Status2xx"`
	Status3xx int `json:"Status3xx"`
	Status4xx int `json:"Status4xx"`
	Status5xx int `json:"Status5xx"`
}

// Latency percentiles in seconds, to the millisecond.
type Latency struct {
	P999 float64 `json:"P999"`
	P99  float64 `json:"P99"`
	P95  float64 `json:"P95"`
	P90  float64 `json:"P90"`
	P85  float64 `json:"P85"`
	P75  float64 `json:"P75"`
	P50  float64 `json:"P50"`
	P10  float64 `json:"P10"`
}

// InstanceHealthSummary counts the environment's instances by status.
type InstanceHealthSummary struct {
	NoData   int `json:"NoData"`
	Unknown  int `json:"Unknown"`
	Pending  int `json:"Pending"`
	Ok       int `json:"Ok"`
	Info     int `json:"Info"`
	Warning  int `json:"Warning"`
	Degraded int `json:"Degraded"`
	Severe   int `json:"Severe"`
}

func (s *InstanceHealthSummary) count(st Status) {
	switch st {
	case StatusNoData:
		s.NoData++
	case StatusUnknown:
		s.Unknown++
	case StatusPending:
		s.Pending++
	case StatusOk:
		s.Ok++
	case StatusInfo:
		s.Info++
	case StatusWarning:
		s.Warning++
	case StatusDegraded:
		s.Degraded++
	case StatusSevere:
		s.Severe++
	}
}

// InstancesHealth is the DescribeInstancesHealth response
// (https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_DescribeInstancesHealth.html).
type InstancesHealth struct {
	InstanceHealthList []SingleInstanceHealth `json:"InstanceHealthList"`
	RefreshedAt        time.Time              `json:"RefreshedAt"`
}

// SingleInstanceHealth is one instance of DescribeInstancesHealth.
// AvailabilityZone and InstanceType are not the monitor's to know; the
// console may fill them from the fleet.
type SingleInstanceHealth struct {
	InstanceId         string             `json:"InstanceId"` //nolint:revive // AWS's spelling.
	HealthStatus       Status             `json:"HealthStatus"`
	Color              Color              `json:"Color"`
	Causes             []string           `json:"Causes"`
	LaunchedAt         time.Time          `json:"LaunchedAt"`
	ApplicationMetrics ApplicationMetrics `json:"ApplicationMetrics"`
	System             *SystemStatus      `json:"System,omitempty"`
	AvailabilityZone   string             `json:"AvailabilityZone,omitempty"`
	InstanceType       string             `json:"InstanceType,omitempty"`
	// Deployment is the version the instance runs; nil when unknown (a
	// target that runs elsewhere).
	Deployment *Deployment `json:"Deployment,omitempty"`
	// EvaluationMetrics are the requests the causes were read from (elbow's,
	// not AWS's: see PeriodMetrics); nil before the first evaluation.
	EvaluationMetrics *PeriodMetrics `json:"EvaluationMetrics,omitempty"`
}

// SystemStatus is the System element: CPU over the last window and the load
// averages over 1, 5 and 15 minutes.
type SystemStatus struct {
	CPUUtilization CPUUtilization `json:"CPUUtilization"`
	LoadAverage    []float64      `json:"LoadAverage"`
}

// CPUUtilization in percent over the last window (API_CPUUtilization). For
// a process tree only User and System are measured; Idle is the rest of the
// machine's CPU; the other fields stay 0.
type CPUUtilization struct {
	User    float64 `json:"User"`
	Nice    float64 `json:"Nice"`
	System  float64 `json:"System"`
	Idle    float64 `json:"Idle"`
	IOWait  float64 `json:"IOWait"`
	IRQ     float64 `json:"IRQ"`
	SoftIRQ float64 `json:"SoftIRQ"`
}

// Event is one transition, in the shape of DescribeEvents'
// EventDescription, plus the instance it concerns and the statuses.
type Event struct {
	// Seq numbers events from 1, so that a reader can resume after the last
	// one it saw (EventsAfter).
	Seq             uint64    `json:"-"`
	EventDate       time.Time `json:"EventDate"`
	EnvironmentName string    `json:"EnvironmentName"`
	// InstanceId is empty for an environment event.
	InstanceId string `json:"InstanceId,omitempty"` //nolint:revive // AWS's spelling.
	// Severity: INFO for a transition to a better status, WARN to a worse one.
	Severity string `json:"Severity"`
	Message  string `json:"Message"`
	From     Status `json:"-"`
	To       Status `json:"-"`
}

func metricsOf(st *windowStats) ApplicationMetrics {
	var rc requestCounts
	rc.addCodes(&st.codes)
	m := ApplicationMetrics{
		Duration:     int((st.end.Sub(st.start) + time.Second/2) / time.Second),
		RequestCount: int(rc.total),
		StatusCodes: StatusCodes{
			Status2xx: int(rc.c2xx), Status3xx: int(rc.c3xx), Status4xx: int(rc.c4xx), Status5xx: int(rc.c5xx),
		},
		Latency: Latency{
			P999: st.latency.quantile(0.999), P99: st.latency.quantile(0.99), P95: st.latency.quantile(0.95),
			P90: st.latency.quantile(0.90), P85: st.latency.quantile(0.85), P75: st.latency.quantile(0.75),
			P50: st.latency.quantile(0.50), P10: st.latency.quantile(0.10),
		},
	}
	if rc.total > 0 {
		m.Codes = make(map[int]int)
		for slot, n := range st.codes {
			if n == 0 {
				continue
			}
			code := slot + firstCode
			if slot == otherSlot {
				code = 0
			}
			m.Codes[code] = int(n)
		}
	}
	return m
}
