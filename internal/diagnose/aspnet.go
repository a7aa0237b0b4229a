package diagnose

import (
	"fmt"
	"strconv"
)

// ASPNET is the Framework of a diagnosis of an ASP.NET Core app.
const ASPNET = "ASP.NET Core"

// ASP.NET Core filters Host with AllowedHosts
// (https://learn.microsoft.com/en-us/aspnet/core/fundamentals/servers/kestrel/host-filtering)
// and redirects plain HTTP with UseHttpsRedirection
// (https://learn.microsoft.com/en-us/aspnet/core/security/enforcing-ssl).
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
		hostFix: func(facts) Fix {
			return Fix{
				Title: "Add the instance's private IP to AllowedHosts at start-up",
				Detail: "// Program.cs: read local-ipv4 from the metadata service (IMDSv2, short timeout), then\n" +
					"builder.Services.PostConfigure<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>(o => o.AllowedHosts.Add(privateIp));",
				TradeOff:      "One more start-up step per instance; if the lookup fails, checks fail again with 400.",
				readsMetadata: true,
			}
		},
		redirectWho: func(f facts) string {
			return fmt.Sprintf(" ASP.NET Core's UseHttpsRedirection sees a plain-HTTP request and answers %d to %s.", f.code, f.location)
		},
		redirectExempt: func(facts) Fix {
			return Fix{
				Title: "Map the health check outside the HTTPS redirection",
				Detail: "// Program.cs\n" +
					"builder.Services.AddHealthChecks();\n" +
					"app.UseForwardedHeaders(new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedProto });\n" +
					"app.UseWhen(ctx => !ctx.Request.Path.StartsWithSegments(\"/health\"), branch => branch.UseHttpsRedirection());\n" +
					"app.MapHealthChecks(\"/health\");\n" + healthPathFix("/health"),
				TradeOff: "/health answers over plain HTTP.",
			}
		},
	})
}
