package diagnose

import (
	"fmt"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// Case identifiers. They are stable: front ends, docs and scripts key on them.
// Each is explained in the file of its family: host.go (the Host header
// refused), redirect.go, status.go (other status codes), noanswer.go (no
// response), and the framework's own file for a framework's own case.
const (
	CaseDjangoAllowedHosts     = "django-allowed-hosts"
	CaseRailsHostAuthorization = "rails-host-authorization"
	CaseHostValidation         = "host-validation"
	CaseHTTPSRedirect          = "https-redirect"
	CaseTrailingSlashRedirect  = "trailing-slash-redirect"
	CaseLoginRedirect          = "login-redirect"
	CaseRedirect               = "redirect"
	CasePathNotFound           = "path-not-found"
	CaseAuthRequired           = "auth-required"
	CaseSuccessCodeNotMatched  = "success-code-not-matched"
	CaseDependencyCheckFailing = "dependency-check-failing"
	CaseServerError            = "server-error"
	CaseSlowResponse           = "slow-response"
	CaseConnectTimeout         = "connect-timeout"
	CaseBoundToLocalhost       = "bound-to-localhost"
	CaseConnectionRefused      = "connection-refused"
	CaseHTTPToTLSPort          = "http-to-tls-port"
	CaseTLSToPlainPort         = "tls-to-plain-port"
	CaseMalformedResponse      = "malformed-response"
	CaseUnrecognised           = "unrecognised"
)

// facts are the values the texts are written from.
type facts struct {
	obs       observation
	framework string
	// text is the recognised framework's wording, generic's when none was.
	text       *frameworkText
	code       int
	ip         string
	port       int
	hostHeader string
	path       string
	publicHost string
	matcher    string
	location   string
	protocol   string
}

func explain(obs observation) Diagnosis {
	r := obs.result
	f := facts{
		obs:        obs,
		code:       r.StatusCode,
		ip:         obs.target.IP,
		port:       obs.settings.CheckPort(obs.target),
		hostHeader: obs.hostHeader,
		path:       obs.settings.Path,
		publicHost: obs.publicHost,
		matcher:    obs.settings.Matcher.String(),
		location:   obs.check.Location,
		protocol:   string(obs.settings.Protocol),
	}
	if f.protocol == "" {
		f.protocol = string(healthcheck.ProtocolHTTP)
	}
	if f.matcher == "" {
		f.matcher = "200"
	}
	f.framework = detectFramework(&obs.check, obs.asUser, obs.loopback)
	// The app's own log line naming the refused host outweighs what the
	// answers hint at: a production Django answers a bare 400.
	if fw, code := obs.logs.decisive(); fw != "" && code == f.code {
		f.framework = fw
	}
	f.text = textOf(f.framework)
	d := Diagnosis{Framework: f.framework, Evidence: Evidence{
		HealthCheck: obs.check, AsUser: obs.asUser, Loopback: obs.loopback, OtherProtocol: obs.other,
		InstanceLogs: obs.logs,
	}}
	if r.Passed() {
		d.Case = HealthyCase
		d.Summary = fmt.Sprintf("The target passes its health check: GET %s answered %d, which the matcher %s accepts.", f.path, f.code, f.matcher)
		if obs.settings.GRPC {
			d.Summary = f.grpcHealthy()
		}
		return d
	}
	var c verdict
	switch {
	case obs.settings.GRPC:
		c = f.grpc()
	case r.Reason == healthcheck.ReasonResponseCodeMismatch:
		c = f.mismatch()
	case r.Reason == healthcheck.ReasonTimeout:
		c = f.timeout()
	default:
		c = f.failed()
	}
	c = f.withMetadata(c)
	if c.readsMetadata() {
		d.Evidence.MetadataService = obs.metadata
	}
	c.why += obs.logs.logsSay()
	d.Case, d.Summary, d.Why, d.Fixes = c.id, c.summary, c.why, c.fixes
	if c.framework != "" {
		d.Framework = c.framework
	}
	return d
}

// verdict is a case with its texts, before it is wrapped in a Diagnosis.
type verdict struct {
	id, framework, summary, why string
	fixes                       []Fix
}

// readsMetadata reports whether a fix reads the instance's private IP from
// its metadata service.
func (c verdict) readsMetadata() bool {
	for _, x := range c.fixes {
		if x.readsMetadata {
			return true
		}
	}
	return false
}

// mismatch picks the case for an answer the matcher refused. The order
// matters: a Host refusal is told from a plain 400, 403 or 404 by the
// user-like request getting past it, and only then is the code read alone.
func (f facts) mismatch() verdict {
	body := f.obs.check.Body
	// The user-like request got past host validation when it was served,
	// redirected, or asked to log in.
	userCode := f.userCode()
	userPassed := userCode != 0 && (userCode < 400 || userCode == 401)
	if f.code == 400 && plainHTTPOnTLSPortBody(body) {
		return f.httpToTLSPort()
	}
	if fw, code := f.obs.logs.decisive(); fw != "" && code == f.code {
		if t := textOf(fw); t.hostRejection != nil {
			return t.hostRejection.explain(f)
		}
	}
	for _, t := range registry {
		if t.hostRejection != nil && t.hostRejection.matches(f, t.name, userPassed) {
			return t.hostRejection.explain(f)
		}
	}
	switch {
	case (f.code == 400 || f.code == 403 || f.code == 404 || f.code == 421) && userPassed:
		return f.hostValidation()
	case isRedirect(f.code):
		return f.redirect()
	case f.code == 404:
		return f.pathNotFound()
	case f.code == 401 || f.code == 403:
		return f.authRequired()
	case f.code >= 200 && f.code <= 299:
		return f.successNotMatched()
	case f.code >= 500:
		return f.serverError()
	}
	return f.unrecognised()
}

// checkerSends describes the health check request: Host is the target's
// private IP and the health check port ("Troubleshoot your Application Load
// Balancers",
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html),
// and no X-Forwarded-* header is sent (not documented; see doc.go).
func (f facts) checkerSends() string {
	return fmt.Sprintf("The ELB health checker sends GET %s over %s with Host: %s (the instance's private IP and the health check port), User-Agent: %s and no X-Forwarded-For or X-Forwarded-Proto header.",
		f.path, f.protocol, f.hostHeader, healthcheck.UserAgent)
}

// asUserSaw describes the user-like request's answer in one sentence.
func (f facts) asUserSaw() string {
	u := f.obs.asUser
	switch {
	case u == nil:
		return ""
	case !u.Answered():
		return fmt.Sprintf(" The same path requested as a user's request arrives (Host: %s, X-Forwarded-Proto: https) got no answer: %s.", f.publicHost, u.Error)
	case u.Location != "":
		return fmt.Sprintf(" The same path requested as a user's request arrives (Host: %s, X-Forwarded-Proto: https) got %d to %s.", f.publicHost, u.StatusCode, u.Location)
	}
	return fmt.Sprintf(" The same path requested as a user's request arrives (Host: %s, X-Forwarded-Proto: https) got %d.", f.publicHost, u.StatusCode)
}

func (f facts) userCode() int {
	if f.obs.asUser == nil {
		return 0
	}
	return f.obs.asUser.StatusCode
}

func isRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}
