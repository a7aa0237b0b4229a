package diagnose

import (
	"fmt"
	"net/http"
	"strconv"
)

// Django is the Framework of a diagnosis of a Django app.
const Django = "Django"

// djangoBadRequestTitle is in the body Django serves for a 400 when DEBUG is
// off, DisallowedHost included (django/views/defaults.py, bad_request and
// ERROR_PAGE_TEMPLATE, in the django/django repository).
const djangoBadRequestTitle = "<title>Bad Request (400)</title>"

// Django validates Host against ALLOWED_HOSTS
// (https://docs.djangoproject.com/en/stable/ref/settings/#allowed-hosts) and
// redirects plain HTTP with SecurityMiddleware's SECURE_SSL_REDIRECT
// (https://docs.djangoproject.com/en/stable/ref/middleware/#ssl-redirect).
func init() {
	register(frameworkText{
		name: Django, rank: 10,
		clues: []clue{
			{3, cookieNamed("csrftoken")},
			{3, cookieNamed("sessionid")},
			{3, cookieNamed("django_language")},
			{3, bodyHas("DisallowedHost")},
			{3, bodyHas("Invalid HTTP_HOST header")},
			{3, bodyHas(djangoBadRequestTitle)},
			{2, bodyHas("The requested resource was not found on this server.")},
			// SecurityMiddleware's defaults, served by a Python WSGI server.
			{1, func(h http.Header, _ string) bool {
				return h.Get("Referrer-Policy") == "same-origin" && h.Get("X-Content-Type-Options") == "nosniff"
			}},
			{1, headerHas("Server", "WSGIServer")},
			{1, headerHas("Server", "gunicorn")},
		},
		healthRoute:          "# urls.py\nfrom django.http import HttpResponse\nurlpatterns += [path(\"health\", lambda request: HttpResponse(\"ok\"))]",
		unauthenticatedRoute: "# urls.py: a view without @login_required (and, with DRF, permission_classes = [AllowAny])\nurlpatterns += [path(\"health\", lambda request: HttpResponse(\"ok\"))]",
		processOnlyRoute:     "A view that does not touch the database or the cache:\nurlpatterns += [path(\"health\", lambda request: HttpResponse(\"ok\"))]",
		fastRoute:            "urlpatterns += [path(\"health\", lambda request: HttpResponse(\"ok\"))]  # no database, no templates",
		bindAll: func(f facts) string {
			return "python manage.py runserver 0.0.0.0:" + strconv.Itoa(f.port) + "   # or gunicorn --bind 0.0.0.0:" + strconv.Itoa(f.port) + "; under elbow: \"$HOST:$PORT\""
		},
		hostRejection: &hostRejection{
			code:      400,
			bodyMarks: []string{djangoBadRequestTitle, "DisallowedHost", "Invalid HTTP_HOST header"},
			explain:   djangoAllowedHosts,
		},
		redirectWho: func(f facts) string {
			return fmt.Sprintf(" Django's SecurityMiddleware has SECURE_SSL_REDIRECT = True; request.is_secure() is false because SECURE_PROXY_SSL_HEADER looks for X-Forwarded-Proto: https, which only requests through the HTTPS listener carry, so it answers %d to %s.", f.code, f.location)
		},
		redirectExempt: func(f facts) Fix {
			return Fix{
				Title: "Exempt a health path from the redirect with SECURE_REDIRECT_EXEMPT",
				Detail: "# settings.py (the patterns match the path without its leading /)\n" +
					"SECURE_REDIRECT_EXEMPT = [r\"^health$\"]\n" +
					"# urls.py\n" +
					"urlpatterns += [path(\"health\", lambda request: HttpResponse(\"ok\"))]\n" + healthPathFix("/health"),
				TradeOff: "The health path answers over plain HTTP (harmless for \"ok\"); its Host must still be in ALLOWED_HOSTS. Do not exempt \"/\" itself: users typing http:// would no longer be sent to HTTPS.",
			}
		},
		lbRedirectNote:   "\nIn settings.py: SECURE_SSL_REDIRECT = False, and keep SECURE_PROXY_SSL_HEADER so request.is_secure() stays right.",
		trailingSlashWho: " (Django's CommonMiddleware with APPEND_SLASH = True adds the slash)",
		metadataEndpoint: "# settings.py\nendpoint = os.environ.get(\"AWS_EC2_METADATA_SERVICE_ENDPOINT\", \"" + ec2MetadataEndpoint + "\").rstrip(\"/\")\n# then endpoint + \"/latest/meta-data/local-ipv4\" instead of the hard-coded URL",
	})
}

// djangoIMDSSnippet reads local-ipv4 with IMDSv2, a token first; in a
// container the token's reply needs a hop limit of 2 ("How Instance Metadata
// Service Version 2 works",
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html).
const djangoIMDSSnippet = "# settings.py: allow the instance's private IP, the Host the ELB health check sends.\n" +
	pythonInstanceIP + `

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

// djangoAllowedHosts quotes the DisallowedHost message of
// HttpRequest.get_host (django/http/request.py in django/django), logged on
// django.security.DisallowedHost
// (https://docs.djangoproject.com/en/stable/topics/logging/#django-security).
func djangoAllowedHosts(f facts) verdict {
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
				Title:         "Add the instance's private IP to ALLOWED_HOSTS, read from the instance metadata service",
				Detail:        djangoIMDSSnippet,
				readsMetadata: true,
				TradeOff: "The IP is read once, at start-up, per instance: it works on EC2 and Elastic Beanstalk, and under elbow, which gives every instance its own metadata service in AWS_EC2_METADATA_SERVICE_ENDPOINT. " +
					"If the service does not answer within the short timeouts the app starts without the IP and checks fail with 400 again. In a container, the IMDSv2 token needs the instance's HttpPutResponseHopLimit raised to 2. " +
					"With SECURE_SSL_REDIRECT on, the check then gets a 301 instead: see the HTTPS redirect fixes.",
			},
			{
				Title:  "Answer the health path before host validation, in a middleware placed first",
				Detail: djangoMiddlewareSnippet + "\n" + healthPathFix("/health"),
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
