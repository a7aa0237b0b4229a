package config

import (
	"strconv"
	"strings"
	"testing"
)

// TestHealthCheckPathCharacters: a path that would split the probe's request
// line (CR, LF, space, control or non-ASCII characters) is refused at load,
// with the key, its line, the path and AWS's rule, as elbow validate and
// elbow up print it; ValidateHealthCheck, which the console and elbow check
// use, gives the same message.
func TestHealthCheckPathCharacters(t *testing.T) {
	const rule = "is not valid: a health check path must begin with a '/' character and only contain printable ASCII characters, without spaces"
	cases := []struct {
		yamlPath, path, where string
	}{
		{`"/health HTTP/1.1\r\nHost: x\r\n\r\nGET /admin/delete"`, "/health HTTP/1.1\r\nHost: x\r\n\r\nGET /admin/delete", "(space at byte 7)"},
		{`"/health\r\nX-Injected: 1"`, "/health\r\nX-Injected: 1", "(CR (0x0D) at byte 7)"},
		{`"/health\nx"`, "/health\nx", "(LF (0x0A) at byte 7)"},
		{`"/a b"`, "/a b", "(space at byte 2)"},
		{`"/a\tb"`, "/a\tb", "(tab (0x09) at byte 2)"},
		{`"/a\x1bb"`, "/a\x1bb", "(control character 0x1B at byte 2)"},
		{`"/café"`, "/café", "(non-ASCII byte 0xC3 at byte 4)"},
	}
	for _, tc := range cases {
		src := "instances:\n  sample_app: true\ntarget_groups:\n  - name: web\n    health_check:\n      path: " + tc.yamlPath + "\n"
		_, err := Parse("elbow.yaml", []byte(src))
		if err == nil {
			t.Errorf("%s: loaded, want an error", tc.yamlPath)
			continue
		}
		want := "elbow.yaml:6: target_groups[0].health_check.path: " + strconv.Quote(tc.path) + " " + rule + " " + tc.where
		if err.Error() != want {
			t.Errorf("%s:\n got %q\nwant %q", tc.yamlPath, err, want)
		}
		hc := DefaultHealthCheck
		hc.Path = tc.path
		errs := ValidateHealthCheck(hc, "HTTP1")
		if len(errs) != 1 || errs[0].Key != "path" || !strings.HasPrefix(errs[0].Msg, strconv.Quote(tc.path)+" "+rule) {
			t.Errorf("ValidateHealthCheck(%q) = %v", tc.path, errs)
		}
	}
	for _, ok := range []string{"/", "/health?full=1&x=%0D%0A", "/~a/b-c_d.e!$&'()*+,;=:@"} {
		hc := DefaultHealthCheck
		hc.Path = ok
		if errs := ValidateHealthCheck(hc, "HTTP1"); len(errs) != 0 {
			t.Errorf("ValidateHealthCheck(%q) = %v, want none", ok, errs)
		}
	}
}
