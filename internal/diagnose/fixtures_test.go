package diagnose

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// serveFixture replays testdata/fixtures/name (its README.md says how) on
// ip: a user's request (the public Host with X-Forwarded-Proto: https) gets
// user.http, any other check.http, and each check.http answered appends
// app-log.txt's lines to the log folder, as the app would.
func serveFixture(t *testing.T, ip, name, publicHost string) loggedApp {
	t.Helper()
	dir := filepath.Join("testdata", "fixtures", name)
	check := mustRead(t, filepath.Join(dir, "check.http"))
	user := mustRead(t, filepath.Join(dir, "user.http"))
	logLines, err := os.ReadFile(filepath.Join(dir, "app-log.txt"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	logFile := filepath.Join(logDir, webLogFile)
	if err := os.WriteFile(logFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ln := listenOn(t, ip)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				fill := strings.NewReplacer("{{HOST}}", req.Host, "{{IP}}", ip, "{{PATH}}", req.URL.RequestURI())
				if req.Host == publicHost && req.Header.Get("X-Forwarded-Proto") == "https" {
					conn.Write(wire(fill.Replace(user)))
					return
				}
				if len(logLines) > 0 {
					f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
					if err == nil {
						f.WriteString(fill.Replace(string(logLines)))
						f.Close()
					}
				}
				conn.Write(wire(fill.Replace(check)))
			}()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	return loggedApp{target: targetOf(t, net.JoinHostPort(ip, strconv.Itoa(port))), logDir: logDir}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wire turns a fixture's .http text into the bytes on the wire: CRLF line
// ends, Content-Length for the body, the connection closed after it.
func wire(text string) []byte {
	head, body, _ := strings.Cut(text, "\n\n")
	body = strings.TrimSuffix(body, "\n")
	var b bytes.Buffer
	for _, l := range strings.Split(head, "\n") {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(strings.ReplaceAll(body, "\n", "\r\n"))) + "\r\n")
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return b.Bytes()
}

// TestASPNETHostFilteringFixture: ASP.NET Core's host filtering answers the
// IP Host 400 "Bad Request - Invalid Hostname" and logs "The host '...'
// does not match an allowed host."; the case is ASP.NET Core's own, quoting
// that line, with AllowedHosts first.
func TestASPNETHostFilteringFixture(t *testing.T) {
	const ip, public = "127.0.0.53", "shop.example.com"
	app := serveFixture(t, ip, "aspnet-host-filtering", public)
	r, d := checkAndDiagnoseApp(t, app, settings("/", "200"), public)
	if r.StatusCode != 400 {
		t.Fatalf("the check got %d, want the fixture's 400", r.StatusCode)
	}
	assertDiagnosis(t, d, CaseASPNETHostFiltering, ASPNET, "HostFilteringMiddleware", "AllowedHosts", "Bad Request - Invalid Hostname")
	assertAppLog(t, d, LogASPNETHostNotAllowed, "The host '"+app.target.Addr()+"' does not match an allowed host.")
	assertFirstFix(t, d, "AllowedHosts", "local-ipv4")

	// Without the log line (the templates log Microsoft.AspNetCore at
	// Warning), the page alone decides.
	t.Run("without the log line", func(t *testing.T) {
		r := healthcheckProbe(t, app, settings("/", "200"))
		d := Diagnoser{PublicHost: public}.Diagnose(t.Context(), app.target, settings("/", "200"), r)
		assertDiagnosis(t, d, CaseASPNETHostFiltering, ASPNET, "AllowedHosts")
	})
}

// TestASPNETHTTPSRedirectionFixture: UseHttpsRedirection's 307 is the HTTPS
// redirect named as ASP.NET Core's, with the forwarded-headers setting and
// the health check mapped outside the redirection first.
func TestASPNETHTTPSRedirectionFixture(t *testing.T) {
	const ip, public = "127.0.0.53", "shop.example.com"
	app := serveFixture(t, ip, "aspnet-https-redirection", public)
	r, d := checkAndDiagnoseApp(t, app, settings("/", "200"), public)
	if r.StatusCode != 307 {
		t.Fatalf("the check got %d, want the fixture's 307", r.StatusCode)
	}
	assertDiagnosis(t, d, CaseHTTPSRedirect, ASPNET, "UseHttpsRedirection", "307 to https://"+ip+"/")
	assertFirstFix(t, d, "UseHttpsRedirection", "MapHealthChecks", "ASPNETCORE_FORWARDEDHEADERS_ENABLED")
	assertFixOrder(t, d, "UseHttpsRedirection", "at the load balancer", "matcher")
}

// TestSpringUntrustedHostFixture: Spring Security's StrictHttpFirewall
// refuses the IP (RequestRejectedException, 400 with Tomcat's page); the
// case is Spring's own, decided by the logged line, with
// setAllowedHostnames first.
func TestSpringUntrustedHostFixture(t *testing.T) {
	const ip, public = "127.0.0.54", "shop.example.com"
	app := serveFixture(t, ip, "spring-untrusted-host", public)
	r, d := checkAndDiagnoseApp(t, app, settings("/", "200"), public)
	if r.StatusCode != 400 {
		t.Fatalf("the check got %d, want the fixture's 400", r.StatusCode)
	}
	assertDiagnosis(t, d, CaseSpringUntrustedHost, Spring, "StrictHttpFirewall", "RequestRejectedException")
	assertAppLog(t, d, LogSpringRequestRejected, "The request was rejected because the domain "+ip+" is untrusted.")
	assertFirstFix(t, d, "setAllowedHostnames", "local-ipv4")

	// Without the DEBUG line, Spring Security's headers on the user's
	// answer and the refusal of the IP alone still name the case.
	t.Run("without the log line", func(t *testing.T) {
		r := healthcheckProbe(t, app, settings("/", "200"))
		d := Diagnoser{PublicHost: public}.Diagnose(t.Context(), app.target, settings("/", "200"), r)
		assertDiagnosis(t, d, CaseSpringUntrustedHost, Spring, "setAllowedHostnames")
	})
}

// TestSpringRequiresSecureFixture: requiresChannel's 302 to port 8443 is
// the HTTPS redirect named as Spring's, with forward-headers-strategy and
// the health endpoint on any channel first.
func TestSpringRequiresSecureFixture(t *testing.T) {
	const ip, public = "127.0.0.54", "shop.example.com"
	app := serveFixture(t, ip, "spring-requires-secure", public)
	r, d := checkAndDiagnoseApp(t, app, settings("/", "200"), public)
	if r.StatusCode != 302 {
		t.Fatalf("the check got %d, want the fixture's 302", r.StatusCode)
	}
	assertDiagnosis(t, d, CaseHTTPSRedirect, Spring, "requiresSecure", "302 to https://"+ip+":8443/")
	assertFirstFix(t, d, "server.forward-headers-strategy", "ANY_CHANNEL")
}
