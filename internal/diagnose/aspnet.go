package diagnose

import (
	"fmt"
	"strconv"
	"strings"
)

// ASPNET is the Framework of a diagnosis of an ASP.NET Core app.
const ASPNET = "ASP.NET Core"

// CaseASPNETHostFiltering is ASP.NET Core's host filtering refusing the
// health check's Host.
const CaseASPNETHostFiltering = "aspnet-host-filtering"

// LogASPNETHostNotAllowed is the kind of HostFilteringMiddleware's line
// "The host '172.31.5.17:80' does not match an allowed host." (event 6,
// NoAllowedHostMatched, Information: dotnet/aspnetcore
// src/Middleware/HostFiltering/src/LoggerExtensions.cs).
const LogASPNETHostNotAllowed = "aspnet-host-not-allowed"

// aspnetInvalidHostname is the heading of the page HostFilteringMiddleware
// answers with (DefaultResponse in
// src/Middleware/HostFiltering/src/HostFilteringMiddleware.cs, .NET 6-8;
// the same page as Http.Sys's).
const aspnetInvalidHostname = "Bad Request - Invalid Hostname"

// ASP.NET Core filters Host with AllowedHosts
// (https://learn.microsoft.com/en-us/aspnet/core/fundamentals/servers/kestrel/host-filtering)
// and redirects plain HTTP with UseHttpsRedirection, 307 by default
// (https://learn.microsoft.com/en-us/aspnet/core/security/enforcing-ssl);
// behind a load balancer, ASPNETCORE_FORWARDEDHEADERS_ENABLED=true makes it
// honour X-Forwarded-Proto from any proxy
// (https://learn.microsoft.com/en-us/aspnet/core/host-and-deploy/proxy-load-balancer#forward-the-scheme-for-linux-and-non-iis-reverse-proxies).
func init() {
	register(frameworkText{
		name: ASPNET, rank: 50,
		clues: []clue{
			{3, headerHas("Server", "Kestrel")},
			{3, headerHas("X-Powered-By", "ASP.NET")},
			{3, cookieNamed("*.AspNetCore.Session")},
			{3, cookieNamed(".AspNetCore.Antiforgery")},
		},
		healthRoute:          "builder.Services.AddHealthChecks();\napp.MapHealthChecks(\"/health\");",
		unauthenticatedRoute: "app.MapHealthChecks(\"/health\").AllowAnonymous();",
		bindAll:              func(f facts) string { return "ASPNETCORE_URLS=http://0.0.0.0:" + strconv.Itoa(f.port) },
		hostRejection: &hostRejection{
			code:      400,
			bodyMarks: []string{aspnetInvalidHostname},
			explain:   aspnetHostFiltering,
		},
		appLogs: []appLogLine{{
			kind: LogASPNETHostNotAllowed, code: 400,
			match: func(line string) bool {
				return strings.Contains(line, "The host '") && strings.Contains(line, "' does not match an allowed host.")
			},
		}},
		hostFix: func(facts) Fix { return aspnetAllowedHostsFix() },
		redirectWho: func(f facts) string {
			return fmt.Sprintf(" ASP.NET Core's UseHttpsRedirection (HttpsRedirectionMiddleware) sees a plain-HTTP request and answers %d to %s.", f.code, f.location)
		},
		redirectExempt: func(facts) Fix {
			return Fix{
				Title: "Map the health check outside UseHttpsRedirection, and honour X-Forwarded-Proto",
				Detail: "# environment: the forwarded headers middleware then trusts the load balancer's X-Forwarded-Proto\n" +
					"ASPNETCORE_FORWARDEDHEADERS_ENABLED=true\n" +
					"// Program.cs\n" +
					"builder.Services.AddHealthChecks();\n" +
					"app.UseWhen(ctx => !ctx.Request.Path.StartsWithSegments(\"/health\"), branch => branch.UseHttpsRedirection());\n" +
					"app.MapHealthChecks(\"/health\");\n" + healthPathFix("/health"),
				TradeOff: "/health answers over plain HTTP.",
			}
		},
		lbRedirectNote: "\nThen remove app.UseHttpsRedirection() (and HSTS stays the load balancer's listener's job).",
	})
}

// aspnetHostFiltering explains HostFilteringMiddleware's refusal: it
// compares the Host, port ignored, with AllowedHosts (appsettings.json,
// semicolon-separated) and answers 400 with its own page.
func aspnetHostFiltering(f facts) verdict {
	why := f.checkerSends() + fmt.Sprintf(" ASP.NET Core's HostFilteringMiddleware accepts only the names in AllowedHosts (appsettings.json, or the AllowedHosts environment variable), and %s is not one of them, so it answers 400 with its page %q and logs \"The host '%s' does not match an allowed host.\" (at Information, which the templates' \"Microsoft.AspNetCore\": \"Warning\" hides).",
		f.ip, aspnetInvalidHostname, f.hostHeader)
	why += f.asUserSaw()
	if u := f.userCode(); u == 400 {
		why += fmt.Sprintf(" That was refused too, so %s is not in AllowedHosts either: compare with the name your users use (elbow check --host NAME).", f.publicHost)
	}
	why += " Do not set AllowedHosts to \"*\": it switches the filtering off for every path."
	return verdict{
		id: CaseASPNETHostFiltering, framework: ASPNET,
		summary: fmt.Sprintf("ASP.NET Core's host filtering rejects the health check's Host header %s with 400: the instance's IP is not in AllowedHosts.", f.hostHeader),
		why:     why,
		fixes: []Fix{
			aspnetAllowedHostsFix(),
			{
				Title:    "Let the health path skip host validation",
				Detail:   "Host filtering runs first in the pipeline, before any endpoint: set AllowedHosts to \"*\" in configuration and add it yourself outside /health:\napp.UseWhen(ctx => !ctx.Request.Path.StartsWithSegments(\"/health\"), b => b.UseHostFiltering());\nbuilder.Services.Configure<HostFilteringOptions>(o => o.AllowedHosts = new[] { \"" + f.publicHost + "\" });\n" + healthPathFix("/health"),
				TradeOff: "More code than the setting; /health then proves the process answers, not what host filtering guards.",
			},
		},
	}
}

// aspnetAllowedHostsFix adds the private IP, read from the metadata service
// with IMDSv2, to HostFilteringOptions.AllowedHosts, which the default
// configuration fills as an array (hence a new list, not Add).
func aspnetAllowedHostsFix() Fix {
	return Fix{
		Title: "Add the instance's private IP to AllowedHosts at start-up, read from the instance metadata service",
		Detail: `// Program.cs: allow the instance's private IP, the Host the ELB health check sends.
static async Task<string?> InstancePrivateIpAsync()
{
    var endpoint = (Environment.GetEnvironmentVariable("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? "http://169.254.169.254").TrimEnd('/');
    using var http = new HttpClient(new HttpClientHandler { UseProxy = false }) { Timeout = TimeSpan.FromMilliseconds(500) };
    try
    {
        using var token = new HttpRequestMessage(HttpMethod.Put, endpoint + "/latest/api/token");
        token.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", "60");
        using var tokenResponse = await http.SendAsync(token);
        if (!tokenResponse.IsSuccessStatusCode) return null;
        using var ip = new HttpRequestMessage(HttpMethod.Get, endpoint + "/latest/meta-data/local-ipv4");
        ip.Headers.Add("X-aws-ec2-metadata-token", await tokenResponse.Content.ReadAsStringAsync());
        using var ipResponse = await http.SendAsync(ip);
        if (!ipResponse.IsSuccessStatusCode) return null;
        var text = (await ipResponse.Content.ReadAsStringAsync()).Trim();
        return System.Net.IPAddress.TryParse(text, out _) ? text : null;
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return null; }
}

var privateIp = await InstancePrivateIpAsync();
if (privateIp is not null)
    builder.Services.PostConfigure<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>(
        o => o.AllowedHosts = o.AllowedHosts.Append(privateIp).ToList());`,
		TradeOff:      "One more start-up step per instance; if the lookup fails, checks fail again with 400. In a container, the IMDSv2 token needs the instance's HttpPutResponseHopLimit raised to 2.",
		readsMetadata: true,
	}
}
