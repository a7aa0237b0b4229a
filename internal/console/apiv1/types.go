package apiv1

import (
	"time"

	"github.com/elbow-lb/elbow/internal/diagnose"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
)

// DefaultAddr is where the console listens unless told otherwise: loopback only.
const DefaultAddr = "127.0.0.1:8099"

// DefaultURL is the console's base URL at DefaultAddr.
const DefaultURL = "http://" + DefaultAddr

// ErrorResponse is the body of every error, in AWS's JSON style.
type ErrorResponse struct {
	Error ErrorDetail `json:"Error"`
}

// ErrorDetail names the error and says what went wrong.
type ErrorDetail struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// TargetGroupsResponse is the answer of /api/v1/target-groups, of
// /api/v1/target-groups/{name} and of its PATCH.
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

// Matcher is the success codes of the health check: HTTP codes, or the
// gRPC codes of a GRPC target group, as the ELBv2 API's Matcher.
type Matcher struct {
	HttpCode string `json:"HttpCode,omitempty"` //nolint:revive // AWS's spelling.
	GrpcCode string `json:"GrpcCode,omitempty"`
}

// TargetHealthResponse is the answer of /api/v1/target-groups/{name}/targets.
type TargetHealthResponse struct {
	TargetHealthDescriptions []TargetHealthDescription `json:"TargetHealthDescriptions"`
}

// TargetHealthDescription is one target of DescribeTargetHealth, plus the
// Diagnosis of an unhealthy target when there is one.
type TargetHealthDescription struct {
	Target          healthcheck.Target       `json:"Target"`
	HealthCheckPort string                   `json:"HealthCheckPort"`
	TargetHealth    healthcheck.TargetHealth `json:"TargetHealth"`
	// PrivateIpAddress is the instance's private IP when the target is an
	// instance (Id i-...): elbow's addition, named as in EC2's
	// DescribeInstances, since DescribeTargetHealth names instances by Id only.
	PrivateIpAddress string              `json:"PrivateIpAddress,omitempty"` //nolint:revive // AWS's spelling
	Diagnosis        *diagnose.Diagnosis `json:"Diagnosis,omitempty"`
}

// EventsResponse is the answer of /api/v1/events, newest first as
// DescribeEvents orders them.
type EventsResponse struct {
	Events []monitor.Event `json:"Events"`
}

// TargetGroupModification is the body of PATCH /api/v1/target-groups/{name},
// with ModifyTargetGroup's names; an absent (or null) field keeps its value.
// DeregistrationDelay is the deregistration_delay.timeout_seconds attribute.
type TargetGroupModification struct {
	HealthCheckEnabled         *bool          `json:"HealthCheckEnabled,omitempty"`
	HealthCheckPath            *string        `json:"HealthCheckPath,omitempty"`
	HealthCheckPort            *string        `json:"HealthCheckPort,omitempty"`
	HealthCheckProtocol        *string        `json:"HealthCheckProtocol,omitempty"`
	HealthCheckIntervalSeconds *int           `json:"HealthCheckIntervalSeconds,omitempty"`
	HealthCheckTimeoutSeconds  *int           `json:"HealthCheckTimeoutSeconds,omitempty"`
	HealthyThresholdCount      *int           `json:"HealthyThresholdCount,omitempty"`
	UnhealthyThresholdCount    *int           `json:"UnhealthyThresholdCount,omitempty"`
	Matcher                    *MatcherChange `json:"Matcher,omitempty"`
	DeregistrationDelay        *int           `json:"DeregistrationDelay,omitempty"`
}

// MatcherChange is the Matcher of a modification: HttpCode, or GrpcCode
// for a GRPC target group.
type MatcherChange struct {
	HttpCode *string `json:"HttpCode,omitempty"` //nolint:revive // AWS's spelling.
	GrpcCode *string `json:"GrpcCode,omitempty"`
}

// ValidationErrorResponse is the 400 answer to an invalid modification: the
// AWS error, whose Message lists every problem, one per line, and the same
// problems by field, so that a form can show each beside its input.
type ValidationErrorResponse struct {
	Error  ErrorDetail  `json:"Error"`
	Errors []FieldError `json:"Errors"`
}

// FieldError is one problem with one field of a modification.
type FieldError struct {
	// Field is the body's field name, such as HealthCheckIntervalSeconds.
	Field   string `json:"Field"`
	Message string `json:"Message"`
}

// HistoryPoint is the environment's requests and latency over one window.
type HistoryPoint struct {
	Time         time.Time           `json:"Time"`
	RequestCount int                 `json:"RequestCount"`
	StatusCodes  monitor.StatusCodes `json:"StatusCodes"`
	// P99 and P50 are latencies in seconds.
	P99          float64        `json:"P99"`
	P50          float64        `json:"P50"`
	HealthStatus monitor.Status `json:"HealthStatus"`
}

// HistoryResponse is the answer of /api/v1/history, oldest point first.
type HistoryResponse struct {
	IntervalSeconds int            `json:"IntervalSeconds"`
	Points          []HistoryPoint `json:"Points"`
}

// InstanceLog is the answer of /api/v1/instances/{id}/log: the tail of one
// instance's output (stdout and stderr, interleaved as written).
type InstanceLog struct {
	InstanceId string   `json:"InstanceId"` //nolint:revive // AWS's spelling.
	Lines      []string `json:"Lines"`
	// LogFile holds the instance's whole output.
	LogFile string `json:"LogFile,omitempty"`
}
