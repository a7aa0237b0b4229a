package diagnose

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// Fakework exists only in this file. Registering it here, with no change to
// any other file, must be enough for a diagnosis to recognise it and to speak
// its terms: that is what "adding a framework is one new file" means.
const fakework = "Fakework"

const caseFakeworkHost = "fakework-host"

func init() {
	register(frameworkText{
		name: fakework, rank: 1000,
		clues:       []clue{{3, headerHas("X-Powered-By", "Fakework")}},
		healthPath:  "/fw-health",
		healthRoute: "fakework route add /fw-health",
		bindAll:     func(f facts) string { return "fakework serve --bind 0.0.0.0:" + strconv.Itoa(f.port) },
		hostRejection: &hostRejection{
			code:      421,
			bodyMarks: []string{"fakework: unknown host"},
			explain: func(f facts) verdict {
				return verdict{
					id: caseFakeworkHost, framework: fakework,
					summary: "Fakework refuses the Host " + f.hostHeader + ".",
					why:     f.checkerSends(),
					fixes:   []Fix{{Title: "fakework hosts add " + f.ip}},
				}
			},
		},
		redirectWho: func(f facts) string {
			return fmt.Sprintf(" Fakework's force_tls answers %d.", f.code)
		},
		redirectExempt: func(facts) Fix {
			return Fix{Title: "fakework force_tls --except /fw-health", Detail: healthPathFix("/fw-health")}
		},
	})
}

func fakeworkHeader(w http.ResponseWriter) { w.Header().Set("X-Powered-By", "Fakework 1.0") }

// TestFrameworkRegisteredFromOneFile diagnoses real targets that answer as
// Fakework: each case takes Fakework's wording where it has some, and the
// generic wording, with Fakework's health path, where it leaves a field zero.
func TestFrameworkRegisteredFromOneFile(t *testing.T) {
	const ip = "127.0.0.14"
	const public = "www.example.com"
	cases := []struct {
		name     string
		handler  http.HandlerFunc
		wantCase string
		phrases  []string
	}{
		{
			name: "its own host rejection",
			handler: userOnly(public,
				func(w http.ResponseWriter, r *http.Request) { fakeworkHeader(w); w.Write([]byte("shop")) },
				func(w http.ResponseWriter, r *http.Request) {
					fakeworkHeader(w)
					w.WriteHeader(http.StatusMisdirectedRequest)
					w.Write([]byte("fakework: unknown host"))
				}),
			wantCase: caseFakeworkHost,
			phrases:  []string{"Fakework refuses the Host " + ip + ":", "fakework hosts add " + ip},
		},
		{
			name:     "its HTTPS redirect",
			handler:  httpsOnly(http.StatusMovedPermanently, func(h http.Header) { h.Set("X-Powered-By", "Fakework 1.0") }),
			wantCase: CaseHTTPSRedirect,
			phrases:  []string{"Fakework's force_tls answers 301.", "fakework force_tls --except /fw-health", "HealthCheckPath: /fw-health"},
		},
		{
			name: "its health route",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fakeworkHeader(w)
				http.NotFound(w, r)
			},
			wantCase: CasePathNotFound,
			phrases:  []string{"fakework route add /fw-health", "HealthCheckPath: /fw-health", "a dedicated path is cheap"},
		},
		{
			name: "the generic wording where it has none, with its health path",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fakeworkHeader(w)
				w.WriteHeader(http.StatusUnauthorized)
			},
			wantCase: CaseAuthRequired,
			phrases:  []string{"Serve a health path that needs no authentication.\nThen point the health check at it (elbow.yaml: health_check: {path: /fw-health}"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tgt := serveOn(t, ip, false, c.handler)
			r, d := checkAndDiagnose(t, tgt, settings("/", "200"), public)
			if r.Reason != healthcheck.ReasonResponseCodeMismatch {
				t.Fatalf("reason %s (%v), want ResponseCodeMismatch", r.Reason, r.Err)
			}
			assertDiagnosis(t, d, c.wantCase, fakework, c.phrases...)
		})
	}
	t.Run("its way to listen on all addresses", func(t *testing.T) {
		lo := serveOn(t, "127.0.0.1", false, func(w http.ResponseWriter, r *http.Request) { fakeworkHeader(w) })
		tgt := healthcheck.Target{ID: "i-15", IP: "127.0.0.15", Port: lo.Port}
		r, d := checkAndDiagnose(t, tgt, settings("/", "200"), public)
		if r.Reason != healthcheck.ReasonFailedHealthChecks {
			t.Fatalf("reason %s (%v), want FailedHealthChecks: is something listening on %s?", r.Reason, r.Err, tgt.Addr())
		}
		assertDiagnosis(t, d, CaseBoundToLocalhost, fakework, "fakework serve --bind 0.0.0.0:"+strconv.Itoa(lo.Port))
	})
}

// TestRegisterRefusesDuplicates: two frameworks under one name, or one rank,
// would make detection and wording depend on file order.
func TestRegisterRefusesDuplicates(t *testing.T) {
	for _, ft := range []frameworkText{{name: Django, rank: 9999}, {name: "Other", rank: 10}, {rank: 9998}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("register(%q, rank %d) did not panic", ft.name, ft.rank)
				}
			}()
			register(ft)
		}()
	}
	for _, t2 := range registry {
		if strings.HasPrefix(t2.name, "Other") || t2.rank >= 9998 {
			t.Errorf("a refused framework was registered: %+v", t2.name)
		}
	}
}
