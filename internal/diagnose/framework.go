package diagnose

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// frameworkText is everything the diagnosis knows about one framework or web
// server: the clues that recognise it in a response and its wording in each
// case family. One value per framework, each in its own file and registered
// from that file's init; adding a framework is one new file. A field left
// zero takes generic's wording, the advice for an app nothing was recognised
// in.
type frameworkText struct {
	// name is Diagnosis.Framework.
	name string
	// rank orders frameworks, lower first: it breaks ties between equal clue
	// scores and orders the framework-specific host rejections.
	rank int
	// clues recognise the framework in a response.
	clues []clue
	// server marks a web server in front of the app (nginx): it loses to an
	// application framework seen in the same answers, except when the failing
	// answer is its own page (ownPage), since that is who must be fixed.
	server  bool
	ownPage func(ex *Exchange) bool

	// healthPath is the path a health route is suggested at.
	healthPath string
	// healthRoute is how to serve a health path (path-not-found), and
	// healthRouteTradeOff what that costs.
	healthRoute, healthRouteTradeOff string
	// unauthenticatedRoute serves a health path without a login
	// (auth-required, login-redirect).
	unauthenticatedRoute string
	// processOnlyRoute answers the health path without checking dependencies
	// (dependency-check-failing).
	processOnlyRoute string
	// fastRoute answers the health path at once (slow-response).
	fastRoute string
	// bindAll listens on every address (bound-to-localhost).
	bindAll func(f facts) string

	// hostRejection is the framework's own host-validation case, tried
	// before the generic host-validation case; nil when it has none.
	hostRejection *hostRejection
	// hostFix is the framework's first fix for the generic host-validation
	// case; nil when it has none.
	hostFix func(f facts) Fix

	// redirectWho says who redirects the plain-HTTP check to HTTPS, one
	// sentence with a leading space; redirectExempt is how to exempt the
	// health path from that redirect; lbRedirectNote is appended to the
	// redirect-at-the-load-balancer fix.
	redirectWho    func(f facts) string
	redirectExempt func(f facts) Fix
	lbRedirectNote string
	// trailingSlashWho names what adds the slash, with a leading space, in
	// parentheses; "" says nothing.
	trailingSlashWho string

	// appLogs recognise the framework's own log line refusing the check's
	// Host (ASP.NET Core's host filtering, Spring Security's firewall): the
	// line is then quoted with its kind and, with the status it names,
	// decides the case as Django's and Rails' lines do (logs.go).
	appLogs []appLogLine

	// metadataEndpoint reads the metadata service's address from
	// AWS_EC2_METADATA_SERVICE_ENDPOINT, falling back to EC2's, as the AWS
	// SDKs do (metadata.go).
	metadataEndpoint string
}

// hostRejection recognises a framework's own refusal of the health check's
// Host header and explains it.
type hostRejection struct {
	// code is the status the framework refuses with.
	code int
	// bodyMarks are texts only that refusal's body contains; any one
	// suffices. Without one, the refusal is recognised when the framework is
	// and a user's request was served.
	bodyMarks []string
	explain   func(f facts) verdict
}

func (h *hostRejection) matches(f facts, fw string, userPassed bool) bool {
	if f.code != h.code {
		return false
	}
	for _, m := range h.bodyMarks {
		if strings.Contains(f.obs.check.Body, m) {
			return true
		}
	}
	return f.framework == fw && userPassed
}

// appLogLine is one kind of line a framework writes when it refuses the
// health check's Host.
type appLogLine struct {
	// kind is LogLine.Kind.
	kind string
	// code is the status the refusal answers with.
	code int
	// match reports whether line is such a refusal; it already names the
	// target's IP.
	match func(line string) bool
}

// registry holds the registered frameworks by rank. It is written only by
// init functions, before any diagnosis runs, as image.RegisterFormat is.
var registry []*frameworkText

// register adds t, filling the fields it leaves zero from generic. It panics
// on a duplicate name or rank: both are programming errors.
func register(t frameworkText) {
	if t.name == "" {
		panic("diagnose: framework without a name")
	}
	for _, r := range registry {
		if r.name == t.name || r.rank == t.rank {
			panic(fmt.Sprintf("diagnose: framework %q registered twice, or its rank %d is %q's", t.name, t.rank, r.name))
		}
	}
	t.fillFrom(&generic)
	registry = append(registry, &t)
	sort.SliceStable(registry, func(i, j int) bool { return registry[i].rank < registry[j].rank })
}

func (t *frameworkText) fillFrom(g *frameworkText) {
	str := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	str(&t.healthPath, g.healthPath)
	str(&t.healthRoute, g.healthRoute)
	str(&t.healthRouteTradeOff, g.healthRouteTradeOff)
	str(&t.unauthenticatedRoute, g.unauthenticatedRoute)
	str(&t.processOnlyRoute, g.processOnlyRoute)
	str(&t.fastRoute, g.fastRoute)
	str(&t.metadataEndpoint, g.metadataEndpoint)
	if t.bindAll == nil {
		t.bindAll = g.bindAll
	}
	if t.redirectWho == nil {
		t.redirectWho = g.redirectWho
	}
	if t.redirectExempt == nil {
		t.redirectExempt = g.redirectExempt
	}
}

// textOf is the wording for the framework named name, generic's when none is
// registered under it (name "" included).
func textOf(name string) *frameworkText {
	for _, t := range registry {
		if t.name == name {
			return t
		}
	}
	return &generic
}

// clue is one sign that a response came from a framework, with its weight:
// 3 for what only that framework produces, 1 for what it merely tends to.
type clue struct {
	weight int
	match  func(h http.Header, body string) bool
}

func headerHas(name, sub string) func(http.Header, string) bool {
	return func(h http.Header, _ string) bool {
		for _, v := range h.Values(name) {
			if strings.Contains(strings.ToLower(v), strings.ToLower(sub)) {
				return true
			}
		}
		return false
	}
}

func headerPresent(name string) func(http.Header, string) bool {
	return func(h http.Header, _ string) bool { return h.Get(name) != "" }
}

func bodyHas(sub string) func(http.Header, string) bool {
	return func(_ http.Header, body string) bool { return strings.Contains(body, sub) }
}

// cookieNamed matches a Set-Cookie whose name is name, or ends with suffix
// when name starts with "*".
func cookieNamed(name string) func(http.Header, string) bool {
	return func(h http.Header, _ string) bool {
		for _, c := range h.Values("Set-Cookie") {
			n, _, _ := strings.Cut(c, "=")
			n = strings.TrimSpace(n)
			if suffix, ok := strings.CutPrefix(name, "*"); ok {
				if strings.HasSuffix(n, suffix) {
					return true
				}
			} else if strings.EqualFold(n, name) {
				return true
			}
		}
		return false
	}
}

// detectFramework names the framework the exchanges point to, or "". The
// first exchange is the failing check.
func detectFramework(exchanges ...*Exchange) string {
	score := map[*frameworkText]int{}
	for _, ex := range exchanges {
		if ex == nil || ex.StatusCode == 0 {
			continue
		}
		h := ex.Header
		if h == nil {
			h = http.Header{}
		}
		for _, t := range registry {
			for _, c := range t.clues {
				if c.match(h, ex.Body) {
					score[t] += c.weight
				}
			}
		}
	}
	var best *frameworkText
	bestScore := 0
	for _, t := range registry { // rank breaks ties deterministically
		if sc := score[t]; sc > bestScore {
			best, bestScore = t, sc
		}
	}
	if best != nil && best.server && (best.ownPage == nil || !best.ownPage(exchanges[0])) {
		for _, t := range registry {
			if !t.server && score[t] >= 2 {
				return t.name
			}
		}
	}
	// A lone weak clue (a Python server, an X-Request-Id) names nothing.
	if bestScore < 2 {
		return ""
	}
	return best.name
}
