package console

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestModifyRefusesPathCharacters: a HealthCheckPath with CR, LF, space or a
// control character is refused with 400 ValidationError naming the field
// and AWS's rule, and is not applied: the checker keeps probing /.
func TestModifyRefusesPathCharacters(t *testing.T) {
	t.Parallel()
	e := newRedirectEnv(t)
	const rule = "is not valid: a health check path must begin with a '/' character and only contain printable ASCII characters, without spaces"
	for _, tc := range []struct{ path, where string }{
		{"/health HTTP/1.1\r\nHost: x\r\n\r\nGET /admin/delete", "(space at byte 7)"},
		{"/health\r\nX-Injected: 1", "(CR (0x0D) at byte 7)"},
		{"/health\nX-Injected: 1", "(LF (0x0A) at byte 7)"},
		{"/a\u0000", "(control character 0x00 at byte 2)"},
	} {
		body, _ := json.Marshal(map[string]string{"HealthCheckPath": tc.path})
		code, v := patch(t, e.url+"/api/v1/target-groups/web", "application/json", string(body))
		if code != http.StatusBadRequest || path(t, v, "Error.Code") != "ValidationError" {
			t.Errorf("%q: %d %v, want 400 ValidationError", tc.path, code, v)
			continue
		}
		errs, _ := v["Errors"].([]any)
		if len(errs) != 1 {
			t.Errorf("%q: errors %v, want one", tc.path, errs)
			continue
		}
		if f := path(t, errs[0], "Field"); f != "HealthCheckPath" {
			t.Errorf("%q: field %v", tc.path, f)
		}
		msg, _ := path(t, errs[0], "Message").(string)
		if !strings.Contains(msg, rule+" "+tc.where) {
			t.Errorf("%q: message %q lacks %q", tc.path, msg, rule+" "+tc.where)
		}
	}
	if n := e.calls(); n != 0 {
		t.Errorf("%d invalid paths were applied", n)
	}
	if p := e.group.HealthCheck().Path; p != "/" {
		t.Errorf("path is %q after refused changes, want /", p)
	}
}
