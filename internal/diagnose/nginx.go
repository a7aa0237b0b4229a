package diagnose

import (
	"fmt"
	"strconv"
	"strings"
)

// Nginx is the Framework of a diagnosis of a target whose failing answer
// comes from nginx in front of the app.
const Nginx = "nginx"

// nginx picks the server block by Host, and a Host no server_name matches,
// such as the health check's IP, goes to the default server
// (https://nginx.org/en/docs/http/request_processing.html).
func init() {
	register(frameworkText{
		name: Nginx, rank: 70,
		clues: []clue{
			{2, headerHas("Server", "nginx")},
			{2, bodyHas("<hr><center>nginx")},
		},
		server:              true,
		ownPage:             nginxOwnPage,
		healthRoute:         "location = /health { access_log off; default_type text/plain; return 200 \"ok\\n\"; }",
		healthRouteTradeOff: "Answered by nginx itself, the check no longer proves the app behind it is up; proxy /health to the app to keep that.",
		bindAll: func(f facts) string {
			return "listen " + strconv.Itoa(f.port) + ";   # not listen 127.0.0.1:" + strconv.Itoa(f.port) + ";"
		},
		hostFix: func(f facts) Fix {
			return Fix{
				Title: "Give the health path to the default server",
				Detail: "# nginx: the health check's Host is the IP, so it lands in the default server\n" +
					"server {\n    listen " + strconv.Itoa(f.port) + " default_server;\n    location = /health { access_log off; default_type text/plain; return 200 \"ok\\n\"; }\n}\n" + healthPathFix("/health"),
				TradeOff: "The check then stops at nginx and no longer proves the app behind it answers; proxy /health to the app instead to keep that.",
			}
		},
		redirectWho: func(f facts) string {
			return fmt.Sprintf(" nginx redirects every plain-HTTP request (return %d https://$host$request_uri) without looking at X-Forwarded-Proto.", f.code)
		},
		redirectExempt: func(f facts) Fix {
			return Fix{
				Title: "Redirect only what came to the load balancer over HTTP, and answer the health path",
				Detail: "server {\n" +
					"    listen " + strconv.Itoa(f.port) + ";\n" +
					"    location = /health { access_log off; default_type text/plain; return 200 \"ok\\n\"; }\n" +
					"    if ($http_x_forwarded_proto = \"http\") { return 301 https://$host$request_uri; }\n" +
					"    # ... proxy_pass to the app\n" +
					"}\n" + healthPathFix("/health"),
				TradeOff: "Requests that reach nginx directly (no X-Forwarded-Proto) are served over plain HTTP; the load balancer's port 80 listener still redirects users.",
			}
		},
	})
}

// nginxOwnPage reports whether ex is one of nginx's built-in error or redirect pages.
func nginxOwnPage(ex *Exchange) bool {
	return ex != nil && strings.Contains(ex.Body, "<hr><center>nginx")
}
