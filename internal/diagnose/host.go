package diagnose

import "fmt"

// The Host header refused: the health check's Host is the instance's private
// IP and the health check port, which apps that validate or route by Host do
// not accept. A framework with its own refusal (Django's ALLOWED_HOSTS,
// Rails' config.hosts) explains it in its own file, as a hostRejection; this
// is the case for every other.

func (f facts) hostValidation() verdict {
	what := "The app"
	if f.framework != "" {
		what = f.framework
	}
	why := f.checkerSends() + fmt.Sprintf(" %s answers %d to that Host but serves the public name: it validates or routes by Host, and the IP %s is not a name it accepts.", what, f.code, f.ip)
	why += f.asUserSaw()
	var fixes []Fix
	if f.text.hostFix != nil {
		fixes = append(fixes, f.text.hostFix(f))
	}
	fixes = append(fixes,
		Fix{
			Title:    "Let the health path skip host validation",
			Detail:   "Serve a health path (e.g. /health) that answers before the Host header is checked. " + healthPathFix("/health"),
			TradeOff: "That path proves less than a real page does.",
		},
		Fix{
			Title:         "Accept the instance's private IP as a host",
			Detail:        "At start-up, read the IP from the metadata service (IMDSv2: PUT /latest/api/token, then GET /latest/meta-data/local-ipv4 with the token; short timeouts; use the answer only if it is 200 and an IP) and add it to the names the app accepts.",
			TradeOff:      "One more start-up step per instance; if it fails the checks fail again.",
			readsMetadata: true,
		},
	)
	return verdict{
		id:      CaseHostValidation,
		summary: fmt.Sprintf("The target refuses the health check's Host header %s with %d but answers the public name %s.", f.hostHeader, f.code, f.publicHost),
		why:     why,
		fixes:   fixes,
	}
}
