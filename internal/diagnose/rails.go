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
//
// Both middlewares sit at the top of the stack, before ActionDispatch::RequestId
// and Rack::Runtime (railties 6.1,
// lib/rails/application/default_middleware_stack.rb), so their 403 and 301
// carry none of Rails' own headers: Rails is recognised from the user-like
// request, which gets through, or from the app's log line (logs.go).
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
		healthRoute:          railsUpRoute,
		unauthenticatedRoute: railsUpRoute + "\n# or, in your own controller: skip_before_action :authenticate_user!",
		processOnlyRoute:     "Use Rails' /up (Rails::HealthController, Rails 7.1+; before 7.1 the Rack endpoint below), which answers 200 once the app has booted without querying the database.\n" + railsUpRoute,
		fastRoute:            "Use /up (Rails::HealthController, Rails 7.1+; before 7.1 the Rack endpoint below).\n" + railsUpRoute,
		bindAll: func(f facts) string {
			return "bin/rails server -b 0.0.0.0 -p " + strconv.Itoa(f.port) + "   # puma: bind \"tcp://0.0.0.0:" + strconv.Itoa(f.port) + "\""
		},
		hostRejection: &hostRejection{
			code: 403,
			// The development page (consider_all_requests_local); production
			// answers an empty body.
			bodyMarks: []string{"Blocked host"},
			explain:   railsHostAuthorization,
		},
		redirectWho: func(f facts) string {
			return fmt.Sprintf(" Rails' config.force_ssl (ActionDispatch::SSL) takes a request without X-Forwarded-Proto: https for plain HTTP and answers %d to %s, before the request reaches the app's routes.", f.code, f.location)
		},
		// redirect: false keeps ActionDispatch::SSL's HSTS header on
		// requests with X-Forwarded-Proto: https but, the request being
		// "excluded", no longer flags cookies secure (actionpack 6.1,
		// lib/action_dispatch/middleware/ssl.rb).
		lbRedirectNote: "\n# config/environments/production.rb (Rails): no redirect in the app, HSTS kept\n" +
			"config.ssl_options = { redirect: false }  # cookies are then no longer flagged secure by config.force_ssl",
		redirectExempt: func(f facts) Fix {
			// ActionDispatch::SSL's redirect exclude is in Rails 6.1
			// (actionpack 6.1, lib/action_dispatch/middleware/ssl.rb);
			// config.assume_ssl only from 7.1.
			return Fix{
				Title: "Exclude the health path from config.force_ssl's redirect with config.ssl_options",
				Detail: "# config/environments/production.rb (Rails 6.1+)\n" +
					"config.force_ssl = true\n" +
					"config.ssl_options = { redirect: { exclude: ->(request) { request.path == \"/up\" } } }\n" +
					railsUpRoute + "\n" + healthPathFix("/up"),
				TradeOff: "/up is served over plain HTTP without HSTS; it reveals nothing but \"up\". " +
					"On Rails 7.1+ behind a load balancer that terminates TLS, config.assume_ssl = true stops the redirect for every path instead; then redirect plain HTTP at the load balancer.",
			}
		},
	})
}

// railsUpRoute serves /up. Rails 7.1 generates the route to
// Rails::HealthController; before 7.1 a Rack endpoint in the routes does
// the same (https://guides.rubyonrails.org/routing.html#routing-to-rack-applications).
const railsUpRoute = "# config/routes.rb: Rails 7.1+ generates get \"up\" => \"rails/health#show\", as: :rails_health_check; before 7.1:\n" +
	"get \"up\", to: ->(env) { [200, { \"Content-Type\" => \"text/plain\" }, [\"up\"]] }"

// railsHostAuthorization explains ActionDispatch::HostAuthorization's 403.
// Its log line is "[ActionDispatch::HostAuthorization::DefaultResponseApp]
// Blocked host: 172.31.5.17" in Rails 6.1, the host without the port
// (actionpack 6.1.7, lib/action_dispatch/middleware/host_authorization.rb,
// DefaultResponseApp#log_error), and "Blocked hosts: 172.31.5.17:80" from
// Rails 7.0, the Host header as sent. The exclude option is in 6.1 too
// (rails/rails pull request 38829).
func railsHostAuthorization(f facts) verdict {
	why := f.checkerSends() + fmt.Sprintf(" Rails' ActionDispatch::HostAuthorization accepts only the hosts in config.hosts, and the IP %s is not one of them, so it answers 403 before the request reaches the app: an empty body in production, the \"Blocked host\" page when config.consider_all_requests_local is on.", f.ip)
	if l := f.obs.logs; l != nil && l.AppLog != nil && l.AppLog.Kind == LogRailsBlockedHost {
		why += " Rails logged the refusal (quoted below)."
	} else {
		why += fmt.Sprintf(" It logs the refusal at error level: \"[ActionDispatch::HostAuthorization::DefaultResponseApp] Blocked host: %s\" (Rails 6.1), \"Blocked hosts: %s\" (Rails 7+).", f.ip, f.hostHeader)
	}
	why += f.asUserSaw()
	if u := f.userCode(); u == 403 {
		why += fmt.Sprintf(" That was refused too, so %s is not in config.hosts either: compare with the name your users use (elbow check --host NAME).", f.publicHost)
	} else if u != 0 {
		why += " Users' requests carry your public name and pass; only the health check is refused."
	}
	return verdict{
		id: CaseRailsHostAuthorization, framework: Rails,
		summary: fmt.Sprintf("Rails' host authorization (config.hosts) blocks the health check's Host header %s with 403.", f.hostHeader),
		why:     why,
		fixes: []Fix{
			{
				Title: "Exclude the health path from host authorization with config.host_authorization",
				Detail: "# config/environments/production.rb (Rails 6.1+)\n" +
					"config.host_authorization = { exclude: ->(request) { request.path == \"/up\" } }\n" +
					railsUpRoute + "\n" + healthPathFix("/up"),
				TradeOff: "Only /up skips the check; it proves the app boots, not that the database answers.",
			},
			{
				Title:         "Add the instance's private IP to config.hosts, read from the instance metadata service",
				Detail:        railsIMDSSnippet,
				readsMetadata: true,
				TradeOff: "The IP is read once, at boot, per instance: it works on EC2 and Elastic Beanstalk, and under elbow, which gives every instance its own metadata service in AWS_EC2_METADATA_SERVICE_ENDPOINT. " +
					"If the service does not answer within the short timeouts the app boots without the IP and the checks fail with 403 again. In a container, the IMDSv2 token needs the instance's HttpPutResponseHopLimit raised to 2.",
			},
			{
				Title: "Allow the VPC's private range in config.hosts",
				Detail: "# config/environments/production.rb\n" +
					"config.hosts << IPAddr.new(\"172.31.0.0/16\")  # your VPC's range; under elbow: \"127.0.0.0/8\"",
				TradeOff: "Every address of the range is accepted as Host on every path; that is safe only for a private range.",
			},
			matcherFix("200,403", "Last resort: every 403 then counts as healthy, including the one Rails answers before the app runs, so the check proves only that the server process answers, and a real host or authorization problem goes unnoticed."),
		},
	}
}

// railsIMDSSnippet reads the instance's private IP with IMDSv2 ("Use the
// Instance Metadata Service to access instance metadata",
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html):
// a token from PUT /latest/api/token, then GET
// /latest/meta-data/local-ipv4 with it. Net::HTTP.start's third argument nil
// bypasses http_proxy (Ruby's net/http), which must not see the request;
// IPAddr.new refuses an error page taken for an address.
const railsIMDSSnippet = `# config/environments/production.rb
require "net/http"
instance_ip = begin
  endpoint = URI(ENV.fetch("AWS_EC2_METADATA_SERVICE_ENDPOINT", "` + ec2MetadataEndpoint + `"))
  Net::HTTP.start(endpoint.host, endpoint.port, nil, open_timeout: 0.5, read_timeout: 0.5) do |http|
    token = http.request(Net::HTTP::Put.new("/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds" => "60"))
    raise "token: HTTP #{token.code}" unless token.code == "200"
    answer = http.request(Net::HTTP::Get.new("/latest/meta-data/local-ipv4", "X-aws-ec2-metadata-token" => token.body))
    raise "local-ipv4: HTTP #{answer.code}" unless answer.code == "200"
    IPAddr.new(answer.body.strip).to_s
  end
rescue StandardError => e
  warn "config.hosts: no instance IP from the metadata service: #{e.message}"
  nil
end
config.hosts << instance_ip if instance_ip`
