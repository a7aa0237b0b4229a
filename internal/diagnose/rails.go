package diagnose

import (
	"fmt"
	"strconv"
)

// Rails is the Framework of a diagnosis of a Ruby on Rails app.
const Rails = "Rails"

// Rails validates Host with ActionDispatch::HostAuthorization and
// config.hosts
// (https://guides.rubyonrails.org/configuring.html#actiondispatch-hostauthorization)
// and redirects plain HTTP with config.force_ssl
// (https://guides.rubyonrails.org/configuring.html#config-force-ssl).
func init() {
	register(frameworkText{
		name: Rails, rank: 20,
		clues: []clue{
			{2, headerPresent("X-Runtime")},
			{1, headerPresent("X-Request-Id")},
			{2, cookieNamed("*_session")},
			{3, bodyHas("Blocked host")},
			{3, bodyHas("config.hosts")},
			{1, headerPresent("X-Permitted-Cross-Domain-Policies")},
		},
		healthPath:           "/up",
		healthRoute:          "# config/routes.rb (Rails 7.1+ generates it)\nget \"up\" => \"rails/health#show\", as: :rails_health_check",
		unauthenticatedRoute: "# routes.rb (Rails::HealthController skips authentication)\nget \"up\" => \"rails/health#show\", as: :rails_health_check\n# or, in your own controller: skip_before_action :authenticate_user!",
		processOnlyRoute:     "Use Rails' /up (Rails::HealthController), which answers 200 once the app has booted without querying the database.",
		fastRoute:            "Use /up (Rails::HealthController).",
		bindAll: func(f facts) string {
			return "bin/rails server -b 0.0.0.0 -p " + strconv.Itoa(f.port) + "   # puma: bind \"tcp://0.0.0.0:" + strconv.Itoa(f.port) + "\""
		},
		hostRejection: &hostRejection{
			code: 403,
			// The development page; production answers an empty body.
			bodyMarks: []string{"Blocked host"},
			explain:   railsHostAuthorization,
		},
		redirectWho: func(f facts) string {
			return fmt.Sprintf(" Rails' config.force_ssl (ActionDispatch::SSL) sees a plain-HTTP request and answers %d to %s.", f.code, f.location)
		},
		redirectExempt: func(f facts) Fix {
			return Fix{
				Title: "Exclude the health path from the SSL redirect",
				Detail: "# config/environments/production.rb\n" +
					"config.assume_ssl = true  # trust the load balancer's TLS termination\n" +
					"config.force_ssl = true\n" +
					"config.ssl_options = { redirect: { exclude: ->(request) { request.path == \"/up\" } } }\n" + healthPathFix("/up"),
				TradeOff: "/up is served over plain HTTP; it reveals nothing but \"up\".",
			}
		},
	})
}

// railsHostAuthorization quotes the log line of
// actionpack/lib/action_dispatch/middleware/host_authorization.rb in
// rails/rails; config.host_authorization's exclude was added for load
// balancer health checks (rails/rails pull request 38829).
func railsHostAuthorization(f facts) verdict {
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
					"#   get \"up\" => \"rails/health#show\", as: :rails_health_check\n" + healthPathFix("/up"),
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
