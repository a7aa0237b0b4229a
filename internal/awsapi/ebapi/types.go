package ebapi

import (
	"time"

	"github.com/elbow-lb/elbow/internal/monitor"
)

// The result shapes, with the members of botocore's Elastic Beanstalk model
// (boto/botocore botocore/data/elasticbeanstalk/2010-12-01/service-2.json):
// lists are <Name><member>..</member></Name>, optional members omitted.

// isoTime is a timestamp as AWS writes one, to the millisecond in UTC
// (2015-08-20T21:09:18.000Z).
type isoTime time.Time

func (t isoTime) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z")), nil
}

func ts(t time.Time) *isoTime {
	if t.IsZero() {
		return nil
	}
	v := isoTime(t)
	return &v
}

type applicationsResult struct {
	Applications []applicationDescription `xml:"Applications>member"`
}

type applicationDescription struct {
	ApplicationArn  string   `xml:"ApplicationArn"`
	ApplicationName string   `xml:"ApplicationName"`
	Description     string   `xml:"Description,omitempty"`
	DateCreated     *isoTime `xml:"DateCreated,omitempty"`
	DateUpdated     *isoTime `xml:"DateUpdated,omitempty"`
	Versions        []string `xml:"Versions>member"`
}

type applicationVersionsResult struct {
	ApplicationVersions []applicationVersion `xml:"ApplicationVersions>member"`
}

// applicationVersionResult is CreateApplicationVersion's
// ApplicationVersionDescriptionMessage.
type applicationVersionResult struct {
	ApplicationVersion applicationVersion `xml:"ApplicationVersion"`
}

type applicationVersion struct {
	ApplicationVersionArn string   `xml:"ApplicationVersionArn"`
	ApplicationName       string   `xml:"ApplicationName"`
	Description           string   `xml:"Description,omitempty"`
	VersionLabel          string   `xml:"VersionLabel"`
	DateCreated           *isoTime `xml:"DateCreated,omitempty"`
	DateUpdated           *isoTime `xml:"DateUpdated,omitempty"`
	Status                string   `xml:"Status"`
}

type environmentsResult struct {
	Environments []environmentDescription `xml:"Environments>member"`
}

// environmentDescription is EnvironmentDescription; UpdateEnvironment
// answers its members directly.
type environmentDescription struct {
	EnvironmentName              string               `xml:"EnvironmentName"`
	EnvironmentId                string               `xml:"EnvironmentId"` //nolint:revive // AWS's spelling.
	ApplicationName              string               `xml:"ApplicationName"`
	VersionLabel                 string               `xml:"VersionLabel,omitempty"`
	SolutionStackName            string               `xml:"SolutionStackName,omitempty"`
	Description                  string               `xml:"Description,omitempty"`
	EndpointURL                  string               `xml:"EndpointURL,omitempty"`
	CNAME                        string               `xml:"CNAME,omitempty"`
	DateCreated                  *isoTime             `xml:"DateCreated,omitempty"`
	DateUpdated                  *isoTime             `xml:"DateUpdated,omitempty"`
	Status                       string               `xml:"Status"`
	AbortableOperationInProgress bool                 `xml:"AbortableOperationInProgress"`
	Health                       monitor.Color        `xml:"Health"`
	HealthStatus                 monitor.Status       `xml:"HealthStatus"`
	Resources                    *environmentResLinks `xml:"Resources,omitempty"`
	Tier                         tier                 `xml:"Tier"`
	EnvironmentArn               string               `xml:"EnvironmentArn"`
}

type environmentResLinks struct {
	LoadBalancer loadBalancerDescription `xml:"LoadBalancer"`
}

type loadBalancerDescription struct {
	LoadBalancerName string     `xml:"LoadBalancerName"`
	Domain           string     `xml:"Domain,omitempty"`
	Listeners        []listener `xml:"Listeners>member"`
}

type listener struct {
	Protocol string `xml:"Protocol"`
	Port     int    `xml:"Port"`
}

type tier struct {
	Name    string `xml:"Name"`
	Type    string `xml:"Type"`
	Version string `xml:"Version"`
}

type environmentResourcesResult struct {
	EnvironmentResources environmentResources `xml:"EnvironmentResources"`
}

type environmentResources struct {
	EnvironmentName   string    `xml:"EnvironmentName"`
	AutoScalingGroups []resName `xml:"AutoScalingGroups>member"`
	Instances         []resID   `xml:"Instances>member"`
	LoadBalancers     []resName `xml:"LoadBalancers>member"`
	// AWS always sends these lists; elbow has none of them.
	LaunchConfigurations struct{} `xml:"LaunchConfigurations"`
	LaunchTemplates      struct{} `xml:"LaunchTemplates"`
	Triggers             struct{} `xml:"Triggers"`
	Queues               struct{} `xml:"Queues"`
}

type resName struct {
	Name string `xml:"Name"`
}

type resID struct {
	Id string `xml:"Id"` //nolint:revive // AWS's spelling.
}

// environmentHealthResult is DescribeEnvironmentHealth's: only the
// attributes asked for are set.
type environmentHealthResult struct {
	EnvironmentName    string                         `xml:"EnvironmentName"`
	HealthStatus       monitor.Status                 `xml:"HealthStatus,omitempty"`
	Status             string                         `xml:"Status,omitempty"`
	Color              monitor.Color                  `xml:"Color,omitempty"`
	Causes             *causes                        `xml:"Causes,omitempty"`
	ApplicationMetrics *applicationMetrics            `xml:"ApplicationMetrics,omitempty"`
	InstancesHealth    *monitor.InstanceHealthSummary `xml:"InstancesHealth,omitempty"`
	RefreshedAt        *isoTime                       `xml:"RefreshedAt,omitempty"`
}

// causes is a list that is sent even when empty (<Causes/>), so that a
// client asking for Causes sees [] rather than nothing.
type causes struct {
	Member []string `xml:"member"`
}

type instancesHealthResult struct {
	InstanceHealthList []singleInstanceHealth `xml:"InstanceHealthList>member"`
	RefreshedAt        *isoTime               `xml:"RefreshedAt,omitempty"`
}

type singleInstanceHealth struct {
	InstanceId         string              `xml:"InstanceId"` //nolint:revive // AWS's spelling.
	HealthStatus       monitor.Status      `xml:"HealthStatus,omitempty"`
	Color              monitor.Color       `xml:"Color,omitempty"`
	Causes             *causes             `xml:"Causes,omitempty"`
	LaunchedAt         *isoTime            `xml:"LaunchedAt,omitempty"`
	ApplicationMetrics *applicationMetrics `xml:"ApplicationMetrics,omitempty"`
	System             *systemStatus       `xml:"System,omitempty"`
	Deployment         *deployment         `xml:"Deployment,omitempty"`
	AvailabilityZone   string              `xml:"AvailabilityZone,omitempty"`
	InstanceType       string              `xml:"InstanceType,omitempty"`
}

// applicationMetrics is monitor.ApplicationMetrics without elbow's
// per-code counts (a map, which AWS's shape does not have).
type applicationMetrics struct {
	Duration     int                 `xml:"Duration"`
	RequestCount int                 `xml:"RequestCount"`
	StatusCodes  monitor.StatusCodes `xml:"StatusCodes"`
	Latency      monitor.Latency     `xml:"Latency"`
}

func metricsOf(m monitor.ApplicationMetrics) *applicationMetrics {
	return &applicationMetrics{Duration: m.Duration, RequestCount: m.RequestCount, StatusCodes: m.StatusCodes, Latency: m.Latency}
}

type systemStatus struct {
	CPUUtilization monitor.CPUUtilization `xml:"CPUUtilization"`
	LoadAverage    []float64              `xml:"LoadAverage>member"`
}

type deployment struct {
	VersionLabel   string   `xml:"VersionLabel"`
	DeploymentId   int64    `xml:"DeploymentId"` //nolint:revive // AWS's spelling.
	Status         string   `xml:"Status"`
	DeploymentTime *isoTime `xml:"DeploymentTime,omitempty"`
}

type eventsResult struct {
	Events    []eventDescription `xml:"Events>member"`
	NextToken string             `xml:"NextToken,omitempty"`
}

type eventDescription struct {
	EventDate       *isoTime `xml:"EventDate"`
	Message         string   `xml:"Message"`
	ApplicationName string   `xml:"ApplicationName"`
	EnvironmentName string   `xml:"EnvironmentName"`
	Severity        string   `xml:"Severity"`
}

type configurationSettingsResult struct {
	ConfigurationSettings []configurationSettings `xml:"ConfigurationSettings>member"`
}

type configurationSettings struct {
	ApplicationName   string          `xml:"ApplicationName"`
	EnvironmentName   string          `xml:"EnvironmentName"`
	SolutionStackName string          `xml:"SolutionStackName,omitempty"`
	DeploymentStatus  string          `xml:"DeploymentStatus"`
	DateCreated       *isoTime        `xml:"DateCreated,omitempty"`
	DateUpdated       *isoTime        `xml:"DateUpdated,omitempty"`
	OptionSettings    []optionSetting `xml:"OptionSettings>member"`
}

type optionSetting struct {
	ResourceName string `xml:"ResourceName,omitempty"`
	Namespace    string `xml:"Namespace"`
	OptionName   string `xml:"OptionName"`
	Value        string `xml:"Value"`
}

type configurationOptionsResult struct {
	SolutionStackName string                `xml:"SolutionStackName,omitempty"`
	Options           []configurationOption `xml:"Options>member"`
}

type configurationOption struct {
	Namespace      string       `xml:"Namespace"`
	Name           string       `xml:"Name"`
	DefaultValue   string       `xml:"DefaultValue,omitempty"`
	ChangeSeverity string       `xml:"ChangeSeverity"`
	UserDefined    bool         `xml:"UserDefined"`
	ValueType      string       `xml:"ValueType"`
	ValueOptions   []string     `xml:"ValueOptions>member,omitempty"`
	MinValue       *int         `xml:"MinValue,omitempty"`
	MaxValue       *int         `xml:"MaxValue,omitempty"`
	Regex          *optionRegex `xml:"Regex,omitempty"`
}

type optionRegex struct {
	Pattern string `xml:"Pattern"`
	Label   string `xml:"Label"`
}

type environmentInfoResult struct {
	EnvironmentInfo []environmentInfo `xml:"EnvironmentInfo>member"`
}

type environmentInfo struct {
	InfoType        string   `xml:"InfoType"`
	Ec2InstanceId   string   `xml:"Ec2InstanceId"` //nolint:revive // AWS's spelling.
	SampleTimestamp *isoTime `xml:"SampleTimestamp"`
	Message         string   `xml:"Message"`
}
