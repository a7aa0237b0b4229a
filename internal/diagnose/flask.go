package diagnose

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Flask is the Framework of a diagnosis of a Flask app.
const Flask = "Flask"

// CaseFlaskServerName: Flask's SERVER_NAME is the public name, so the
// health check's IP Host matches no route and every path answers 404.
const CaseFlaskServerName = "flask-server-name"

// Werkzeug's pages, which a Flask app served by gunicorn shows where the
// development server's "Server: Werkzeug" is gone (werkzeug 2.2.2,
// werkzeug/utils.py redirect and werkzeug/exceptions.py NotFound and
// BadRequest, in pallets/werkzeug).
const (
	werkzeugRedirectBody   = "You should be redirected automatically to the target URL: "
	werkzeugNotFoundBody   = "The requested URL was not found on the server. If you entered the URL manually"
	werkzeugBadRequestBody = "The browser (or proxy) sent a request that this server could not understand."
	// werkzeugServerNameWarning is in the UserWarning Map.bind_to_environ
	// issues when the Host is not SERVER_NAME (werkzeug 2.2.2,
	// werkzeug/routing/map.py): "Current server name '172.31.5.17:8000'
	// doesn't match configured server name 'www.example.com'". Python
	// prints it to stderr, web.stdout.log on Elastic Beanstalk.
	werkzeugServerNameWarning = "doesn't match configured server name"
)

// Flask-Talisman's defaults, set on every response by its after_request
// hook, the redirect included (flask_talisman/talisman.py of
// flask-talisman 1.0.0, DEFAULT_CSP_POLICY, DEFAULT_REFERRER_POLICY and
// _set_content_security_policy_headers, in wntrblm/flask-talisman).
const (
	talismanDefaultCSP     = "default-src 'self'; object-src 'none'"
	talismanReferrerPolicy = "strict-origin-when-cross-origin"
	talismanXSSProtection  = "1; mode=block"
	talismanPermanentCode  = 301
)

// ProxyFix makes request.is_secure read X-Forwarded-Proto
// (werkzeug/middleware/proxy_fix.py, werkzeug 2.2.2).
const (
	flaskProxyFixImport     = "from werkzeug.middleware.proxy_fix import ProxyFix\n"
	flaskProxyFixOneProxy   = "app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)  # request.is_secure from X-Forwarded-Proto (one proxy: the load balancer, or nginx on Elastic Beanstalk)\n"
	flaskRequestHostComment = "# request.host is the Host header: the instance's IP for the health check"
)

// talismanHeaders recognises Talisman's headers: its default
// Content-Security-Policy, or its default Referrer-Policy with its
// X-XSS-Protection, which other header middleware (helmet, Django) do not
// pair.
func talismanHeaders(h http.Header, _ string) bool {
	if h.Get("Content-Security-Policy") == talismanDefaultCSP {
		return true
	}
	return h.Get("Referrer-Policy") == talismanReferrerPolicy && h.Get("X-XSS-Protection") == talismanXSSProtection
}

// Flask's development server listens on 127.0.0.1 unless told --host
// (https://flask.palletsprojects.com/en/stable/quickstart/#externally-visible-server).
// Flask 2.2 binds its URL map to SERVER_NAME (flask/app.py
// Flask.create_url_adapter, flask 2.2.2); Flask-Talisman's force_https
// redirects plain HTTP unless X-Forwarded-Proto is https, per view with
// @talisman(force_https=False) (Talisman.__call__, flask-talisman 1.0.0).
func init() {
	register(frameworkText{
		name: Flask, rank: 60,
		clues: []clue{
			{2, headerHas("Server", "Werkzeug")},
			{3, bodyHas(werkzeugRedirectBody)},
			{3, bodyHas(werkzeugNotFoundBody)},
			{3, bodyHas(werkzeugBadRequestBody)},
			{3, talismanHeaders},
		},
		healthRoute:          "@app.get(\"/health\")\ndef health():\n    return \"ok\"",
		unauthenticatedRoute: "@app.get(\"/health\")  # no @login_required\ndef health():\n    return \"ok\"",
		processOnlyRoute:     "@app.get(\"/health\")\ndef health():\n    return \"ok\"  # no database session, no remote calls",
		fastRoute:            "@app.get(\"/health\")\ndef health():\n    return \"ok\"",
		bindAll: func(f facts) string {
			p := strconv.Itoa(f.port)
			return "gunicorn --bind 0.0.0.0:" + p + " app:app   # flask run --host 0.0.0.0 --port " + p + " in development"
		},
		hostRejection: &hostRejection{
			// No body mark: Werkzeug's 404 page is any missing path's. The
			// 404 counts when the public name is served, or when the app
			// logged Werkzeug's warning (logs.go).
			code:    404,
			explain: flaskServerName,
		},
		hostFix:        flaskHostFix,
		redirectWho:    flaskRedirectWho,
		redirectExempt: flaskRedirectExempt,
		lbRedirectNote: "\nIn the app: drop the redirect hook (with Flask-Talisman: force_https=False, which keeps its other headers).",
	})
}

// talismanSeen reports whether the failing answer carries Talisman's headers.
func (f facts) talismanSeen() bool {
	return f.obs.check.Header != nil && talismanHeaders(f.obs.check.Header, "")
}

func flaskRedirectWho(f facts) string {
	if f.talismanSeen() {
		opt := "force_https=True, its default"
		if f.code == talismanPermanentCode {
			opt += ", with force_https_permanent=True"
		}
		return fmt.Sprintf(" Flask-Talisman (%s) redirects every request that is neither request.is_secure nor carries X-Forwarded-Proto: https, in a before_request hook, so it answers %d to %s (Talisman's security headers are on that answer).", opt, f.code, f.location)
	}
	return fmt.Sprintf(" The app's own HTTPS redirect (a before_request hook, or Flask-SSLify) finds request.is_secure false, since the checker sends no X-Forwarded-Proto, and answers %d to %s.", f.code, f.location)
}

func flaskRedirectExempt(f facts) Fix {
	path, point := f.exemptPath()
	view := flaskViewName(path)
	if f.talismanSeen() {
		return Fix{
			Title: "Exempt the health view from Talisman's redirect with @talisman(force_https=False)",
			Detail: "talisman = Talisman(app)  # keep the instance: it also decorates views\n\n" +
				"@app.route(\"" + path + "\")\n" +
				"@talisman(force_https=False)\n" +
				"def " + view + "():\n" +
				"    return \"ok\"\n" + point,
			TradeOff: "Only that view answers plain HTTP; Talisman keeps redirecting every other page and keeps reading X-Forwarded-Proto, so users through the HTTPS listener are not redirected.",
		}
	}
	return Fix{
		Title: "Skip the health path in the redirect hook, and trust the load balancer's X-Forwarded-Proto",
		Detail: flaskProxyFixImport + flaskProxyFixOneProxy + "\n" +
			"@app.before_request\n" +
			"def redirect_to_https():\n" +
			"    if request.path == \"" + path + "\":  # the load balancer's health check, over plain HTTP\n" +
			"        return None\n" +
			"    if not request.is_secure:\n" +
			"        return redirect(request.url.replace(\"http://\", \"https://\", 1), code=301)\n" + point,
		TradeOff: "The health path answers over plain HTTP. ProxyFix must count exactly the proxies in front of the app, or a client could forge X-Forwarded-Proto.",
	}
}

// flaskViewName is a Python function name for a view at path.
func flaskViewName(path string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.Trim(path, "/"))
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		name = "health" + name
	}
	return name
}

// flaskHostFix is the first fix for a Flask app refusing the IP Host with
// its own check: a before_request allow-list, the usual way before Flask
// 3.1's TRUSTED_HOSTS.
func flaskHostFix(f facts) Fix {
	path, point := f.exemptPath()
	return Fix{
		Title: "Let the health path through the before_request host check, and allow the instance's IP",
		Detail: pythonInstanceIP + "\n\n" +
			"ALLOWED_HOSTS = {\"" + f.publicHost + "\"}\n" +
			"_ip = instance_private_ip()\n" +
			"if _ip:\n" +
			"    ALLOWED_HOSTS.add(_ip)\n\n" +
			"@app.before_request\n" +
			"def check_host():\n" +
			"    if request.path == \"" + path + "\":  # answer the health check whatever its Host\n" +
			"        return None\n" +
			"    if request.host.split(\":\")[0] not in ALLOWED_HOSTS:  " + flaskRequestHostComment + "\n" +
			"        abort(400)\n" + point,
		TradeOff:      "Either half suffices: the exemption proves less than a real page does; the IP needs the metadata service at start-up. " + pythonIMDSTradeOff,
		readsMetadata: true,
	}
}

// flaskServerName: the URL map is bound to SERVER_NAME, so a request for
// another Host is routed to an invalid subdomain and nothing matches
// (Map.bind_to_environ, werkzeug 2.2.2). Flask 3.1 no longer restricts
// requests to SERVER_NAME and adds TRUSTED_HOSTS
// (https://flask.palletsprojects.com/en/stable/changes/#version-3-1-0).
func flaskServerName(f facts) verdict {
	// Werkzeug's warning names SERVER_NAME; without it the case is only
	// recognised when the public name was served, so it is that name.
	configured := f.publicHost
	if l := f.obs.logs; l != nil && l.AppLog != nil && l.AppLog.Kind == LogFlaskServerName {
		if _, after, ok := strings.Cut(l.AppLog.Line, "configured server name '"); ok {
			if name, _, ok := strings.Cut(after, "'"); ok {
				configured = name
			}
		}
	}
	why := f.checkerSends() + fmt.Sprintf(" Flask 2.2 binds its URL map to SERVER_NAME (%s): Werkzeug finds %s is neither that name nor a subdomain of it, warns \"Current server name '%s' doesn't match configured server name '%s'\", and matches no route, so every path answers 404 to the instance's IP.",
		configured, f.hostHeader, strings.ToLower(f.hostHeader), configured)
	why += f.asUserSaw()
	if u := f.userCode(); u >= 200 && u < 400 {
		why += " Users' requests carry the public name and are routed; only the health check gets 404."
	}
	path, point := f.exemptPath()
	return verdict{
		id: CaseFlaskServerName, framework: Flask,
		summary: fmt.Sprintf("Flask's SERVER_NAME (%s) makes it answer 404 to the health check's Host header %s: no route matches another host.", configured, f.hostHeader),
		why:     why,
		fixes: []Fix{
			{
				Title: "Do not set SERVER_NAME to restrict hosts; check Host in a before_request hook that lets the health path through",
				Detail: "# app.py: remove app.config[\"SERVER_NAME\"] (url_for(..., _external=True) inside a request uses the request's Host;\n" +
					"# outside one, use app.test_request_context(base_url=\"https://" + configured + "\"))\n" +
					"ALLOWED_HOSTS = {\"" + configured + "\"}\n\n" +
					"@app.before_request\n" +
					"def check_host():\n" +
					"    if request.path == \"" + path + "\":  # the health check's Host is the instance's IP\n" +
					"        return None\n" +
					"    if request.host.split(\":\")[0] not in ALLOWED_HOSTS:\n" +
					"        abort(400)\n" + point,
				TradeOff: "Code that builds external URLs outside a request (CLI commands, background jobs) needs the base URL given another way.",
			},
			{
				Title: "Upgrade to Flask 3.1 or later, where SERVER_NAME no longer restricts requests, and validate with TRUSTED_HOSTS",
				Detail: "pip install 'flask>=3.1'\n" +
					"# app.py\n" +
					"app.config[\"TRUSTED_HOSTS\"] = [\"" + configured + "\"]  # add the instance's IP, or let " + path + " answer before the check",
				TradeOff: "Flask 3.1 needs Werkzeug 3.1 and Python 3.9 or later.",
			},
		},
	}
}
