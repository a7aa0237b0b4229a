package diagnose

import "strings"

// The fixes several case families offer: widening the matcher, pointing the
// check at a health path, serving one without a login.

// matcherFix widens the matcher to accept codes, written for elbow.yaml, the
// AWS CLI and Elastic Beanstalk option settings (MatcherHTTPCode in
// aws:elasticbeanstalk:environment:process:default,
// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/command-options-general.html).
func matcherFix(codes, tradeOff string) Fix {
	return Fix{
		Title: "Accept " + codes + " as healthy: set the matcher to " + codes,
		Detail: matcherDetail("HttpCode", codes) + "\n" +
			"Elastic Beanstalk (.ebextensions/healthcheck.config):\n" +
			"  option_settings:\n" +
			"    aws:elasticbeanstalk:environment:process:default:\n" +
			"      MatcherHTTPCode: \"" + codes + "\"",
		TradeOff: tradeOff,
	}
}

// matcherDetail sets the matcher to codes in elbow.yaml and with the aws
// CLI, whose Matcher field is key (HttpCode, or GrpcCode for a GRPC group).
func matcherDetail(key, codes string) string {
	return "elbow.yaml, in the target group:\n" +
		"  health_check:\n" +
		"    matcher: \"" + codes + "\"\n" +
		"AWS CLI:\n" +
		"  aws elbv2 modify-target-group --target-group-arn <arn> --matcher " + cliMatcher(key, codes)
}

// cliMatcher is the aws CLI's --matcher value for codes: the shorthand
// HttpCode=200-301, or JSON when the codes hold a comma, which the
// shorthand would split into a list ("when using shorthand syntax, some
// values such as commas need to be escaped",
// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Matcher.html).
func cliMatcher(key, codes string) string {
	if strings.Contains(codes, ",") {
		return `'{"` + key + `":"` + codes + `"}'`
	}
	return key + "=" + codes
}

// healthPathFix says how to point the health check at path, in elbow.yaml and
// in Elastic Beanstalk's option settings.
func healthPathFix(path string) string {
	return "Then point the health check at it (elbow.yaml: health_check: {path: " + path + "}; Elastic Beanstalk: aws:elasticbeanstalk:environment:process:default HealthCheckPath: " + path + ")."
}

// publicHealthPathFix serves a health path that needs no login, in the
// framework's terms.
func (f facts) publicHealthPathFix() Fix {
	return Fix{Title: "Serve an unauthenticated health path", Detail: f.text.unauthenticatedRoute + "\n" + healthPathFix(f.text.healthPath), TradeOff: "Anyone can read that path: keep it to \"ok\"."}
}

func withDetail(f Fix, more string) Fix {
	f.Detail += more
	return f
}

// checkPathServed reports whether the check's own path is already the app's
// health route: a user's request for it (public Host, X-Forwarded-Proto:
// https) was answered 2xx. A fix then exempts that path rather than moving
// the check to another. "/" never counts: exempting the home page from a
// redirect or a host check weakens it for every user.
func (f facts) checkPathServed() bool {
	u := f.obs.asUser
	return f.path != "" && f.path != "/" && u.Answered() && u.StatusCode >= 200 && u.StatusCode < 300
}

// exemptPath is the path a fix exempts, the check's own when it is served
// (checkPathServed), else the framework's health path, with what to say
// about the health check's path.
func (f facts) exemptPath() (path, pointCheck string) {
	if f.checkPathServed() {
		return f.path, "The health check already asks for " + f.path + ", the app's health route: keep that path."
	}
	return f.text.healthPath, healthPathFix(f.text.healthPath)
}
