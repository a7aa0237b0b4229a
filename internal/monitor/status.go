package monitor

// Status is an Elastic Beanstalk health status, spelled as the API's
// HealthStatus enum (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-status.html,
// https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_DescribeEnvironmentHealth.html).
type Status string

const (
	StatusNoData    Status = "NoData"
	StatusUnknown   Status = "Unknown"
	StatusPending   Status = "Pending"
	StatusOk        Status = "Ok"
	StatusInfo      Status = "Info"
	StatusWarning   Status = "Warning"
	StatusDegraded  Status = "Degraded"
	StatusSevere    Status = "Severe"
	StatusSuspended Status = "Suspended"
)

// Color is the color Beanstalk shows for a status.
type Color string

const (
	Green  Color = "Green"
	Yellow Color = "Yellow"
	Red    Color = "Red"
	Grey   Color = "Grey"
)

// Color returns the status's color (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-status.html).
func (s Status) Color() Color {
	switch s {
	case StatusOk, StatusInfo:
		return Green
	case StatusWarning:
		return Yellow
	case StatusDegraded, StatusSevere:
		return Red
	}
	return Grey
}

// Name is the status as the console and events print it: "No Data" for
// NoData, the enum value otherwise.
func (s Status) Name() string {
	if s == StatusNoData {
		return "No Data"
	}
	return string(s)
}

// MetricValue is the value of the EnvironmentHealth and InstanceHealth
// CloudWatch metrics (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-cloudwatch.html): Ok 0, Info 1, Unknown 5,
// No data 10, Warning 15, Degraded 20, Severe 25. Pending and Suspended have
// no value in AWS's mapping; ok is false for them.
func (s Status) MetricValue() (value int, ok bool) {
	switch s {
	case StatusOk:
		return 0, true
	case StatusInfo:
		return 1, true
	case StatusUnknown:
		return 5, true
	case StatusNoData:
		return 10, true
	case StatusWarning:
		return 15, true
	case StatusDegraded:
		return 20, true
	case StatusSevere:
		return 25, true
	}
	return 0, false
}

// severity orders the statuses a rule can give, so that the worst cause
// decides. Grey statuses that are not about failures rank below Ok's
// problems but a rule never combines them with Warning and worse.
func (s Status) severity() int {
	switch s {
	case StatusOk:
		return 0
	case StatusInfo:
		return 1
	case StatusPending:
		return 2
	case StatusUnknown:
		return 3
	case StatusNoData:
		return 4
	case StatusWarning:
		return 5
	case StatusDegraded:
		return 6
	case StatusSevere:
		return 7
	case StatusSuspended:
		return 8
	}
	return 0
}

// worse reports whether s is a worse status than t.
func (s Status) worse(t Status) bool { return s.severity() > t.severity() }
