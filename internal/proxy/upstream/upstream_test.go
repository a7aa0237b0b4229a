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

func TestListedInConnection(t *testing.T) {
	for _, tc := range []struct {
		values []string
		name   string
		want   bool
	}{
		{[]string{"X-Drop"}, "X-Drop", true},
		{[]string{"keep-alive, x-drop "}, "X-Drop", true},
		{[]string{"close", "X-Other"}, "X-Drop", false},
		{[]string{"X-Dropped"}, "X-Drop", false},
	} {
		if got := listed(tc.values, tc.name); got != tc.want {
			t.Errorf("listed(%q, %q) = %v; want %v", tc.values, tc.name, got, tc.want)
		}
	}
}
