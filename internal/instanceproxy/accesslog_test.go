package instanceproxy

import (
	"testing"
	"time"
)

func TestParseAccessLine(t *testing.T) {
	tests := []struct {
		line string
		want AccessEntry
		ok   bool
	}{
		{`172.31.5.9 - - [16/Dec/2025:10:04:05 +0000] "GET /health/ HTTP/1.1" 400 26 "-" "ELB-HealthChecker/2.0" "-"`,
			AccessEntry{RemoteAddr: "172.31.5.9", RemoteUser: "-", Time: time.Date(2025, 12, 16, 10, 4, 5, 0, time.UTC),
				Request: "GET /health/ HTTP/1.1", Method: "GET", URI: "/health/", Proto: "HTTP/1.1", Status: 400, Bytes: 26,
				Referer: "-", UserAgent: "ELB-HealthChecker/2.0", XForwardedFor: "-"}, true},
		// A quote in a header is escaped by nginx; a garbage request line is kept whole.
		{`10.0.0.1 - bob [01/Jan/2026:00:00:00 +0100] "\x16\x03\x01" 400 150 "https://a/" "say \x22hi\x22" "203.0.113.7, 10.0.0.2"`,
			AccessEntry{RemoteAddr: "10.0.0.1", RemoteUser: "bob", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600)),
				Request: `\x16\x03\x01`, Status: 400, Bytes: 150, Referer: "https://a/", UserAgent: `say \x22hi\x22`,
				XForwardedFor: "203.0.113.7, 10.0.0.2"}, true},
		// The combined format (no X-Forwarded-For field) is not "main".
		{`127.0.0.1 - - [16/Dec/2025:10:04:05 +0000] "GET / HTTP/1.1" 200 2 "-" "curl/8"`, AccessEntry{}, false},
		{`127.0.0.1 - - [yesterday] "GET / HTTP/1.1" 200 2 "-" "curl/8" "-"`, AccessEntry{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseAccessLine(tt.line + "\n")
		if ok != tt.ok {
			t.Errorf("ParseAccessLine(%q) ok = %v, want %v", tt.line, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		tt.want.Line = tt.line
		if !got.Time.Equal(tt.want.Time) {
			t.Errorf("time %v, want %v", got.Time, tt.want.Time)
		}
		got.Time, tt.want.Time = time.Time{}, time.Time{}
		if got != tt.want {
			t.Errorf("ParseAccessLine(%q)\n got %+v\nwant %+v", tt.line, got, tt.want)
		}
	}
}
