package diagnose

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// Other status codes the matcher refuses: no page at the path, a login
// required, a success code the matcher leaves out, a server error (a failing
// dependency among them), and what elbow does not recognise.

func (f facts) pathNotFound() verdict {
	why := f.checkerSends() + fmt.Sprintf(" The target has nothing at %s and answers 404.", f.path)
	if f.path == "/" {
		why += " The health check path is still the default /, and the app has no root page."
	}
	why += f.asUserSaw()
	return verdict{
		id:      CasePathNotFound,
		summary: fmt.Sprintf("The health check path %s does not exist on the target: 404.", f.path),
		why:     why,
		fixes: []Fix{
			{Title: "Serve a health path", Detail: f.text.healthRoute + "\n" + healthPathFix(f.text.healthPath), TradeOff: f.text.healthRouteTradeOff},
			{Title: "Point the health check at a path the app serves", Detail: "health_check: {path: /some/page/that/answers/200}", TradeOff: "A real page may be slow or need a login; a dedicated path is steadier."},
		},
	}
}

func (f facts) authRequired() verdict {
	why := f.checkerSends() + fmt.Sprintf(" It carries no cookie, token or credentials, and the app protects %s: %d.", f.path, f.code)
	if h := f.obs.check.Header.Get("WWW-Authenticate"); h != "" {
		why += " The answer asks for authentication (WWW-Authenticate: " + h + ")."
	}
	why += f.asUserSaw()
	return verdict{
		id:      CaseAuthRequired,
		summary: fmt.Sprintf("The health check path %s requires authentication: %d.", f.path, f.code),
		why:     why,
		fixes: []Fix{
			f.publicHealthPathFix(),
			matcherFix(fmt.Sprintf("200,%d", f.code), fmt.Sprintf("Every %d counts as healthy, including one from a proxy or a broken app.", f.code)),
		},
	}
}

func (f facts) successNotMatched() verdict {
	return verdict{
		id:      CaseSuccessCodeNotMatched,
		summary: fmt.Sprintf("The target answers %d, a success, but the matcher %s does not include it.", f.code, f.matcher),
		why:     f.checkerSends() + fmt.Sprintf(" The app answered %d; the load balancer accepts only the matcher's codes (%s).", f.code, f.matcher),
		fixes: []Fix{
			matcherFix("200-299", "None worth naming: every success code counts."),
			{Title: "Answer 200 on the health path", Detail: fmt.Sprintf("Return 200 instead of %d from %s.", f.code, f.path), TradeOff: "None."},
		},
	}
}

// dependencyWords appear in the bodies of health endpoints that check what
// the app depends on (Spring Actuator's {"status":"DOWN"}, health-check
// libraries' per-dependency reports).
var dependencyWords = []string{"database", "db", "postgres", "mysql", "redis", "cache", "queue", "broker", "rabbit", "kafka", "elasticsearch", "mongo", "upstream", "dependency", "dependencies", "\"down\"", "unhealthy", "connection refused"}

func mentionsDependency(body string) bool {
	b := strings.ToLower(body)
	for _, w := range dependencyWords {
		if strings.Contains(b, w) {
			return true
		}
	}
	return false
}

// serverError tells a health endpoint that reports a failing dependency from
// an app that fails on the path. The first matters because when every target
// is unhealthy the load balancer fails open ("Health checks for your
// Application Load Balancer",
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
func (f facts) serverError() verdict {
	if mentionsDependency(f.obs.check.Body) {
		return verdict{
			id:      CaseDependencyCheckFailing,
			summary: fmt.Sprintf("The health endpoint reports a failing dependency: %d.", f.code),
			why: f.checkerSends() + fmt.Sprintf(" The endpoint at %s checks what the app depends on (a database, a cache, another service) and one of them is failing, so every target answers %d at once.", f.path, f.code) +
				" When every target is unhealthy the load balancer fails open and sends traffic to all of them anyway, so a deep check protects nothing and hides which instance is really broken." + f.asUserSaw(),
			fixes: []Fix{
				{Title: "Check the process, not its dependencies, on the load balancer's path", Detail: f.text.processOnlyRoute, TradeOff: "A target whose database is down stays in service: the app must answer such requests with a clear error itself."},
				{Title: "Fix the dependency", Detail: "The body names what failed:\n" + firstLine(f.obs.check.Body, 300), TradeOff: "None."},
			},
		}
	}
	return verdict{
		id:      CaseServerError,
		summary: fmt.Sprintf("The app fails on the health check path %s with %d.", f.path, f.code),
		why:     f.checkerSends() + fmt.Sprintf(" The app raised an error answering it (%d); the instance's log has the traceback.", f.code) + f.asUserSaw(),
		fixes: []Fix{
			{Title: "Read the instance's log and fix the error", Detail: "elbow keeps each instance's output (instances.log_dir, default .elbow/logs); on Elastic Beanstalk: eb logs.", TradeOff: "None."},
			{Title: "Use a dedicated health path that does little", Detail: "A path that answers \"ok\" without touching templates or the database. " + healthPathFix(f.text.healthPath), TradeOff: "It proves less than a real page."},
		},
	}
}

func firstLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

func (f facts) unrecognised() verdict {
	fixes := []Fix{{Title: "Look at what the target answered", Detail: "The status, headers and first bytes of the body are under Evidence; the instance's log says more.", TradeOff: ""}}
	if f.code >= healthcheck.MinMatcherCode && f.code <= healthcheck.MaxMatcherCode {
		fixes = append(fixes, matcherFix(f.matcher+","+strconv.Itoa(f.code), fmt.Sprintf("Only if %d really means healthy for this app.", f.code)))
	}
	return verdict{
		id:      CaseUnrecognised,
		summary: fmt.Sprintf("The target answers %d, which the matcher %s does not accept; elbow does not recognise the cause.", f.code, f.matcher),
		why:     f.checkerSends() + f.asUserSaw(),
		fixes:   fixes,
	}
}
