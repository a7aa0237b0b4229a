package config

// Listener accepts client traffic, with keys named after Terraform's
// aws_lb_listener and aws_lb_listener_rule.
type Listener struct {
	// Protocol: HTTP or HTTPS. Default HTTP.
	Protocol string `yaml:"protocol"`
	// Address to listen on. Default 127.0.0.1 (loopback).
	Address string `yaml:"address"`
	// Port, 1-65535. Default 8080 for HTTP, 8443 for HTTPS.
	Port int `yaml:"port"`
	// CertificateFile and KeyFile (PEM) for HTTPS. Both empty: a self-signed
	// certificate is made at start and its fingerprint printed.
	CertificateFile string `yaml:"certificate_file"`
	KeyFile         string `yaml:"key_file"`
	// DefaultAction applies when no rule matches.
	DefaultAction Action `yaml:"default_action"`
	// Rules are evaluated by ascending priority.
	Rules []Rule `yaml:"rules"`
}

// Rule is a listener rule: conditions that must all match, and an action.
type Rule struct {
	// Priority, 1-50000, unique within the listener; lower is evaluated first.
	Priority   int         `yaml:"priority"`
	Conditions []Condition `yaml:"conditions"`
	Action     Action      `yaml:"action"`
}

// Condition of a rule. Exactly one of its fields is set. Values within one
// condition are alternatives (OR); conditions of a rule all apply (AND).
type Condition struct {
	// HostHeader patterns, case-insensitive, with * and ? wildcards.
	HostHeader []string `yaml:"host_header"`
	// PathPattern patterns, case-sensitive, with * and ? wildcards.
	PathPattern []string `yaml:"path_pattern"`
	// HTTPRequestMethod names, such as GET or POST.
	HTTPRequestMethod []string `yaml:"http_request_method"`
	// HTTPHeader matches a header's value against patterns.
	HTTPHeader *HTTPHeaderCondition `yaml:"http_header"`
	// QueryString matches key/value pairs; an empty key matches any key.
	QueryString []QueryStringPair `yaml:"query_string"`
	// SourceIP CIDR blocks of the client.
	SourceIP []string `yaml:"source_ip"`
}

// HTTPHeaderCondition matches one header.
type HTTPHeaderCondition struct {
	HTTPHeaderName string   `yaml:"http_header_name"`
	Values         []string `yaml:"values"`
}

// QueryStringPair matches one query parameter.
type QueryStringPair struct {
	Key   string `yaml:"key"`
	Value string `yaml:"value"`
}

// Action of a rule or a listener's default action.
type Action struct {
	// Type: forward, redirect or fixed-response. Default forward when
	// target_group or forward is given.
	Type string `yaml:"type"`
	// TargetGroup is the short form of a forward to one group.
	TargetGroup string `yaml:"target_group"`
	// Forward to one or several groups with weights.
	Forward *ForwardAction `yaml:"forward"`
	// Redirect the client.
	Redirect *RedirectAction `yaml:"redirect"`
	// FixedResponse answers without a target.
	FixedResponse *FixedResponseAction `yaml:"fixed_response"`
}

// ForwardAction forwards to weighted target groups.
type ForwardAction struct {
	TargetGroups []WeightedTargetGroup `yaml:"target_groups"`
}

// WeightedTargetGroup is one group of a forward, weight 0-999 (default 1).
type WeightedTargetGroup struct {
	Name   string `yaml:"name"`
	Weight *int   `yaml:"weight"`
}

// RedirectAction, with the #{protocol} #{host} #{port} #{path} #{query}
// placeholders. Absent components keep the request's own.
type RedirectAction struct {
	Protocol string `yaml:"protocol"`
	Host     string `yaml:"host"`
	Port     string `yaml:"port"`
	Path     string `yaml:"path"`
	Query    string `yaml:"query"`
	// StatusCode: HTTP_301 or HTTP_302.
	StatusCode string `yaml:"status_code"`
}

// FixedResponseAction answers with a fixed status and body.
type FixedResponseAction struct {
	// StatusCode 2XX, 4XX or 5XX.
	StatusCode string `yaml:"status_code"`
	// ContentType: text/plain, text/css, text/html, application/javascript or application/json.
	ContentType string `yaml:"content_type"`
	// MessageBody, up to 1024 characters.
	MessageBody string `yaml:"message_body"`
}

// DefaultListener forwards HTTP on 127.0.0.1:8080 to group.
func DefaultListener(group string) Listener {
	return Listener{Protocol: "HTTP", Address: "127.0.0.1", Port: 8080,
		DefaultAction: Action{Type: "forward", TargetGroup: group}}
}

func (l *Listener) applyDefaults() {
	if l.Protocol == "" {
		l.Protocol = "HTTP"
	}
	if l.Address == "" {
		l.Address = "127.0.0.1"
	}
	if l.Port == 0 {
		l.Port = 8080
		if l.Protocol == "HTTPS" {
			l.Port = 8443
		}
	}
	l.DefaultAction.applyDefaults()
	for i := range l.Rules {
		l.Rules[i].Action.applyDefaults()
	}
}

func (a *Action) applyDefaults() {
	if a.Type == "" {
		switch {
		case a.Redirect != nil:
			a.Type = "redirect"
		case a.FixedResponse != nil:
			a.Type = "fixed-response"
		default:
			a.Type = "forward"
		}
	}
	if a.Redirect != nil && a.Redirect.StatusCode == "" {
		a.Redirect.StatusCode = "HTTP_301"
	}
	if a.FixedResponse != nil && a.FixedResponse.ContentType == "" {
		a.FixedResponse.ContentType = "text/plain"
	}
}

// TargetGroups lists the groups the action forwards to, with weights (1 when unset).
func (a Action) TargetGroups() []WeightedTargetGroup {
	if a.Type != "forward" {
		return nil
	}
	if a.Forward != nil {
		out := make([]WeightedTargetGroup, len(a.Forward.TargetGroups))
		for i, g := range a.Forward.TargetGroups {
			out[i] = g
			if g.Weight == nil {
				one := 1
				out[i].Weight = &one
			}
		}
		return out
	}
	one := 1
	return []WeightedTargetGroup{{Name: a.TargetGroup, Weight: &one}}
}
