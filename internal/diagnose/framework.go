package diagnose

import (
	"net/http"
	"strings"
)

// Framework names as they appear in Diagnosis.Framework.
const (
	Django  = "Django"
	Rails   = "Rails"
	Express = "Express"
	Spring  = "Spring"
	ASPNET  = "ASP.NET Core"
	Flask   = "Flask"
	Nginx   = "nginx"
)

// signal is one clue that a response came from a framework, with its weight:
// 3 for what only that framework produces, 1 for what it merely tends to.
type signal struct {
	framework string
	weight    int
	match     func(h http.Header, body string) bool
}

func headerHas(name, sub string) func(http.Header, string) bool {
	return func(h http.Header, _ string) bool {
		for _, v := range h.Values(name) {
			if strings.Contains(strings.ToLower(v), strings.ToLower(sub)) {
				return true
			}
		}
		return false
	}
}

func headerPresent(name string) func(http.Header, string) bool {
	return func(h http.Header, _ string) bool { return h.Get(name) != "" }
}

func bodyHas(sub string) func(http.Header, string) bool {
	return func(_ http.Header, body string) bool { return strings.Contains(body, sub) }
}

// cookieNamed matches a Set-Cookie whose name is name, or ends with suffix
// when name starts with "*".
func cookieNamed(name string) func(http.Header, string) bool {
	return func(h http.Header, _ string) bool {
		for _, c := range h.Values("Set-Cookie") {
			n, _, _ := strings.Cut(c, "=")
			n = strings.TrimSpace(n)
			if suffix, ok := strings.CutPrefix(name, "*"); ok {
				if strings.HasSuffix(n, suffix) {
					return true
				}
			} else if strings.EqualFold(n, name) {
				return true
			}
		}
		return false
	}
}

// djangoPage is the body Django serves for a 400 when DEBUG is off
// (django/views/defaults.py ERROR_PAGE_TEMPLATE), also on DisallowedHost.
const djangoBadRequestTitle = "<title>Bad Request (400)</title>"

var signals = []signal{
	{Django, 3, cookieNamed("csrftoken")},
	{Django, 3, cookieNamed("sessionid")},
	{Django, 3, cookieNamed("django_language")},
	{Django, 3, bodyHas("DisallowedHost")},
	{Django, 3, bodyHas("Invalid HTTP_HOST header")},
	{Django, 3, bodyHas(djangoBadRequestTitle)},
	{Django, 2, bodyHas("The requested resource was not found on this server.")},
	// SecurityMiddleware's defaults, served by a Python WSGI server.
	{Django, 1, func(h http.Header, _ string) bool {
		return h.Get("Referrer-Policy") == "same-origin" && h.Get("X-Content-Type-Options") == "nosniff"
	}},
	{Django, 1, headerHas("Server", "WSGIServer")},
	{Django, 1, headerHas("Server", "gunicorn")},

	{Rails, 2, headerPresent("X-Runtime")},
	{Rails, 1, headerPresent("X-Request-Id")},
	{Rails, 2, cookieNamed("*_session")},
	{Rails, 3, bodyHas("Blocked host")},
	{Rails, 3, bodyHas("config.hosts")},
	{Rails, 1, headerPresent("X-Permitted-Cross-Domain-Policies")},

	{Express, 3, headerHas("X-Powered-By", "Express")},
	{Express, 3, cookieNamed("connect.sid")},
	{Express, 3, bodyHas("<pre>Cannot GET ")},

	{Spring, 2, cookieNamed("JSESSIONID")},
	{Spring, 3, bodyHas("Whitelabel Error Page")},
	{Spring, 1, headerPresent("X-Application-Context")},

	{ASPNET, 3, headerHas("Server", "Kestrel")},
	{ASPNET, 3, headerHas("X-Powered-By", "ASP.NET")},
	{ASPNET, 3, cookieNamed("*.AspNetCore.Session")},
	{ASPNET, 3, cookieNamed(".AspNetCore.Antiforgery")},

	{Flask, 2, headerHas("Server", "Werkzeug")},

	{Nginx, 2, headerHas("Server", "nginx")},
	{Nginx, 2, bodyHas("<hr><center>nginx")},
}

// detectFramework names the framework the exchanges point to, or "". Web
// servers (nginx) lose to an application framework seen in the same answers,
// except when the failing answer itself is the server's own page: that is who
// must be fixed.
func detectFramework(exchanges ...*Exchange) string {
	score := map[string]int{}
	for _, ex := range exchanges {
		if ex == nil || ex.StatusCode == 0 {
			continue
		}
		h := ex.Header
		if h == nil {
			h = http.Header{}
		}
		for _, s := range signals {
			if s.match(h, ex.Body) {
				score[s.framework] += s.weight
			}
		}
	}
	best, bestScore := "", 0
	for _, s := range signals { // signals' order breaks ties deterministically
		if sc := score[s.framework]; sc > bestScore {
			best, bestScore = s.framework, sc
		}
	}
	if best == Nginx && !nginxOwnPage(exchanges[0]) {
		for _, s := range signals {
			if s.framework != Nginx && score[s.framework] >= 2 {
				return s.framework
			}
		}
	}
	// A lone weak clue (a Python server, an X-Request-Id) names nothing.
	if bestScore < 2 {
		return ""
	}
	return best
}

// nginxOwnPage reports whether ex is one of nginx's built-in error or redirect pages.
func nginxOwnPage(ex *Exchange) bool {
	return ex != nil && strings.Contains(ex.Body, "<hr><center>nginx")
}
