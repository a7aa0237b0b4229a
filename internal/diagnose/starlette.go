package diagnose

import (
	"fmt"
	"net/http"
	"strconv"
)

// Starlette is the Framework of a diagnosis of a Starlette app, FastAPI
// included: FastAPI's fastapi.middleware.trustedhost and
// fastapi.middleware.httpsredirect are Starlette's middleware re-exported.
const Starlette = "Starlette"

// CaseStarletteTrustedHost: Starlette's TrustedHostMiddleware refuses the
// health check's IP Host with 400 "Invalid host header".
const CaseStarletteTrustedHost = "starlette-trusted-host"

// starletteInvalidHost is the whole body of TrustedHostMiddleware's refusal
// (starlette/middleware/trustedhost.py, starlette 0.26.1, in
// encode/starlette); it logs nothing.
const starletteInvalidHost = "Invalid host header"

// starletteRedirect recognises Starlette's RedirectResponse as uvicorn
// serves it: an empty body with a Location, which HTTPSRedirectMiddleware
// (307) and the router's redirect_slashes (307) answer.
func starletteRedirect(h http.Header, body string) bool {
	return body == "" && h.Get("Location") != "" && headerHas("Server", "uvicorn")(h, body)
}

// Starlette's TrustedHostMiddleware compares the Host without its port with
// allowed_hosts, answering 400 "Invalid host header"; HTTPSRedirectMiddleware
// answers 307 to any request whose ASGI scope["scheme"] is http, which
// uvicorn sets from X-Forwarded-Proto only for clients in
// --forwarded-allow-ips, default 127.0.0.1 (uvicorn 0.17.6, uvicorn/config.py
// and uvicorn/middleware/proxy_headers.py, in encode/uvicorn;
// https://www.starlette.io/middleware/).
func init() {
	register(frameworkText{
		name: Starlette, rank: 63,
		clues: []clue{
			{3, bodyHas(starletteInvalidHost)},
			{2, starletteRedirect},
			{2, bodyHas(`{"detail":"Not Found"}`)},
			{1, headerHas("Server", "uvicorn")},
		},
		healthRoute:          "@app.get(\"/health\")\ndef health():\n    return {\"status\": \"ok\"}",
		unauthenticatedRoute: "@app.get(\"/health\")  # no Depends() on the authentication dependency\ndef health():\n    return {\"status\": \"ok\"}",
		processOnlyRoute:     "@app.get(\"/health\")\ndef health():\n    return {\"status\": \"ok\"}  # no database session dependency",
		fastRoute:            "@app.get(\"/health\")\nasync def health():\n    return {\"status\": \"ok\"}",
		bindAll: func(f facts) string {
			return "uvicorn main:app --host 0.0.0.0 --port " + strconv.Itoa(f.port)
		},
		hostRejection: &hostRejection{
			code:      400,
			bodyMarks: []string{starletteInvalidHost},
			explain:   starletteTrustedHost,
		},
		redirectWho: func(f facts) string {
			return fmt.Sprintf(" Starlette's HTTPSRedirectMiddleware (fastapi.middleware.httpsredirect in FastAPI) redirects every request whose scope[\"scheme\"] is http; uvicorn's --proxy-headers sets it from X-Forwarded-Proto, which the checker does not send, so it answers %d to %s.", f.code, f.location)
		},
		redirectExempt: starletteRedirectExempt,
		lbRedirectNote: "\nIn the app: remove app.add_middleware(HTTPSRedirectMiddleware).",
	})
}

// starletteExempt is a subclass of middleware that passes path straight to
// the app: Starlette's middleware has no per-route exemption.
func starletteExempt(middleware, module, path string) string {
	class := middleware + "ExceptHealth"
	return "from " + module + " import " + middleware + "\n\n" +
		"class " + class + "(" + middleware + "):\n" +
		"    \"\"\"" + middleware + " that lets the load balancer's health check through.\"\"\"\n" +
		"    async def __call__(self, scope, receive, send):\n" +
		"        if scope[\"type\"] == \"http\" and scope[\"path\"] == \"" + path + "\":\n" +
		"            await self.app(scope, receive, send)\n" +
		"            return\n" +
		"        await super().__call__(scope, receive, send)\n"
}

func starletteRedirectExempt(f facts) Fix {
	path, point := f.exemptPath()
	return Fix{
		Title: "Let the health path skip HTTPSRedirectMiddleware, and trust X-Forwarded-Proto only from the load balancer",
		Detail: starletteExempt("HTTPSRedirectMiddleware", "starlette.middleware.httpsredirect", path) + "\n" +
			"app.add_middleware(HTTPSRedirectMiddlewareExceptHealth)  # instead of HTTPSRedirectMiddleware\n\n" +
			"# Users through the HTTPS listener are not redirected as long as uvicorn trusts the proxy's X-Forwarded-Proto:\n" +
			"# uvicorn main:app --proxy-headers --forwarded-allow-ips 127.0.0.1   # nginx on the instance (Elastic Beanstalk)\n" +
			"# uvicorn main:app --proxy-headers --forwarded-allow-ips '*'         # the load balancer straight to uvicorn, reachable only from it\n" + point,
		TradeOff: "The health path answers over plain HTTP; every other path is still redirected.",
	}
}

// starletteTrustedHost explains TrustedHostMiddleware's refusal.
func starletteTrustedHost(f facts) verdict {
	why := f.checkerSends() + fmt.Sprintf(" Starlette's TrustedHostMiddleware (fastapi.middleware.trustedhost in FastAPI) compares the Host without its port, %s, with allowed_hosts; it is not among them, so it answers 400 with the body %q before any route runs. It logs nothing: uvicorn's access log shows only the 400.",
		f.ip, starletteInvalidHost)
	why += f.asUserSaw()
	if u := f.userCode(); u == 400 {
		why += fmt.Sprintf(" That was refused too, so %s is not in allowed_hosts either: compare with the name your users use (elbow check --host NAME).", f.publicHost)
	} else if u != 0 {
		why += " Users' requests carry your public name and pass; only the health check is refused."
	}
	why += " Do not set allowed_hosts=[\"*\"]: it switches the protection off."
	path, point := f.exemptPath()
	return verdict{
		id: CaseStarletteTrustedHost, framework: Starlette,
		summary: fmt.Sprintf("Starlette's TrustedHostMiddleware rejects the health check's Host header %s with 400 \"Invalid host header\": the instance's IP is not in allowed_hosts.", f.hostHeader),
		why:     why,
		fixes: []Fix{
			{
				Title: "Add the instance's private IP to allowed_hosts, read from the instance metadata service",
				Detail: "# main.py\n" + pythonInstanceIP + "\n\n" +
					"from starlette.middleware.trustedhost import TrustedHostMiddleware\n\n" +
					"allowed_hosts = [\"" + f.publicHost + "\"]\n" +
					"_ip = instance_private_ip()\n" +
					"if _ip:\n" +
					"    allowed_hosts.append(_ip)  # patterns are names or \"*.domain\": an IP range cannot be given\n" +
					"app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)",
				TradeOff:      pythonIMDSTradeOff + " With HTTPSRedirectMiddleware too, the check then gets a 307 instead: see the HTTPS redirect fixes.",
				readsMetadata: true,
			},
			{
				Title: "Serve the health route outside TrustedHostMiddleware",
				Detail: starletteExempt("TrustedHostMiddleware", "starlette.middleware.trustedhost", path) + "\n" +
					"app.add_middleware(TrustedHostMiddlewareExceptHealth, allowed_hosts=[\"" + f.publicHost + "\"])\n" + point,
				TradeOff: "The check then proves only that the process answers on that path; the host check still guards every other path.",
			},
		},
	}
}
