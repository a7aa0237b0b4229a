package diagnose

// Spring is the Framework of a diagnosis of a Spring Boot app.
const Spring = "Spring"

// Spring Security's StrictHttpFirewall can restrict Host names
// (https://docs.spring.io/spring-security/reference/servlet/exploits/firewall.html);
// Spring Boot Actuator serves /actuator/health and its liveness group
// (https://docs.spring.io/spring-boot/reference/actuator/endpoints.html#actuator.endpoints.kubernetes-probes).
func init() {
	register(frameworkText{
		name: Spring, rank: 40,
		clues: []clue{
			{2, cookieNamed("JSESSIONID")},
			{3, bodyHas("Whitelabel Error Page")},
			{1, headerPresent("X-Application-Context")},
		},
		healthPath:           "/actuator/health",
		healthRoute:          "Add spring-boot-starter-actuator; it serves /actuator/health.",
		unauthenticatedRoute: "// SecurityFilterChain\nhttp.authorizeHttpRequests(a -> a.requestMatchers(\"/actuator/health\").permitAll().anyRequest().authenticated());",
		processOnlyRoute:     "management.endpoint.health.probes.enabled=true\n# then health_check path /actuator/health/liveness, which does not include the database",
		bindAll:              func(facts) string { return "server.address=0.0.0.0" },
		hostFix: func(f facts) Fix {
			return Fix{
				Title:         "Allow the instance's private IP in StrictHttpFirewall",
				Detail:        "firewall.setAllowedHostnames(host -> host.equals(\"" + f.publicHost + "\") || host.equals(privateIp)); // privateIp from the metadata service's local-ipv4",
				TradeOff:      "The IP must be read at start-up, per instance.",
				readsMetadata: true,
			}
		},
	})
}
