package diagnose

import (
	"fmt"
	"strings"
)

// Express is the Framework of a diagnosis of a Node.js Express app.
const Express = "Express"

// Express has no host validation of its own (middleware such as
// host-validation, or a DNS-rebinding guard, adds it, answering 403) and
// reads X-Forwarded-Proto only with "trust proxy" set: req.secure is
// req.protocol == 'https', and the protocol getter reads the header only
// when the peer's address is trusted (expressjs/express lib/request.js,
// 4.18; https://expressjs.com/en/guide/behind-proxies.html). Middleware and
// routes run in the order they are registered
// (https://expressjs.com/en/guide/using-middleware.html), so a route
// registered first answers before any host check or redirect.
func init() {
	register(frameworkText{
		name: Express, rank: 30,
		clues: []clue{
			// Set on every response unless app.disable('x-powered-by')
			// (lib/application.js, defaultConfiguration, 4.18).
			{3, headerHas("X-Powered-By", "Express")},
			{3, cookieNamed("connect.sid")},
			// finalhandler's 404 page.
			{3, bodyHas("<pre>Cannot GET ")},
		},
		healthRoute:          "app.get('/health', (req, res) => res.send('ok'));",
		unauthenticatedRoute: "app.get('/health', (req, res) => res.send('ok')); // registered before the authentication middleware",
		bindAll:              func(facts) string { return "app.listen(process.env.PORT, process.env.HOST || '0.0.0.0');" },
		hostFix: func(f facts) Fix {
			return Fix{
				Title: "Register app.get('/health') before the host check",
				Detail: "// Express runs middleware in registration order: a route registered first answers\n" +
					"// before the host-validation middleware (or DNS-rebinding guard) sees the IP Host.\n" +
					"app.get('/health', (req, res) => res.send('ok'));\n" +
					"app.use(hostValidation({ hosts: ['" + f.publicHost + "'] }));  // your host check, unchanged\n" + healthPathFix("/health"),
				TradeOff: "The check proves the process answers, not that what sits behind the host check works.",
			}
		},
		redirectWho: expressRedirectWho,
		redirectExempt: func(facts) Fix {
			return Fix{
				Title: "Set app.set('trust proxy', ...) and register the health route before the redirect",
				Detail: "// The load balancer (and nginx on Beanstalk) are the proxies: trust them, and req.secure\n" +
					"// then reads X-Forwarded-Proto, which users' requests carry and the health check does not.\n" +
					"app.set('trust proxy', 'loopback, 172.31.0.0/16');  // your VPC's range; under elbow: 'loopback'\n" +
					"app.get('/health', (req, res) => res.send('ok'));  // before the redirect\n" +
					"app.use((req, res, next) => req.secure ? next() : res.redirect(301, 'https://' + req.hostname + req.originalUrl));\n" + healthPathFix("/health"),
				TradeOff: "The health path answers over plain HTTP; trust only the load balancer's addresses, or clients could forge X-Forwarded-Proto and X-Forwarded-For.",
			}
		},
		lbRedirectNote: "\nThen remove the app's redirect middleware (express-sslify, express-force-ssl or your own).",
	})
}

// expressRedirectWho tells the two redirects apart: one that reads
// X-Forwarded-Proto itself, which only the health check lacks, and one on
// req.secure without trust proxy, which redirects every request.
func expressRedirectWho(f facts) string {
	u := f.obs.asUser
	if u.Answered() && isRedirect(u.StatusCode) && strings.HasPrefix(strings.ToLower(u.Location), "https://") {
		return fmt.Sprintf(" The app's HTTPS redirect answers %d to %s even with X-Forwarded-Proto: https: it tests req.secure (or req.protocol), which Express computes from the connection alone unless app.set('trust proxy') names the load balancer, so every request behind it looks like plain HTTP.", f.code, f.location)
	}
	return fmt.Sprintf(" The app's HTTPS redirect middleware (express-sslify, express-force-ssl or its own) sees no X-Forwarded-Proto: https and answers %d to %s.", f.code, f.location)
}
