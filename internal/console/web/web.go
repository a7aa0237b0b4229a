// Package web owns the console's dashboard: one static page, its script and
// its style sheet, embedded in the binary so that it works offline and needs
// no build step. The page reads the console's JSON API (it polls, see
// docs/dashboard.md) and changes target groups through the same API as
// `elbow modify-target-group`; this package serves the files and nothing
// else.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var files embed.FS

// contentSecurityPolicy allows the page's own script, style and API only:
// no inline script, no other origin, and no framing by another site.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the page at / and its files under /ui/.
func Handler() http.Handler {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic("web: the embedded static folder is missing: " + err.Error()) // a build defect, not a run-time one
	}
	assets := http.StripPrefix("/ui/", http.FileServerFS(static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		if r.URL.Path == "/" {
			http.ServeFileFS(w, r, static, "index.html")
			return
		}
		assets.ServeHTTP(w, r)
	})
}
