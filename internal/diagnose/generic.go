package diagnose

import "fmt"

// generic is the wording for an app in which no framework was recognised,
// and the default of every field a registered framework leaves zero.
var generic = frameworkText{
	healthPath:           "/health",
	healthRoute:          "Add a route that answers 200 with a short body.",
	healthRouteTradeOff:  "None: a dedicated path is cheap and says exactly what it checks.",
	unauthenticatedRoute: "Serve a health path that needs no authentication.",
	processOnlyRoute:     "Let the load balancer's path check the process only, and report dependencies elsewhere (metrics, a separate /health/deep for monitoring).",
	fastRoute:            "Make the path cheap: answer \"ok\" without queries or remote calls.",
	metadataEndpoint:     "Take the base URL from the environment variable AWS_EC2_METADATA_SERVICE_ENDPOINT, and only when it is unset use " + ec2MetadataEndpoint + ".",
	bindAll: func(facts) string {
		return "Bind to 0.0.0.0 (all addresses) or to the instance's IP; under elbow, listen on $HOST:$PORT."
	},
	redirectWho: func(f facts) string {
		return fmt.Sprintf(" The app redirects plain-HTTP requests to HTTPS and answers %d to %s.", f.code, f.location)
	},
	redirectExempt: func(facts) Fix {
		return Fix{
			Title:    "Exempt a health path from the HTTPS redirect",
			Detail:   "Serve /health before the redirect (or skip the redirect when the path is /health), and decide \"secure\" from X-Forwarded-Proto, which the load balancer sets. " + healthPathFix("/health"),
			TradeOff: "The health path answers over plain HTTP.",
		}
	},
}
