package upstream

import "testing"

func TestIsCanonical(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"Content-Length", true}, {"X-Amzn-Trace-Id", true}, {"content-length", false},
		{"Content-length", false}, {"ETag", false}, {"X", true}, {"Bad Key", false},
	} {
		if got := isCanonical(tc.key); got != tc.want {
			t.Errorf("isCanonical(%q) = %v; want %v", tc.key, got, tc.want)
		}
	}
}
