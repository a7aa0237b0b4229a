package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// screenshotDirEnv names a folder where TestDashboardSevereToOk saves the
// page in Severe and in Ok (docs/dashboard-*.png are made this way).
const screenshotDirEnv = "ELBOW_DASHBOARD_SCREENSHOTS"

// TestDashboardSevereToOk drives the console page in headless Chromium
// against `elbow up` whose targets answer 301 to the health check, as
// Django's HTTPS redirect does: the page shows Severe with the cause, the
// targets' 301 and the https-redirect diagnosis; a too-short interval typed
// in the form is refused beside the field; matcher 200-301 submitted from
// the form turns the environment Ok and the change shows as an event, all
// without reloading the page.
func TestDashboardSevereToOk(t *testing.T) {
	t.Parallel()
	chromium := testutil.RequireProgram(t, "/usr/bin/chromium")
	python := testutil.RequireProgram(t, testutil.SystemPython)
	app, _ := filepath.Abs("testdata/redirectapp.py")
	yaml := testutil.AppEnv{Name: "e2e-dashboard", Command: []string{python, app}, Min: 1,
		AppPort: freePort(t), IMDSPort: freePort(t), ListenPort: freePort(t)}.String()
	p := startUp(t, yaml)
	consoleURL := regexp.MustCompile(`console\s+(http://\S+)`).FindStringSubmatch(p.waitFor(t, `console\s+http://`, 30*time.Second))[1]

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(browser, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(browser, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluating %s: %v", expr, err)
		}
		return v
	}
	// waitJS polls a boolean expression in the page until it holds.
	waitJS := func(what, expr string, within time.Duration) {
		t.Helper()
		var err error
		holds := func() bool {
			var ok bool
			ok, err = chromedp.Run(browser, chromedp.Evaluate[bool](expr))
			return ok || err != nil
		}
		if testutil.Poll(within, holds) && err == nil {
			return
		}
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		state, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
		t.Fatalf("not %s within %v; the page shows:\n%s", what, within, state)
	}
	text := func(sel string) string {
		t.Helper()
		return eval(fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(e => e.textContent).join("\n")`, sel))
	}
	screenshot := func(name string) {
		t.Helper()
		dir := os.Getenv(screenshotDirEnv)
		if dir == "" {
			return
		}
		png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	run("opening the page", chromedp.Navigate(consoleURL+"/"), chromedp.WaitVisible(chromedp.CSS("#env-badge")))
	loadID := eval(`window.__loadId`)
	if loadID == "" {
		t.Fatal("the page set no window.__loadId")
	}

	waitJS("Severe", `document.getElementById("env-status").textContent === "Severe"`, 70*time.Second)
	if c := text("#env-causes li"); !strings.Contains(c, "ELB health is failing or not available for all instances.") {
		t.Errorf("Severe causes on the page: %q", c)
	}
	if b := text("#env-badge"); !strings.Contains(b, "Severe") {
		t.Errorf("badge %q does not say Severe in words", b)
	}
	waitJS("the https-redirect diagnosis", `!!document.querySelector('section[data-group="web"] .diagnosis[data-case="https-redirect"]')`, 20*time.Second)
	if d := text(`section[data-group="web"] tbody`); !strings.Contains(d, "unhealthy") || !strings.Contains(d, "Health checks failed with these codes: [301]") {
		t.Errorf("targets on the page: %q", d)
	}
	if d := text(`.diagnosis .summary`); !strings.Contains(d, "redirects the plain-HTTP health check to HTTPS (301 to https://127.0.0.") {
		t.Errorf("diagnosis summary: %q", d)
	}
	if f := text(`.diagnosis details summary`); !strings.Contains(f, "200-301") {
		t.Errorf("the fixes do not offer the matcher 200-301: %q", f)
	}
	if i := text(`#instances tbody`); !strings.Contains(i, "Severe") {
		t.Errorf("instances table: %q", i)
	}
	screenshot("dashboard-severe.png")

	form := `form[data-group="web"] `
	// clear empties a field of the form, as selecting its text and deleting would.
	clear := func(field string) chromedp.Action[chromedp.Void] {
		expr := fmt.Sprintf(`(document.querySelector(%q).value = "") === ""`, form+`input[name="`+field+`"]`)
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Evaluate[bool](expr)(ctx, tg)
			return chromedp.Void{}, err
		}
	}

	// An invalid interval is refused beside its field, and nothing changes.
	run("typing an interval of 3", clear("HealthCheckIntervalSeconds"), chromedp.SendKeys(chromedp.CSS(form+`input[name="HealthCheckIntervalSeconds"]`), "3"), chromedp.Click(chromedp.CSS(form+`button[type="submit"]`)))
	waitJS("the interval's error beside the field",
		`document.getElementById("f-web-HealthCheckIntervalSeconds-error").textContent.includes("3 is out of range: must be between 5 and 300 seconds")`, 10*time.Second)

	// The fix: restore the interval, set the matcher, submit.
	run("setting the matcher to 200-301",
		clear("HealthCheckIntervalSeconds"), chromedp.SendKeys(chromedp.CSS(form+`input[name="HealthCheckIntervalSeconds"]`), "5"),
		clear("Matcher"), chromedp.SendKeys(chromedp.CSS(form+`input[name="Matcher"]`), "200-301"),
		chromedp.Click(chromedp.CSS(form+`button[type="submit"]`)))
	waitJS("the change accepted", `!!document.querySelector('form[data-group="web"] .form-status.ok')`, 10*time.Second)
	if e := text(form + ".field-error"); strings.TrimSpace(e) != "" {
		t.Errorf("field errors left after a valid change: %q", e)
	}
	waitJS("the modification event", `document.getElementById("events").textContent.includes("Target group web modified: Matcher 200 → 200-301.")`, 10*time.Second)
	waitJS("Ok", `document.getElementById("env-status").textContent === "Ok"`, 60*time.Second)
	waitJS("the target healthy", `document.querySelector('section[data-group="web"] tbody').textContent.includes("healthy") && !document.querySelector('section[data-group="web"] tbody').textContent.includes("unhealthy")`, 10*time.Second)
	if s := text(`section[data-group="web"] .group-settings`); !strings.Contains(s, "success codes 200-301") {
		t.Errorf("group settings on the page: %q", s)
	}
	if n := text(`.diagnosis`); n != "" {
		t.Errorf("a diagnosis is still shown for a healthy target: %q", n)
	}
	if after := eval(`window.__loadId`); after != loadID {
		t.Errorf("the page reloaded: __loadId %q, then %q", loadID, after)
	}
	p.waitFor(t, `Target group web modified: health check`, 5*time.Second)
	// The charts have had time for samples; wait for one bar to show them.
	if os.Getenv(screenshotDirEnv) != "" {
		waitJS("a chart sample", `document.querySelectorAll("#chart-requests rect").length > 0`, 15*time.Second)
	}
	screenshot("dashboard-ok.png")
	if os.Getenv(screenshotDirEnv) != "" {
		// The same page on a phone's screen.
		run("a phone's viewport", chromedp.EmulateViewport(390, 844))
		screenshot("dashboard-ok-phone.png")
	}
}
