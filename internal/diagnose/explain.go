package diagnose

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// Case identifiers. They are stable: front ends, docs and scripts key on them.
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
	obs        observation
	framework  string
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
	d := Diagnosis{Framework: f.framework, Evidence: Evidence{
		HealthCheck: obs.check, AsUser: obs.asUser, Loopback: obs.loopback, OtherProtocol: obs.other,
	}}
	if r.Passed() {
		d.Case = HealthyCase
		d.Summary = fmt.Sprintf("The target passes its health check: GET %s answered %d, which the matcher %s accepts.", f.path, f.code, f.matcher)
		return d
	}
	var c verdict
	switch r.Reason {
	case healthcheck.ReasonResponseCodeMismatch:
		c = f.mismatch()
	case healthcheck.ReasonTimeout:
		c = f.timeout()
	default:
		c = f.failed()
	}
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

func (f facts) mismatch() verdict {
	body := f.obs.check.Body
	// The user-like request got past host validation when it was served,
	// redirected, or asked to log in.
	userCode := f.userCode()
	userPassed := userCode != 0 && (userCode < 400 || userCode == 401)
	switch {
	case f.code == 400 && plainHTTPOnTLSPortBody(body):
		return f.httpToTLSPort()
	case f.code == 400 && (strings.Contains(body, djangoBadRequestTitle) || strings.Contains(body, "DisallowedHost") || strings.Contains(body, "Invalid HTTP_HOST header")):
		return f.djangoAllowedHosts()
	case f.code == 400 && f.framework == Django && userPassed:
		return f.djangoAllowedHosts()
	case f.code == 403 && (strings.Contains(body, "Blocked host") || (f.framework == Rails && userPassed)):
		return f.railsHostAuthorization()
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

func isRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// plainHTTPOnTLSPortBody recognises the 400 pages servers send when plain HTTP
// reaches a TLS port: Go's net/http and nginx.
func plainHTTPOnTLSPortBody(body string) bool {
	return strings.Contains(body, "Client sent an HTTP request to an HTTPS server") ||
		strings.Contains(body, "The plain HTTP request was sent to HTTPS port")
}

// matcherFix widens the matcher to accept code, written for elbow.yaml, the
// AWS CLI and Elastic Beanstalk option settings.
func (f facts) matcherFix(codes, tradeOff string) Fix {
	return Fix{
		Title: "Accept " + codes + " as healthy: set the matcher to " + codes,
		Detail: "elbow.yaml, in the target group:\n" +
			"  health_check:\n" +
			"    matcher: \"" + codes + "\"\n" +
			"AWS CLI:\n" +
			"  aws elbv2 modify-target-group --target-group-arn <arn> --matcher HttpCode=" + codes + "\n" +
			"Elastic Beanstalk (.ebextensions/healthcheck.config):\n" +
			"  option_settings:\n" +
			"    aws:elasticbeanstalk:environment:process:default:\n" +
			"      MatcherHTTPCode: \"" + codes + "\"",
		TradeOff: tradeOff,
	}
}

func (f facts) healthPathFix(path string) string {
	return "Then point the health check at it (elbow.yaml: health_check: {path: " + path + "}; Elastic Beanstalk: aws:elasticbeanstalk:environment:process:default HealthCheckPath: " + path + ")."
}

// ---- Host validation ----

const djangoIMDSSnippet = `# settings.py: allow the instance's private IP, the Host the ELB health check sends.
import ipaddress, os, urllib.request

def instance_private_ip(timeout=0.5):
    """The instance's private IPv4 from the metadata service (IMDSv2), or None."""
    endpoint = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254").rstrip("/")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        token_request = urllib.request.Request(endpoint + "/latest/api/token", method="PUT",
                                               headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        with opener.open(token_request, timeout=timeout) as response:
            if response.status != 200:
                return None
            token = response.read().decode("ascii").strip()
        ip_request = urllib.request.Request(endpoint + "/latest/meta-data/local-ipv4",
                                            headers={"X-aws-ec2-metadata-token": token})
        with opener.open(ip_request, timeout=timeout) as response:
            if response.status != 200:
                return None
            return str(ipaddress.ip_address(response.read().decode("ascii").strip()))
    except (OSError, ValueError):  # URLError, HTTPError, timeouts; not an IP
        return None

_ip = instance_private_ip()
if _ip:
    ALLOWED_HOSTS.append(_ip)`

const djangoMiddlewareSnippet = `# shop/health.py
from django.http import HttpResponse

class HealthCheckMiddleware:
    """Answers the load balancer's health check before host validation and the HTTPS redirect."""
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/health":  # request.path does not read the Host header
            return HttpResponse("ok")
        return self.get_response(request)

# settings.py: first in the list, before SecurityMiddleware and CommonMiddleware
MIDDLEWARE = ["shop.health.HealthCheckMiddleware", *MIDDLEWARE]`

func (f facts) djangoAllowedHosts() verdict {
	why := f.checkerSends() + fmt.Sprintf(" Django accepts only the names in ALLOWED_HOSTS (it ignores the port when matching), and %s is not among them: CommonMiddleware calls request.get_host(), which raises DisallowedHost (\"Invalid HTTP_HOST header: '%s'. You may need to add '%s' to ALLOWED_HOSTS.\", logged on django.security.DisallowedHost, which with DEBUG = False only reaches mail_admins unless LOGGING sends it elsewhere), and Django answers 400 Bad Request.",
		f.ip, f.hostHeader, f.ip)
	why += f.asUserSaw()
	if u := f.userCode(); u == 400 {
		why += fmt.Sprintf(" That was refused too, so %s is not in ALLOWED_HOSTS either: compare with the name your users use (elbow check --host NAME).", f.publicHost)
	} else if u != 0 {
		why += " Users' requests carry your public name and pass; only the health check is refused."
	}
	why += " Do not set ALLOWED_HOSTS = [\"*\"]: it switches off Django's protection against forged Host headers."
	return verdict{
		id: CaseDjangoAllowedHosts, framework: Django,
		summary: fmt.Sprintf("Django rejects the health check's Host header %s with 400: the instance's IP is not in ALLOWED_HOSTS.", f.hostHeader),
		why:     why,
		fixes: []Fix{
			{
				Title:  "Add the instance's private IP to ALLOWED_HOSTS, read from the instance metadata service",
				Detail: djangoIMDSSnippet,
				TradeOff: "The IP is read once, at start-up, per instance: it works on EC2 and Elastic Beanstalk, and under elbow, which gives every instance its own metadata service in AWS_EC2_METADATA_SERVICE_ENDPOINT. " +
					"If the service does not answer within the short timeouts the app starts without the IP and checks fail with 400 again. In a container, the IMDSv2 token needs the instance's HttpPutResponseHopLimit raised to 2. " +
					"With SECURE_SSL_REDIRECT on, the check then gets a 301 instead: see the HTTPS redirect fixes.",
			},
			{
				Title:  "Answer the health path before host validation, in a middleware placed first",
				Detail: djangoMiddlewareSnippet + "\n" + f.healthPathFix("/health"),
				TradeOff: "The check then proves only that the Python process answers, not that routing, templates or the database work. " +
					"It also answers before the HTTPS redirect, so it fixes the 301 as well.",
			},
			{
				Title: "Allow the VPC's address range with django-allow-cidr",
				Detail: "pip install django-allow-cidr\n" +
					"# settings.py\n" +
					"ALLOWED_CIDR_NETS = [\"172.31.0.0/16\"]  # your VPC's range; under elbow: \"127.0.0.0/8\"\n" +
					"MIDDLEWARE = [\"allow_cidr.middleware.AllowCIDRMiddleware\", *MIDDLEWARE]  # first",
				TradeOff: "One more dependency; any address of the range is accepted as Host, which is right only for a private range.",
			},
		},
	}
}

func (f facts) railsHostAuthorization() verdict {
	why := f.checkerSends() + fmt.Sprintf(" Rails' ActionDispatch::HostAuthorization accepts only config.hosts, and the IP %s is not one of them, so it answers 403 (an empty body in production; the log says \"Blocked hosts: %s\").", f.ip, f.hostHeader)
	why += f.asUserSaw()
	return verdict{
		id: CaseRailsHostAuthorization, framework: Rails,
		summary: fmt.Sprintf("Rails' host authorization blocks the health check's Host header %s with 403.", f.hostHeader),
		why:     why,
		fixes: []Fix{
			{
				Title: "Exclude the health path from host authorization",
				Detail: "# config/environments/production.rb\n" +
					"config.host_authorization = { exclude: ->(request) { request.path == \"/up\" } }\n" +
					"# Rails 7.1+ serves /up (Rails::HealthController); older apps add:\n" +
					"#   get \"up\" => \"rails/health#show\", as: :rails_health_check\n" + f.healthPathFix("/up"),
				TradeOff: "Only /up skips the check; it proves the app boots, not that the database answers.",
			},
			{
				Title: "Allow the VPC's private range as hosts",
				Detail: "# config/environments/production.rb\n" +
					"config.hosts << IPAddr.new(\"172.31.0.0/16\")  # your VPC's range; under elbow: \"127.0.0.0/8\"",
				TradeOff: "Every address of the range is accepted as Host on every path.",
			},
		},
	}
}

func (f facts) hostValidation() verdict {
	fw := f.framework
	what := "The app"
	if fw != "" {
		what = fw
	}
	why := f.checkerSends() + fmt.Sprintf(" %s answers %d to that Host but serves the public name: it validates or routes by Host, and the IP %s is not a name it accepts.", what, f.code, f.ip)
	why += f.asUserSaw()
	var fixes []Fix
	switch fw {
	case Express:
		fixes = append(fixes, Fix{
			Title: "Answer the health path before the host check",
			Detail: "// Register it before the host-validation middleware (or DNS-rebinding guard).\n" +
				"app.get('/health', (req, res) => res.send('ok'));\n" +
				"app.use(hostValidation({ hosts: ['" + f.publicHost + "'] }));\n" + f.healthPathFix("/health"),
			TradeOff: "The check proves the process answers, not that what sits behind the host check works.",
		})
	case ASPNET:
		fixes = append(fixes, Fix{
			Title: "Add the instance's private IP to AllowedHosts at start-up",
			Detail: "// Program.cs: read local-ipv4 from the metadata service (IMDSv2, short timeout), then\n" +
				"builder.Services.PostConfigure<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>(o => o.AllowedHosts.Add(privateIp));",
			TradeOff: "One more start-up step per instance; if the lookup fails, checks fail again with 400.",
		})
	case Spring:
		fixes = append(fixes, Fix{
			Title:    "Allow the instance's private IP in StrictHttpFirewall",
			Detail:   "firewall.setAllowedHostnames(host -> host.equals(\"" + f.publicHost + "\") || host.equals(privateIp)); // privateIp from the metadata service's local-ipv4",
			TradeOff: "The IP must be read at start-up, per instance.",
		})
	case Nginx:
		fixes = append(fixes, Fix{
			Title: "Give the health path to the default server",
			Detail: "# nginx: the health check's Host is the IP, so it lands in the default server\n" +
				"server {\n    listen " + strconv.Itoa(f.port) + " default_server;\n    location = /health { access_log off; default_type text/plain; return 200 \"ok\\n\"; }\n}\n" + f.healthPathFix("/health"),
			TradeOff: "The check then stops at nginx and no longer proves the app behind it answers; proxy /health to the app instead to keep that.",
		})
	}
	fixes = append(fixes,
		Fix{
			Title:    "Let the health path skip host validation",
			Detail:   "Serve a health path (e.g. /health) that answers before the Host header is checked. " + f.healthPathFix("/health"),
			TradeOff: "That path proves less than a real page does.",
		},
		Fix{
			Title:    "Accept the instance's private IP as a host",
			Detail:   "At start-up, read the IP from the metadata service (IMDSv2: PUT /latest/api/token, then GET /latest/meta-data/local-ipv4 with the token; short timeouts; use the answer only if it is 200 and an IP) and add it to the names the app accepts.",
			TradeOff: "One more start-up step per instance; if it fails the checks fail again.",
		},
	)
	return verdict{
		id:      CaseHostValidation,
		summary: fmt.Sprintf("The target refuses the health check's Host header %s with %d but answers the public name %s.", f.hostHeader, f.code, f.publicHost),
		why:     why,
		fixes:   fixes,
	}
}

// ---- Redirects ----

func (f facts) redirect() verdict {
	loc, err := url.Parse(f.location)
	if err == nil && strings.EqualFold(loc.Scheme, "https") && f.protocol == string(healthcheck.ProtocolHTTP) {
		return f.httpsRedirect()
	}
	if err == nil && (loc.Path == f.path+"/" || loc.Path == strings.TrimSuffix(f.path, "/")) && loc.Path != f.path {
		return f.trailingSlashRedirect(loc)
	}
	if err == nil && looksLikeLogin(loc.Path) {
		return f.loginRedirect()
	}
	return verdict{
		id:      CaseRedirect,
		summary: fmt.Sprintf("The health check is redirected with %d to %s.", f.code, f.location),
		why:     f.checkerSends() + fmt.Sprintf(" The load balancer does not follow redirects: %d is not in the matcher %s, so the check fails.", f.code, f.matcher) + f.asUserSaw(),
		fixes: []Fix{
			{Title: "Point the health check at the page the redirect leads to", Detail: "health_check: {path: " + pathOf(f.location) + "}", TradeOff: "None, if that page answers 200 without a login or a public Host."},
			f.matcherFix(fmt.Sprintf("200-%d", f.code), "Any redirect counts as healthy, whatever the page behind it does."),
		},
	}
}

func pathOf(location string) string {
	if u, err := url.Parse(location); err == nil && u.Path != "" {
		return u.Path
	}
	return location
}

func looksLikeLogin(p string) bool {
	p = strings.ToLower(p)
	for _, w := range []string{"login", "signin", "sign_in", "sign-in", "auth", "sso", "account"} {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

func (f facts) httpsRedirect() verdict {
	fw := f.framework
	codes := fmt.Sprintf("200-%d", f.code)
	matcherTradeOff := ("The check then passes as soon as the app answers the redirect, which happens before the page itself is rendered: it proves the process is up, not that the page works. This is what the reference scenario's team did (matcher 200-301).")
	lbRedirect := Fix{
		Title: "Redirect to HTTPS at the load balancer, not in the app",
		Detail: "elbow.yaml (an ALB listener on port 80 with a redirect action):\n" +
			"  listeners:\n" +
			"    - protocol: HTTP\n      port: 80\n      default_action:\n        type: redirect\n        redirect: {protocol: HTTPS, port: \"443\", status_code: HTTP_301}\n" +
			"and switch the app's own redirect off.",
		TradeOff: "Requests that reach an instance directly, bypassing the load balancer, are no longer redirected.",
	}
	userUnconditional := f.obs.asUser.Answered() && isRedirect(f.obs.asUser.StatusCode) &&
		strings.HasPrefix(strings.ToLower(f.obs.asUser.Location), "https://")

	why := f.checkerSends()
	var who string
	var fixes []Fix
	switch fw {
	case Django:
		who = fmt.Sprintf(" Django's SecurityMiddleware has SECURE_SSL_REDIRECT = True; request.is_secure() is false because SECURE_PROXY_SSL_HEADER looks for X-Forwarded-Proto: https, which only requests through the HTTPS listener carry, so it answers %d to %s.", f.code, f.location)
		fixes = []Fix{
			{
				Title: "Exempt a health path from the redirect with SECURE_REDIRECT_EXEMPT",
				Detail: "# settings.py (the patterns match the path without its leading /)\n" +
					"SECURE_REDIRECT_EXEMPT = [r\"^health$\"]\n" +
					"# urls.py\n" +
					"urlpatterns += [path(\"health\", lambda request: HttpResponse(\"ok\"))]\n" + f.healthPathFix("/health"),
				TradeOff: "The health path answers over plain HTTP (harmless for \"ok\"); its Host must still be in ALLOWED_HOSTS. Do not exempt \"/\" itself: users typing http:// would no longer be sent to HTTPS.",
			},
			f.matcherFix(codes, matcherTradeOff),
			withDetail(lbRedirect, "\nIn settings.py: SECURE_SSL_REDIRECT = False, and keep SECURE_PROXY_SSL_HEADER so request.is_secure() stays right."),
		}
	case Rails:
		who = fmt.Sprintf(" Rails' config.force_ssl (ActionDispatch::SSL) sees a plain-HTTP request and answers %d to %s.", f.code, f.location)
		fixes = []Fix{
			{
				Title: "Exclude the health path from the SSL redirect",
				Detail: "# config/environments/production.rb\n" +
					"config.assume_ssl = true  # trust the load balancer's TLS termination\n" +
					"config.force_ssl = true\n" +
					"config.ssl_options = { redirect: { exclude: ->(request) { request.path == \"/up\" } } }\n" + f.healthPathFix("/up"),
				TradeOff: "/up is served over plain HTTP; it reveals nothing but \"up\".",
			},
			f.matcherFix(codes, matcherTradeOff),
			lbRedirect,
		}
	case Express:
		who = fmt.Sprintf(" The app's HTTPS redirect middleware (express-sslify, express-force-ssl or its own) sees no X-Forwarded-Proto: https and answers %d to %s.", f.code, f.location)
		fixes = []Fix{
			{
				Title: "Skip the redirect for the health path, and trust the load balancer's header",
				Detail: "app.set('trust proxy', true); // req.secure then reads X-Forwarded-Proto\n" +
					"app.get('/health', (req, res) => res.send('ok')); // before the redirect\n" +
					"app.use((req, res, next) => req.secure ? next() : res.redirect(301, 'https://' + req.hostname + req.originalUrl));\n" + f.healthPathFix("/health"),
				TradeOff: "The health path answers over plain HTTP.",
			},
			f.matcherFix(codes, matcherTradeOff),
			lbRedirect,
		}
	case ASPNET:
		who = fmt.Sprintf(" ASP.NET Core's UseHttpsRedirection sees a plain-HTTP request and answers %d to %s.", f.code, f.location)
		fixes = []Fix{
			{
				Title: "Map the health check outside the HTTPS redirection",
				Detail: "// Program.cs\n" +
					"builder.Services.AddHealthChecks();\n" +
					"app.UseForwardedHeaders(new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedProto });\n" +
					"app.UseWhen(ctx => !ctx.Request.Path.StartsWithSegments(\"/health\"), branch => branch.UseHttpsRedirection());\n" +
					"app.MapHealthChecks(\"/health\");\n" + f.healthPathFix("/health"),
				TradeOff: "/health answers over plain HTTP.",
			},
			f.matcherFix(codes, matcherTradeOff),
			lbRedirect,
		}
	case Nginx:
		who = fmt.Sprintf(" nginx redirects every plain-HTTP request (return %d https://$host$request_uri) without looking at X-Forwarded-Proto.", f.code)
		fixes = []Fix{
			{
				Title: "Redirect only what came to the load balancer over HTTP, and answer the health path",
				Detail: "server {\n" +
					"    listen " + strconv.Itoa(f.port) + ";\n" +
					"    location = /health { access_log off; default_type text/plain; return 200 \"ok\\n\"; }\n" +
					"    if ($http_x_forwarded_proto = \"http\") { return 301 https://$host$request_uri; }\n" +
					"    # ... proxy_pass to the app\n" +
					"}\n" + f.healthPathFix("/health"),
				TradeOff: "Requests that reach nginx directly (no X-Forwarded-Proto) are served over plain HTTP; the load balancer's port 80 listener still redirects users.",
			},
			f.matcherFix(codes, matcherTradeOff),
			lbRedirect,
		}
	default:
		who = fmt.Sprintf(" The app redirects plain-HTTP requests to HTTPS and answers %d to %s.", f.code, f.location)
		fixes = []Fix{
			{
				Title:    "Exempt a health path from the HTTPS redirect",
				Detail:   "Serve /health before the redirect (or skip the redirect when the path is /health), and decide \"secure\" from X-Forwarded-Proto, which the load balancer sets. " + f.healthPathFix("/health"),
				TradeOff: "The health path answers over plain HTTP.",
			},
			f.matcherFix(codes, matcherTradeOff),
			lbRedirect,
		}
	}
	why += who + fmt.Sprintf(" The load balancer does not follow redirects: %d is not in the matcher %s, so the check fails.", f.code, f.matcher)
	why += f.asUserSaw()
	if userUnconditional {
		why += " The redirect ignores X-Forwarded-Proto: https too, so users coming through the HTTPS listener would be redirected in a loop; make it depend on that header."
	} else if u := f.userCode(); u >= 200 && u < 300 {
		why += " With X-Forwarded-Proto: https the redirect does not happen: only the health check, which lacks the header, is redirected."
	} else if u >= 400 {
		why += fmt.Sprintf(" The public Host %s was refused (%d): compare with the name your users use (elbow check --host NAME).", f.publicHost, u)
	}
	return verdict{
		id: CaseHTTPSRedirect, framework: fw,
		summary: fmt.Sprintf("The app redirects the plain-HTTP health check to HTTPS (%d to %s).", f.code, f.location),
		why:     why,
		fixes:   fixes,
	}
}

func withDetail(f Fix, more string) Fix {
	f.Detail += more
	return f
}

func (f facts) trailingSlashRedirect(loc *url.URL) verdict {
	why := f.checkerSends() + fmt.Sprintf(" The app's canonical URL for it is %s", loc.Path)
	if f.framework == Django {
		why += " (Django's CommonMiddleware with APPEND_SLASH = True adds the slash)"
	}
	why += fmt.Sprintf(", so it answers %d; the load balancer does not follow redirects.", f.code)
	return verdict{
		id:      CaseTrailingSlashRedirect,
		summary: fmt.Sprintf("The health check path %s is redirected to %s (a trailing-slash redirect).", f.path, loc.Path),
		why:     why,
		fixes: []Fix{
			{Title: "Use the canonical path in the health check", Detail: "health_check: {path: " + loc.Path + "}", TradeOff: "None."},
		},
	}
}

func (f facts) loginRedirect() verdict {
	return verdict{
		id:      CaseLoginRedirect,
		summary: fmt.Sprintf("The health check path %s requires a login: it redirects (%d) to %s.", f.path, f.code, f.location),
		why:     f.checkerSends() + " It carries no cookie or credentials, so the app sends it to the login page, and the load balancer does not follow redirects." + f.asUserSaw(),
		fixes: []Fix{
			f.publicHealthPathFix(),
			f.matcherFix(fmt.Sprintf("200-%d", f.code), "A redirect to the login page counts as healthy: the check proves the process answers, not that pages render."),
		},
	}
}

// ---- Other codes ----

func (f facts) publicHealthPathFix() Fix {
	var detail string
	switch f.framework {
	case Django:
		detail = "# urls.py: a view without @login_required (and, with DRF, permission_classes = [AllowAny])\nurlpatterns += [path(\"health\", lambda request: HttpResponse(\"ok\"))]"
	case Rails:
		detail = "# routes.rb (Rails::HealthController skips authentication)\nget \"up\" => \"rails/health#show\", as: :rails_health_check\n# or, in your own controller: skip_before_action :authenticate_user!"
	case Express:
		detail = "app.get('/health', (req, res) => res.send('ok')); // registered before the authentication middleware"
	case Spring:
		detail = "// SecurityFilterChain\nhttp.authorizeHttpRequests(a -> a.requestMatchers(\"/actuator/health\").permitAll().anyRequest().authenticated());"
	case ASPNET:
		detail = "app.MapHealthChecks(\"/health\").AllowAnonymous();"
	default:
		detail = "Serve a health path that needs no authentication."
	}
	return Fix{Title: "Serve an unauthenticated health path", Detail: detail + "\n" + f.healthPathFix(f.suggestedHealthPath()), TradeOff: "Anyone can read that path: keep it to \"ok\"."}
}

func (f facts) suggestedHealthPath() string {
	switch f.framework {
	case Rails:
		return "/up"
	case Spring:
		return "/actuator/health"
	}
	return "/health"
}

func (f facts) pathNotFound() verdict {
	var detail string
	switch f.framework {
	case Django:
		detail = "# urls.py\nfrom django.http import HttpResponse\nurlpatterns += [path(\"health\", lambda request: HttpResponse(\"ok\"))]"
	case Rails:
		detail = "# config/routes.rb (Rails 7.1+ generates it)\nget \"up\" => \"rails/health#show\", as: :rails_health_check"
	case Express:
		detail = "app.get('/health', (req, res) => res.send('ok'));"
	case Spring:
		detail = "Add spring-boot-starter-actuator; it serves /actuator/health."
	case ASPNET:
		detail = "builder.Services.AddHealthChecks();\napp.MapHealthChecks(\"/health\");"
	case Flask:
		detail = "@app.get(\"/health\")\ndef health():\n    return \"ok\""
	case Nginx:
		detail = "location = /health { access_log off; default_type text/plain; return 200 \"ok\\n\"; }"
	default:
		detail = "Add a route that answers 200 with a short body."
	}
	why := f.checkerSends() + fmt.Sprintf(" The target has nothing at %s and answers 404.", f.path)
	if f.path == "/" {
		why += " The health check path is still the default /, and the app has no root page."
	}
	why += f.asUserSaw()
	tradeOff := "None: a dedicated path is cheap and says exactly what it checks."
	if f.framework == Nginx {
		tradeOff = "Answered by nginx itself, the check no longer proves the app behind it is up; proxy /health to the app to keep that."
	}
	return verdict{
		id:      CasePathNotFound,
		summary: fmt.Sprintf("The health check path %s does not exist on the target: 404.", f.path),
		why:     why,
		fixes: []Fix{
			{Title: "Serve a health path", Detail: detail + "\n" + f.healthPathFix(f.suggestedHealthPath()), TradeOff: tradeOff},
			{Title: "Point the health check at a path the app serves", Detail: "health_check: {path: /some/page/that/answers/200}", TradeOff: "A real page may be slow or need a login; a dedicated path is steadier."},
		},
	}
}

func (f facts) authRequired() verdict {
	why := f.checkerSends() + fmt.Sprintf(" It carries no cookie, token or credentials, and the app protects %s: %d.", f.path, f.code)
	if h := f.obs.check.Header.Get("WWW-Authenticate"); h != "" {
		why += " The answer asks for authentication (WWW-Authenticate: " + h + ")."
	}
	why += f.asUserSaw()
	return verdict{
		id:      CaseAuthRequired,
		summary: fmt.Sprintf("The health check path %s requires authentication: %d.", f.path, f.code),
		why:     why,
		fixes: []Fix{
			f.publicHealthPathFix(),
			f.matcherFix(fmt.Sprintf("200,%d", f.code), fmt.Sprintf("Every %d counts as healthy, including one from a proxy or a broken app.", f.code)),
		},
	}
}

func (f facts) successNotMatched() verdict {
	return verdict{
		id:      CaseSuccessCodeNotMatched,
		summary: fmt.Sprintf("The target answers %d, a success, but the matcher %s does not include it.", f.code, f.matcher),
		why:     f.checkerSends() + fmt.Sprintf(" The app answered %d; the load balancer accepts only the matcher's codes (%s).", f.code, f.matcher),
		fixes: []Fix{
			f.matcherFix("200-299", "None worth naming: every success code counts."),
			{Title: "Answer 200 on the health path", Detail: fmt.Sprintf("Return 200 instead of %d from %s.", f.code, f.path), TradeOff: "None."},
		},
	}
}

// dependencyWords appear in the bodies of health endpoints that check what
// the app depends on (Spring Actuator's {"status":"DOWN"}, health-check
// libraries' per-dependency reports).
var dependencyWords = []string{"database", "db", "postgres", "mysql", "redis", "cache", "queue", "broker", "rabbit", "kafka", "elasticsearch", "mongo", "upstream", "dependency", "dependencies", "\"down\"", "unhealthy", "connection refused"}

func mentionsDependency(body string) bool {
	b := strings.ToLower(body)
	for _, w := range dependencyWords {
		if strings.Contains(b, w) {
			return true
		}
	}
	return false
}

func (f facts) serverError() verdict {
	if mentionsDependency(f.obs.check.Body) {
		detail := "Let the load balancer's path check the process only, and report dependencies elsewhere (metrics, a separate /health/deep for monitoring)."
		switch f.framework {
		case Spring:
			detail = "management.endpoint.health.probes.enabled=true\n# then health_check path /actuator/health/liveness, which does not include the database"
		case Rails:
			detail = "Use Rails' /up (Rails::HealthController), which answers 200 once the app has booted without querying the database."
		case Django:
			detail = "A view that does not touch the database or the cache:\nurlpatterns += [path(\"health\", lambda request: HttpResponse(\"ok\"))]"
		}
		return verdict{
			id:      CaseDependencyCheckFailing,
			summary: fmt.Sprintf("The health endpoint reports a failing dependency: %d.", f.code),
			why: f.checkerSends() + fmt.Sprintf(" The endpoint at %s checks what the app depends on (a database, a cache, another service) and one of them is failing, so every target answers %d at once.", f.path, f.code) +
				" When every target is unhealthy the load balancer fails open and sends traffic to all of them anyway, so a deep check protects nothing and hides which instance is really broken." + f.asUserSaw(),
			fixes: []Fix{
				{Title: "Check the process, not its dependencies, on the load balancer's path", Detail: detail, TradeOff: "A target whose database is down stays in service: the app must answer such requests with a clear error itself."},
				{Title: "Fix the dependency", Detail: "The body names what failed:\n" + firstLine(f.obs.check.Body, 300), TradeOff: "None."},
			},
		}
	}
	return verdict{
		id:      CaseServerError,
		summary: fmt.Sprintf("The app fails on the health check path %s with %d.", f.path, f.code),
		why:     f.checkerSends() + fmt.Sprintf(" The app raised an error answering it (%d); the instance's log has the traceback.", f.code) + f.asUserSaw(),
		fixes: []Fix{
			{Title: "Read the instance's log and fix the error", Detail: "elbow keeps each instance's output (instances.log_dir, default .elbow/logs); on Elastic Beanstalk: eb logs.", TradeOff: "None."},
			{Title: "Use a dedicated health path that does little", Detail: "A path that answers \"ok\" without touching templates or the database. " + f.healthPathFix(f.suggestedHealthPath()), TradeOff: "It proves less than a real page."},
		},
	}
}

func firstLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

func (f facts) unrecognised() verdict {
	fixes := []Fix{{Title: "Look at what the target answered", Detail: "The status, headers and first bytes of the body are under Evidence; the instance's log says more.", TradeOff: ""}}
	if f.code >= healthcheck.MinMatcherCode && f.code <= healthcheck.MaxMatcherCode {
		fixes = append(fixes, f.matcherFix(f.matcher+","+strconv.Itoa(f.code), fmt.Sprintf("Only if %d really means healthy for this app.", f.code)))
	}
	return verdict{
		id:      CaseUnrecognised,
		summary: fmt.Sprintf("The target answers %d, which the matcher %s does not accept; elbow does not recognise the cause.", f.code, f.matcher),
		why:     f.checkerSends() + f.asUserSaw(),
		fixes:   fixes,
	}
}

// ---- No answer ----

func (f facts) timeout() verdict {
	timeout := f.obs.settings.Timeout
	var op *net.OpError
	if errors.As(f.obs.result.Err, &op) && op.Op == "dial" {
		return verdict{
			id:      CaseConnectTimeout,
			summary: fmt.Sprintf("No connection to %s within the %s timeout.", f.hostHeader, timeout),
			why:     fmt.Sprintf("The health checker could not even open a TCP connection to %s: the packets are dropped on the way. On AWS that is a security group or network ACL that does not allow the health check port from the load balancer, or a wrong IP or port.", f.hostHeader),
			fixes: []Fix{
				{Title: "Allow the health check port from the load balancer", Detail: fmt.Sprintf("Allow inbound TCP %d to the instances from the load balancer's security group (and the ephemeral ports 1024-65535 back in the network ACL).", f.port), TradeOff: "None."},
				{Title: "Check the target's IP and the health check port", Detail: fmt.Sprintf("The app must listen on %s (under elbow, on $HOST:$PORT).", f.hostHeader), TradeOff: "None."},
			},
		}
	}
	detail := "Make the path cheap: answer \"ok\" without queries or remote calls."
	switch f.framework {
	case Django:
		detail = "urlpatterns += [path(\"health\", lambda request: HttpResponse(\"ok\"))]  # no database, no templates"
	case Rails:
		detail = "Use /up (Rails::HealthController)."
	}
	return verdict{
		id:      CaseSlowResponse,
		summary: fmt.Sprintf("The target accepted the connection but sent no response within the %s timeout.", timeout),
		why:     f.checkerSends() + fmt.Sprintf(" The app took longer than the health check timeout (%s) to answer %s: the page is slow (queries, remote calls, a cold start), or every worker is busy.", timeout, f.path),
		fixes: []Fix{
			{Title: "Serve a health path that answers at once", Detail: detail + "\n" + f.healthPathFix(f.suggestedHealthPath()), TradeOff: "It proves less than a real page."},
			{Title: "Raise the health check timeout", Detail: "health_check: {timeout: 10}  # 2-120 seconds, smaller than the interval", TradeOff: "A hung target is noticed later."},
		},
	}
}

func (f facts) failed() verdict {
	err := f.obs.result.Err
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		if f.obs.loopback.Answered() {
			return f.boundToLocalhost()
		}
		return verdict{
			id:      CaseConnectionRefused,
			summary: fmt.Sprintf("Nothing listens on %s: the connection is refused.", f.hostHeader),
			why:     fmt.Sprintf("The health checker connects to the instance's IP and the health check port, %s, and the connection is refused: the app is not running (crashed, still starting, failed to start) or listens on another port.", f.hostHeader) + f.loopbackSaw(),
			fixes: []Fix{
				{Title: "Read the instance's log", Detail: "elbow keeps each instance's output (instances.log_dir, default .elbow/logs); on Elastic Beanstalk: eb logs (web.stdout.log).", TradeOff: "None."},
				{Title: "Listen on the port the target group uses", Detail: fmt.Sprintf("The app must listen on port %d (under elbow, $PORT), or the health check port must be the app's.", f.port), TradeOff: "None."},
			},
		}
	case isTLSRecordError(err) && f.protocol == string(healthcheck.ProtocolHTTPS):
		return verdict{
			id:      CaseTLSToPlainPort,
			summary: fmt.Sprintf("The health check speaks HTTPS to %s, which serves plain HTTP.", f.hostHeader),
			why:     fmt.Sprintf("The health check protocol is HTTPS, but the target answered the TLS handshake with plain HTTP (%v).", err) + f.otherSaw(),
			fixes:   []Fix{{Title: "Set the health check protocol to HTTP", Detail: "health_check: {protocol: HTTP}  # and the target group's protocol, if the app serves HTTP", TradeOff: "None: the load balancer terminates TLS for users."}},
		}
	case f.protocol == string(healthcheck.ProtocolHTTP) && f.obs.other.Answered():
		return f.httpToTLSPort()
	}
	return verdict{
		id:      CaseMalformedResponse,
		summary: fmt.Sprintf("The target at %s closed the connection or answered something that is not HTTP/1.1.", f.hostHeader),
		why:     fmt.Sprintf("The health checker sends an HTTP/1.1 request and got %v instead of a response. The port may belong to something other than the web app, or the server speaks only HTTP/2 or another protocol.", err) + f.otherSaw(),
		fixes: []Fix{
			{Title: "Check that the health check port is the web app's HTTP port", Detail: fmt.Sprintf("Port %d must answer HTTP/1.1 requests.", f.port), TradeOff: "None."},
		},
	}
}

func (f facts) httpToTLSPort() verdict {
	return verdict{
		id:      CaseHTTPToTLSPort,
		summary: fmt.Sprintf("The health check speaks plain HTTP to %s, which expects TLS.", f.hostHeader),
		why:     "The health check protocol is HTTP, but the port serves HTTPS: the server refused the plain request." + f.otherSaw(),
		fixes: []Fix{
			{Title: "Set the health check protocol to HTTPS", Detail: "health_check: {protocol: HTTPS}  # the checker does not verify the certificate", TradeOff: "None."},
			{Title: "Or serve plain HTTP on that port", Detail: "Let the load balancer terminate TLS and the app listen in plain HTTP.", TradeOff: "Traffic between the load balancer and the instance is unencrypted (inside the VPC)."},
		},
	}
}

func (f facts) boundToLocalhost() verdict {
	var detail string
	switch f.framework {
	case Django:
		detail = "python manage.py runserver 0.0.0.0:" + strconv.Itoa(f.port) + "   # or gunicorn --bind 0.0.0.0:" + strconv.Itoa(f.port) + "; under elbow: \"$HOST:$PORT\""
	case Rails:
		detail = "bin/rails server -b 0.0.0.0 -p " + strconv.Itoa(f.port) + "   # puma: bind \"tcp://0.0.0.0:" + strconv.Itoa(f.port) + "\""
	case Express:
		detail = "app.listen(process.env.PORT, process.env.HOST || '0.0.0.0');"
	case Spring:
		detail = "server.address=0.0.0.0"
	case ASPNET:
		detail = "ASPNETCORE_URLS=http://0.0.0.0:" + strconv.Itoa(f.port)
	case Flask:
		detail = "flask run --host 0.0.0.0 --port " + strconv.Itoa(f.port)
	case Nginx:
		detail = "listen " + strconv.Itoa(f.port) + ";   # not listen 127.0.0.1:" + strconv.Itoa(f.port) + ";"
	default:
		detail = "Bind to 0.0.0.0 (all addresses) or to the instance's IP; under elbow, listen on $HOST:$PORT."
	}
	return verdict{
		id:      CaseBoundToLocalhost,
		summary: fmt.Sprintf("The app listens on 127.0.0.1:%d only; the health check connects to the instance's IP %s and is refused.", f.port, f.ip),
		why:     fmt.Sprintf("The load balancer reaches the instance at its private IP, %s. The connection there is refused, but 127.0.0.1:%d answers: the app is bound to the loopback address only, which nothing outside the instance can reach.", f.hostHeader, f.port) + f.loopbackSaw(),
		fixes:   []Fix{{Title: "Listen on all addresses (or the instance's IP)", Detail: detail, TradeOff: "The port is then reachable from the network: let the security group admit only the load balancer."}},
	}
}

func (f facts) loopbackSaw() string {
	lo := f.obs.loopback
	switch {
	case lo == nil:
		return ""
	case lo.Answered():
		return fmt.Sprintf(" A request to %s got %d.", lo.Addr, lo.StatusCode)
	case lo.Error != "":
		return fmt.Sprintf(" %s does not answer either (%s).", lo.Addr, lo.Error)
	}
	return ""
}

func (f facts) otherSaw() string {
	o := f.obs.other
	if o == nil {
		return ""
	}
	proto := "HTTPS"
	if f.protocol == string(healthcheck.ProtocolHTTPS) {
		proto = "plain HTTP"
	}
	if o.Answered() {
		return fmt.Sprintf(" The same check over %s got %d.", proto, o.StatusCode)
	}
	return fmt.Sprintf(" The same check over %s failed too (%s).", proto, o.Error)
}

func isTLSRecordError(err error) bool {
	var rh tls.RecordHeaderError
	return errors.As(err, &rh) || (err != nil && strings.Contains(err.Error(), "first record does not look like a TLS handshake"))
}
