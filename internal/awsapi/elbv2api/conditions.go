package elbv2api

import (
	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/config"
)

// conditionOf is a rule condition as the API shows it: Field and the
// field's config; host-header and path-pattern also carry the legacy
// Values, as AWS answers (ELBv2 API reference, RuleCondition).
func conditionOf(cd config.Condition) ruleCondition {
	switch {
	case len(cd.HostHeader) > 0:
		return ruleCondition{Field: "host-header", Values: cd.HostHeader, HostHeaderConfig: &valuesConfig{cd.HostHeader}}
	case len(cd.PathPattern) > 0:
		return ruleCondition{Field: "path-pattern", Values: cd.PathPattern, PathPatternConfig: &valuesConfig{cd.PathPattern}}
	case len(cd.HTTPRequestMethod) > 0:
		return ruleCondition{Field: "http-request-method", HTTPRequestMethodConfig: &valuesConfig{cd.HTTPRequestMethod}}
	case cd.HTTPHeader != nil:
		return ruleCondition{Field: "http-header", HTTPHeaderConfig: &httpHeaderConfig{cd.HTTPHeader.HTTPHeaderName, cd.HTTPHeader.Values}}
	case len(cd.QueryString) > 0:
		q := &queryStringConfig{}
		for _, kv := range cd.QueryString {
			q.Values = append(q.Values, keyValue{kv.Key, kv.Value})
		}
		return ruleCondition{Field: "query-string", QueryStringConfig: q}
	case len(cd.SourceIP) > 0:
		return ruleCondition{Field: "source-ip", SourceIPConfig: &valuesConfig{cd.SourceIP}}
	}
	return ruleCondition{}
}

// conditionsFrom reads a Conditions list; the config's validation then
// checks the values with elbow validate's rules.
func conditionsFrom(ps []awsapi.Params) ([]config.Condition, error) {
	if len(ps) == 0 {
		return nil, awsapi.Validation("A rule must have at least one condition")
	}
	out := make([]config.Condition, 0, len(ps))
	for _, p := range ps {
		// The field's config, else the legacy Values (host-header and path-pattern).
		values := func(cfg string) []string {
			if p.Has(cfg + ".Values") {
				return p.Struct(cfg).List("Values")
			}
			return p.List("Values")
		}
		var cd config.Condition
		switch f := p.String("Field"); f {
		case "host-header":
			cd.HostHeader = values("HostHeaderConfig")
		case "path-pattern":
			cd.PathPattern = values("PathPatternConfig")
		case "http-request-method":
			cd.HTTPRequestMethod = values("HttpRequestMethodConfig")
		case "source-ip":
			cd.SourceIP = values("SourceIpConfig")
		case "http-header":
			h := p.Struct("HttpHeaderConfig")
			cd.HTTPHeader = &config.HTTPHeaderCondition{HTTPHeaderName: h.String("HttpHeaderName"), Values: h.List("Values")}
		case "query-string":
			for _, kv := range p.Struct("QueryStringConfig").Structs("Values") {
				cd.QueryString = append(cd.QueryString, config.QueryStringPair{Key: kv.String("Key"), Value: kv.String("Value")})
			}
		default:
			return nil, awsapi.Validation("Condition field '%s' is not valid: use host-header, path-pattern, http-request-method, http-header, query-string or source-ip", f)
		}
		out = append(out, cd)
	}
	return out, nil
}
