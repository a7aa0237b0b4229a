package elbv2api

// The answers' shapes, named and nested as the ELBv2 API model names them
// (botocore elbv2/2015-12-01/service-2.json); encoding/xml writes lists as
// <Name><member>...</member></Name>, as the Query protocol does.

type loadBalancer struct {
	LoadBalancerArn       string             `xml:"LoadBalancerArn"`
	DNSName               string             `xml:"DNSName"`
	CreatedTime           string             `xml:"CreatedTime"`
	LoadBalancerName      string             `xml:"LoadBalancerName"`
	Scheme                string             `xml:"Scheme"`
	VpcID                 string             `xml:"VpcId"`
	State                 lbState            `xml:"State"`
	Type                  string             `xml:"Type"`
	AvailabilityZones     []availabilityZone `xml:"AvailabilityZones>member"`
	IPAddressType         string             `xml:"IpAddressType"`
	CanonicalHostedZoneID string             `xml:"CanonicalHostedZoneId,omitempty"`
}

type lbState struct {
	Code string `xml:"Code"`
}

type availabilityZone struct {
	ZoneName string `xml:"ZoneName"`
	SubnetID string `xml:"SubnetId"`
}

type attribute struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type attributesResult struct {
	Attributes []attribute `xml:"Attributes>member"`
}

type listener struct {
	ListenerArn     string   `xml:"ListenerArn"`
	LoadBalancerArn string   `xml:"LoadBalancerArn"`
	Port            int      `xml:"Port"`
	Protocol        string   `xml:"Protocol"`
	DefaultActions  []action `xml:"DefaultActions>member"`
}

type action struct {
	Type                string               `xml:"Type"`
	Order               int                  `xml:"Order,omitempty"`
	TargetGroupArn      string               `xml:"TargetGroupArn,omitempty"`
	ForwardConfig       *forwardConfig       `xml:"ForwardConfig,omitempty"`
	RedirectConfig      *redirectConfig      `xml:"RedirectConfig,omitempty"`
	FixedResponseConfig *fixedResponseConfig `xml:"FixedResponseConfig,omitempty"`
}

type forwardConfig struct {
	TargetGroups []weightedTargetGroup `xml:"TargetGroups>member"`
}

type weightedTargetGroup struct {
	TargetGroupArn string `xml:"TargetGroupArn"`
	Weight         int    `xml:"Weight"`
}

type redirectConfig struct {
	Protocol   string `xml:"Protocol,omitempty"`
	Port       string `xml:"Port,omitempty"`
	Host       string `xml:"Host,omitempty"`
	Path       string `xml:"Path,omitempty"`
	Query      string `xml:"Query,omitempty"`
	StatusCode string `xml:"StatusCode"`
}

type fixedResponseConfig struct {
	MessageBody string `xml:"MessageBody,omitempty"`
	StatusCode  string `xml:"StatusCode"`
	ContentType string `xml:"ContentType,omitempty"`
}

type rule struct {
	RuleArn    string          `xml:"RuleArn"`
	Priority   string          `xml:"Priority"`
	Conditions []ruleCondition `xml:"Conditions>member"`
	Actions    []action        `xml:"Actions>member"`
	IsDefault  bool            `xml:"IsDefault"`
}

type ruleCondition struct {
	Field                   string             `xml:"Field"`
	Values                  []string           `xml:"Values>member,omitempty"`
	HostHeaderConfig        *valuesConfig      `xml:"HostHeaderConfig,omitempty"`
	PathPatternConfig       *valuesConfig      `xml:"PathPatternConfig,omitempty"`
	HTTPRequestMethodConfig *valuesConfig      `xml:"HttpRequestMethodConfig,omitempty"`
	SourceIPConfig          *valuesConfig      `xml:"SourceIpConfig,omitempty"`
	HTTPHeaderConfig        *httpHeaderConfig  `xml:"HttpHeaderConfig,omitempty"`
	QueryStringConfig       *queryStringConfig `xml:"QueryStringConfig,omitempty"`
}

type valuesConfig struct {
	Values []string `xml:"Values>member"`
}

type httpHeaderConfig struct {
	HTTPHeaderName string   `xml:"HttpHeaderName"`
	Values         []string `xml:"Values>member"`
}

type queryStringConfig struct {
	Values []keyValue `xml:"Values>member"`
}

type keyValue struct {
	Key   string `xml:"Key,omitempty"`
	Value string `xml:"Value"`
}

type targetGroup struct {
	TargetGroupArn             string   `xml:"TargetGroupArn"`
	TargetGroupName            string   `xml:"TargetGroupName"`
	Protocol                   string   `xml:"Protocol"`
	Port                       int      `xml:"Port"`
	VpcID                      string   `xml:"VpcId"`
	HealthCheckProtocol        string   `xml:"HealthCheckProtocol"`
	HealthCheckPort            string   `xml:"HealthCheckPort"`
	HealthCheckEnabled         bool     `xml:"HealthCheckEnabled"`
	HealthCheckIntervalSeconds int      `xml:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int      `xml:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int      `xml:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int      `xml:"UnhealthyThresholdCount"`
	HealthCheckPath            string   `xml:"HealthCheckPath"`
	Matcher                    matcher  `xml:"Matcher"`
	LoadBalancerArns           []string `xml:"LoadBalancerArns>member"`
	TargetType                 string   `xml:"TargetType"`
	ProtocolVersion            string   `xml:"ProtocolVersion"`
	IPAddressType              string   `xml:"IpAddressType"`
}

// matcher is Matcher: HttpCode, or GrpcCode for a GRPC target group.
type matcher struct {
	HTTPCode string `xml:"HttpCode,omitempty"`
	GRPCCode string `xml:"GrpcCode,omitempty"`
}

type targetGroupsResult struct {
	TargetGroups []targetGroup `xml:"TargetGroups>member"`
}

type targetDescription struct {
	ID               string `xml:"Id"`
	Port             int    `xml:"Port,omitempty"`
	AvailabilityZone string `xml:"AvailabilityZone,omitempty"`
}

type targetHealth struct {
	State       string `xml:"State"`
	Reason      string `xml:"Reason,omitempty"`
	Description string `xml:"Description,omitempty"`
}

type targetHealthDescription struct {
	Target          targetDescription `xml:"Target"`
	HealthCheckPort string            `xml:"HealthCheckPort,omitempty"`
	TargetHealth    targetHealth      `xml:"TargetHealth"`
}

type tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value,omitempty"`
}

type tagDescription struct {
	ResourceArn string `xml:"ResourceArn"`
	Tags        []tag  `xml:"Tags>member"`
}
