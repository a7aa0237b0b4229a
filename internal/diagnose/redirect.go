package diagnose

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// Redirects. The load balancer does not follow them: a 3xx is compared with
// the matcher like any other code ("Health checks for your Application Load
// Balancer", HealthCheck settings, Matcher,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
// Where the redirect leads tells the cases apart: to HTTPS, to the same path
// with or without a trailing slash, to a login page, elsewhere.

func (f facts) redirect() verdict {
	loc, err := url.Parse(f.location)
	if err == nil && strings.EqualFold(loc.Scheme, "https") && f.protocol == string(healthcheck.ProtocolHTTP) {
		return f.httpsRedirect()
	}
	if err == nil && (loc.Path == f.path+"/" || loc.Path == strings.TrimSuffix(f.path, "/")) && loc.Path != f.path {
		return f.trailingSlashRedirect(loc)
	}
	if err == nil && looksLikeLogin(loc.Path) {
		return f.loginRedirect()
	}
	return verdict{
		id:      CaseRedirect,
		summary: fmt.Sprintf("The health check is redirected with %d to %s.", f.code, f.location),
		why:     f.checkerSends() + fmt.Sprintf(" The load balancer does not follow redirects: %d is not in the matcher %s, so the check fails.", f.code, f.matcher) + f.asUserSaw(),
		fixes: []Fix{
			{Title: "Point the health check at the page the redirect leads to", Detail: "health_check: {path: " + pathOf(f.location) + "}", TradeOff: "None, if that page answers 200 without a login or a public Host."},
			matcherFix(fmt.Sprintf("200-%d", f.code), "Any redirect counts as healthy, whatever the page behind it does."),
		},
	}
}

func pathOf(location string) string {
	if u, err := url.Parse(location); err == nil && u.Path != "" {
		return u.Path
	}
	return location
}

func looksLikeLogin(p string) bool {
	p = strings.ToLower(p)
	for _, w := range []string{"login", "signin", "sign_in", "sign-in", "auth", "sso", "account"} {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

// httpsRedirect: the app sends plain-HTTP requests to HTTPS, and the health
// check, which carries no X-Forwarded-Proto, is one.
func (f facts) httpsRedirect() verdict {
	codes := fmt.Sprintf("200-%d", f.code)
	matcherTradeOff := ("The check then passes as soon as the app answers the redirect, which happens before the page itself is rendered: it proves the process is up, not that the page works. This is what the reference scenario's team did (matcher 200-301).")
	lbRedirect := Fix{
		Title: "Redirect to HTTPS at the load balancer, not in the app",
		Detail: "elbow.yaml (an ALB listener on port 80 with a redirect action):\n" +
			"  listeners:\n" +
			"    - protocol: HTTP\n      port: 80\n      default_action:\n        type: redirect\n        redirect: {protocol: HTTPS, port: \"443\", status_code: HTTP_301}\n" +
			"and switch the app's own redirect off.",
		TradeOff: "Requests that reach an instance directly, bypassing the load balancer, are no longer redirected.",
	}
	userUnconditional := f.obs.asUser.Answered() && isRedirect(f.obs.asUser.StatusCode) &&
		strings.HasPrefix(strings.ToLower(f.obs.asUser.Location), "https://")

	// The app's own fix first, the load balancer's redirect next, the
	// matcher last: it hides what the check should prove.
	fixes := []Fix{
		f.text.redirectExempt(f),
		withDetail(lbRedirect, f.text.lbRedirectNote),
		matcherFix(codes, matcherTradeOff),
	}
	why := f.checkerSends() + f.text.redirectWho(f) + fmt.Sprintf(" The load balancer does not follow redirects: %d is not in the matcher %s, so the check fails.", f.code, f.matcher)
	why += f.asUserSaw()
	if userUnconditional {
		why += " The redirect ignores X-Forwarded-Proto: https too, so users coming through the HTTPS listener would be redirected in a loop; make it depend on that header."
	} else if u := f.userCode(); u >= 200 && u < 300 {
		why += " With X-Forwarded-Proto: https the redirect does not happen: only the health check, which lacks the header, is redirected."
	} else if u >= 400 {
		why += fmt.Sprintf(" The public Host %s was refused (%d): compare with the name your users use (elbow check --host NAME).", f.publicHost, u)
	}
	return verdict{
		id: CaseHTTPSRedirect, framework: f.framework,
		summary: fmt.Sprintf("The app redirects the plain-HTTP health check to HTTPS (%d to %s).", f.code, f.location),
		why:     why,
		fixes:   fixes,
	}
}

func (f facts) trailingSlashRedirect(loc *url.URL) verdict {
	why := f.checkerSends() + fmt.Sprintf(" The app's canonical URL for it is %s", loc.Path) + f.text.trailingSlashWho
	why += fmt.Sprintf(", so it answers %d; the load balancer does not follow redirects.", f.code)
	return verdict{
		id:      CaseTrailingSlashRedirect,
		summary: fmt.Sprintf("The health check path %s is redirected to %s (a trailing-slash redirect).", f.path, loc.Path),
		why:     why,
		fixes: []Fix{
			{Title: "Use the canonical path in the health check", Detail: "health_check: {path: " + loc.Path + "}", TradeOff: "None."},
		},
	}
}

func (f facts) loginRedirect() verdict {
	return verdict{
		id:      CaseLoginRedirect,
		summary: fmt.Sprintf("The health check path %s requires a login: it redirects (%d) to %s.", f.path, f.code, f.location),
		why:     f.checkerSends() + " It carries no cookie or credentials, so the app sends it to the login page, and the load balancer does not follow redirects." + f.asUserSaw(),
		fixes: []Fix{
			f.publicHealthPathFix(),
			matcherFix(fmt.Sprintf("200-%d", f.code), "A redirect to the login page counts as healthy: the check proves the process answers, not that pages render."),
		},
	}
}
