package diagnose

import (
	"fmt"
	"net/http"
	"strings"
)

// Laravel is the Framework of a diagnosis of a Laravel (PHP) app.
const Laravel = "Laravel"

// CaseLaravelTrustedHosts is Laravel's TrustHosts middleware refusing the
// health check's Host.
const CaseLaravelTrustedHosts = "laravel-trusted-hosts"

// Laravel 8's TrustHosts middleware (Illuminate/Http/Middleware/TrustHosts.php,
// laravel/framework 8.83) only hands its list to Symfony's
// Request::setTrustedHosts; the refusal happens when something reads the
// host (a URL generated with url(), route(), asset() or redirect()):
// Request::getHost throws SuspiciousOperationException, which Laravel's
// exception handler turns into a 404 "Bad hostname provided." and never
// logs (Illuminate/Foundation/Exceptions/Handler.php, prepareException and
// $internalDontReport). A page that generates no URL is served to any Host.
// https://laravel.com/docs/8.x/requests#configuring-trusted-hosts
func init() {
	register(frameworkText{
		name: Laravel, rank: 45,
		clues: []clue{
			{3, cookieNamed("laravel_session")},
			{2, cookieNamed("XSRF-TOKEN")},
			// The error pages (Illuminate/Foundation/Exceptions/views/minimal.blade.php, 8.x).
			{3, laravelErrorPage},
		},
		healthRoute:          "// routes/web.php\nRoute::get('/health', fn () => 'ok');",
		unauthenticatedRoute: "// routes/web.php, outside the auth middleware group\nRoute::get('/health', fn () => 'ok');",
		bindAll: func(facts) string {
			return "php artisan serve --host=0.0.0.0 (or nginx/php-fpm listening on all addresses)"
		},
		hostRejection: &hostRejection{
			code:    404,
			explain: laravelTrustedHosts,
		},
		redirectWho: func(f facts) string {
			return fmt.Sprintf(" The app's redirect-to-HTTPS middleware (Laravel has none of its own; URL::forceScheme('https') only changes generated URLs) sees $request->secure() false and answers %d to %s.", f.code, f.location)
		},
		redirectExempt: func(facts) Fix {
			return Fix{
				Title: "Trust the load balancer in TrustProxies and skip the redirect for the health route",
				Detail: "// app/Http/Middleware/TrustProxies.php: $request->secure() then reads X-Forwarded-Proto\n" +
					"protected $proxies = ['172.31.0.0/16'];  // your VPC's range; under elbow: '127.0.0.0/8' (or '*')\n" +
					"// your redirect middleware\n" +
					"if (! $request->secure() && ! $request->is('health')) {\n    return redirect()->secure($request->getRequestUri());\n}\n" +
					"// routes/web.php\nRoute::get('/health', fn () => 'ok');\n" + healthPathFix("/health"),
				TradeOff: "/health answers over plain HTTP.",
			}
		},
		lbRedirectNote: "\nThen remove the app's redirect middleware; keep TrustProxies so generated URLs stay https.",
	})
}

func laravelErrorPage(_ http.Header, body string) bool {
	return strings.Contains(body, "family=Nunito") && strings.Contains(body, "normalize.css")
}

// laravelTrustedHosts explains TrustHosts' refusal.
func laravelTrustedHosts(f facts) verdict {
	why := f.checkerSends() + fmt.Sprintf(" Laravel's TrustHosts middleware trusts only the hosts its hosts() method returns (by default every subdomain of APP_URL), and %s is not one of them: when the page reads the host (a generated URL), Symfony's Request::getHost throws SuspiciousOperationException, which Laravel answers as 404 (\"Bad hostname provided.\") without logging it.", f.ip)
	why += f.asUserSaw()
	return verdict{
		id: CaseLaravelTrustedHosts, framework: Laravel,
		summary: fmt.Sprintf("Laravel's TrustHosts refuses the health check's Host header %s with 404: the instance's IP is not a trusted host.", f.hostHeader),
		why:     why,
		fixes: []Fix{
			{
				Title: "Skip TrustHosts for the health route",
				Detail: "// app/Http/Middleware/TrustHosts.php\n" +
					"public function handle(\\Illuminate\\Http\\Request $request, $next)\n{\n    if ($request->is('health')) {\n        return $next($request);  // the checker's Host is the instance's IP\n    }\n    return parent::handle($request, $next);\n}\n" +
					"// routes/web.php\nRoute::get('/health', fn () => 'ok');\n" + healthPathFix("/health"),
				TradeOff: "/health proves the app boots, not what the other pages do.",
			},
			{
				Title: "Trust the instance's private IP in TrustHosts::hosts(), read from the instance metadata service",
				Detail: "// app/Http/Middleware/TrustHosts.php\n" +
					"public function hosts()\n{\n    return [$this->allSubdomainsOfApplicationUrl(), '^'.preg_quote(config('app.private_ip')).'$'];\n}\n" +
					"// config/app.php: 'private_ip' => env('PRIVATE_IP'), set at start-up from the metadata service:\n" +
					"//   TOKEN=$(curl -sf -m 1 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \"${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}/latest/api/token\")\n" +
					"//   PRIVATE_IP=$(curl -sf -m 1 -H \"X-aws-ec2-metadata-token: $TOKEN\" \"${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}/latest/meta-data/local-ipv4\")",
				TradeOff:      "One more start-up step per instance; an empty PRIVATE_IP would trust nothing new and checks fail again with 404.",
				readsMetadata: true,
			},
		},
	}
}
