package diagnose

import (
	"fmt"
	"net/http"
	"strings"
)

// Spring is the Framework of a diagnosis of a Spring Boot app.
const Spring = "Spring"

// CaseSpringUntrustedHost is Spring Security's StrictHttpFirewall refusing
// the health check's Host.
const CaseSpringUntrustedHost = "spring-untrusted-host"

// LogSpringRequestRejected is the kind of the line quoting
// RequestRejectedException's "The request was rejected because the domain
// 172.31.5.17 is untrusted." (StrictHttpFirewall.rejectedUntrustedHosts in
// spring-projects/spring-security
// web/src/main/java/org/springframework/security/web/firewall/StrictHttpFirewall.java).
const LogSpringRequestRejected = "spring-request-rejected"

// Spring Security's StrictHttpFirewall restricts Host names with
// setAllowedHostnames, tested against getServerName(), the Host without its
// port (https://docs.spring.io/spring-security/reference/servlet/exploits/firewall.html);
// since Spring Security 6.0 FilterChainProxy's default
// HttpStatusRequestRejectedHandler answers a refusal with 400 and logs it at
// DEBUG only (HttpStatusRequestRejectedHandler.java). Spring Boot Actuator
// serves /actuator/health and its liveness group
// (https://docs.spring.io/spring-boot/reference/actuator/endpoints.html#actuator.endpoints.kubernetes-probes);
// server.forward-headers-strategy makes the app honour X-Forwarded-Proto
// (https://docs.spring.io/spring-boot/how-to/webserver.html#howto.webserver.use-behind-a-proxy-server).
func init() {
	register(frameworkText{
		name: Spring, rank: 40,
		clues: []clue{
			{2, cookieNamed("JSESSIONID")},
			{3, bodyHas("Whitelabel Error Page")},
			{1, headerPresent("X-Application-Context")},
			{2, springSecurityHeaders},
		},
		healthPath:           "/actuator/health",
		healthRoute:          "Add spring-boot-starter-actuator; it serves /actuator/health.",
		unauthenticatedRoute: "// SecurityFilterChain\nhttp.authorizeHttpRequests(a -> a.requestMatchers(\"/actuator/health\").permitAll().anyRequest().authenticated());",
		processOnlyRoute:     "management.endpoint.health.probes.enabled=true\n# then health_check path /actuator/health/liveness, which does not include the database",
		bindAll:              func(facts) string { return "server.address=0.0.0.0" },
		hostRejection: &hostRejection{
			// No page of its own: Tomcat's error page, or Boot's.
			code:    400,
			explain: springUntrustedHost,
		},
		appLogs: []appLogLine{{
			kind: LogSpringRequestRejected, code: 400,
			match: func(line string) bool {
				return strings.Contains(line, "The request was rejected because the domain ") && strings.Contains(line, " is untrusted.")
			},
		}},
		hostFix: func(f facts) Fix { return springAllowedHostnamesFix(f) },
		redirectWho: func(f facts) string {
			return fmt.Sprintf(" Spring Security's requiresChannel(...).requiresSecure() (ChannelProcessingFilter, RetryWithHttpsEntryPoint) sees a plain-HTTP request and answers %d to %s.", f.code, f.location)
		},
		redirectExempt: func(facts) Fix {
			return Fix{
				Title: "Set server.forward-headers-strategy and let the health endpoint use any channel",
				Detail: "# application.properties: honour the load balancer's X-Forwarded-Proto\n" +
					"server.forward-headers-strategy=native\n" +
					"// SecurityFilterChain\n" +
					"http.requiresChannel(c -> c.requestMatchers(\"/actuator/health/**\").requires(\"ANY_CHANNEL\").anyRequest().requiresSecure());\n" + healthPathFix("/actuator/health"),
				TradeOff: "/actuator/health answers over plain HTTP; keep its details hidden (management.endpoint.health.show-details=never, the default).",
			}
		},
		lbRedirectNote: "\nThen remove requiresChannel(...).requiresSecure() (and server.ssl on the app).",
	})
}

// springSecurityHeaders matches the response headers Spring Security 6
// writes by default (HeaderWriterFilter): X-XSS-Protection: 0 with
// X-Frame-Options: DENY and Expires: 0 is its set and few others'.
func springSecurityHeaders(h http.Header, _ string) bool {
	return h.Get("X-XSS-Protection") == "0" && h.Get("X-Frame-Options") == "DENY" && h.Get("Expires") == "0"
}

// springUntrustedHost explains StrictHttpFirewall's refusal of the IP.
func springUntrustedHost(f facts) verdict {
	why := f.checkerSends() + fmt.Sprintf(" Spring Security's StrictHttpFirewall accepts only the host names its setAllowedHostnames predicate allows, and %s is not one of them: it throws RequestRejectedException (\"The request was rejected because the domain %s is untrusted.\"), which Spring Security 6 answers with 400 and logs at DEBUG only (Spring Security 5 let it through as a 500).",
		f.ip, f.ip)
	why += f.asUserSaw()
	return verdict{
		id: CaseSpringUntrustedHost, framework: Spring,
		summary: fmt.Sprintf("Spring Security's StrictHttpFirewall rejects the health check's Host header %s with %d: the instance's IP is not an allowed host name.", f.hostHeader, f.code),
		why:     why,
		fixes: []Fix{
			springAllowedHostnamesFix(f),
			{
				Title: "Allow the VPC's private range in setAllowedHostnames",
				Detail: "IpAddressMatcher vpc = new IpAddressMatcher(\"172.31.0.0/16\");  // your VPC's range; under elbow: \"127.0.0.0/8\"\n" +
					"firewall.setAllowedHostnames(host -> host.equals(\"" + f.publicHost + "\") || (host.matches(\"[0-9.]+\") && vpc.matches(host)));",
				TradeOff: "Every address of the range is accepted as a host name, on every path.",
			},
		},
	}
}

// springAllowedHostnamesFix allows the private IP, read from the metadata
// service with IMDSv2, in the firewall bean Spring Security picks up.
func springAllowedHostnamesFix(f facts) Fix {
	return Fix{
		Title: "Allow the instance's private IP in StrictHttpFirewall.setAllowedHostnames, read from the instance metadata service",
		Detail: `@Bean
StrictHttpFirewall httpFirewall() throws InterruptedException {
    String privateIp = instancePrivateIp();  // null when the metadata service does not answer
    StrictHttpFirewall firewall = new StrictHttpFirewall();
    firewall.setAllowedHostnames(host -> host.equals("` + f.publicHost + `") || host.equals(privateIp));
    return firewall;
}

static String instancePrivateIp() throws InterruptedException {
    String endpoint = Objects.requireNonNullElse(System.getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"), "http://169.254.169.254").replaceAll("/$", "");
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).proxy(HttpClient.Builder.NO_PROXY).build();
    try {
        HttpResponse<String> token = http.send(HttpRequest.newBuilder(URI.create(endpoint + "/latest/api/token"))
                .PUT(HttpRequest.BodyPublishers.noBody()).header("X-aws-ec2-metadata-token-ttl-seconds", "60")
                .timeout(Duration.ofMillis(500)).build(), HttpResponse.BodyHandlers.ofString());
        if (token.statusCode() != 200) return null;
        HttpResponse<String> ip = http.send(HttpRequest.newBuilder(URI.create(endpoint + "/latest/meta-data/local-ipv4"))
                .header("X-aws-ec2-metadata-token", token.body()).timeout(Duration.ofMillis(500)).build(), HttpResponse.BodyHandlers.ofString());
        String text = ip.body().trim();
        return ip.statusCode() == 200 && text.matches("\\d{1,3}(\\.\\d{1,3}){3}") ? text : null;
    } catch (IOException e) {
        return null;
    }
}`,
		TradeOff:      "One more start-up step per instance; if the lookup fails, checks fail again with 400. In a container, the IMDSv2 token needs the instance's HttpPutResponseHopLimit raised to 2.",
		readsMetadata: true,
	}
}
