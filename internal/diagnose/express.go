package diagnose

import "fmt"

// Express is the Framework of a diagnosis of a Node.js Express app.
const Express = "Express"

// Express has no host validation of its own (middleware such as
// host-validation adds it) and reads X-Forwarded-Proto only with
// "trust proxy" set (https://expressjs.com/en/guide/behind-proxies.html).
func init() {
	register(frameworkText{
		name: Express, rank: 30,
		clues: []clue{
			{3, headerHas("X-Powered-By", "Express")},
			{3, cookieNamed("connect.sid")},
			{3, bodyHas("<pre>Cannot GET ")},
		},
		healthRoute:          "app.get('/health', (req, res) => res.send('ok'));",
		unauthenticatedRoute: "app.get('/health', (req, res) => res.send('ok')); // registered before the authentication middleware",
		bindAll:              func(facts) string { return "app.listen(process.env.PORT, process.env.HOST || '0.0.0.0');" },
		hostFix: func(f facts) Fix {
			return Fix{
				Title: "Answer the health path before the host check",
				Detail: "// Register it before the host-validation middleware (or DNS-rebinding guard).\n" +
					"app.get('/health', (req, res) => res.send('ok'));\n" +
					"app.use(hostValidation({ hosts: ['" + f.publicHost + "'] }));\n" + healthPathFix("/health"),
				TradeOff: "The check proves the process answers, not that what sits behind the host check works.",
			}
		},
		redirectWho: func(f facts) string {
			return fmt.Sprintf(" The app's HTTPS redirect middleware (express-sslify, express-force-ssl or its own) sees no X-Forwarded-Proto: https and answers %d to %s.", f.code, f.location)
		},
		redirectExempt: func(facts) Fix {
			return Fix{
				Title: "Skip the redirect for the health path, and trust the load balancer's header",
				Detail: "app.set('trust proxy', true); // req.secure then reads X-Forwarded-Proto\n" +
					"app.get('/health', (req, res) => res.send('ok')); // before the redirect\n" +
					"app.use((req, res, next) => req.secure ? next() : res.redirect(301, 'https://' + req.hostname + req.originalUrl));\n" + healthPathFix("/health"),
				TradeOff: "The health path answers over plain HTTP.",
			}
		},
	})
}
