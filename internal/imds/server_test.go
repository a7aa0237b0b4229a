package imds

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestMetadataPaths(t *testing.T) {
	inst := testInstance()
	ts := startServer(t, inst, Options{})
	macPath := "/latest/meta-data/network/interfaces/macs/" + inst.MAC + "/"
	metaDataListing := lines("ami-id", "hostname", "instance-id", "instance-life-cycle", "instance-type",
		"local-hostname", "local-ipv4", "mac", "network/", "placement/", "services/")

	tests := []struct {
		name, path string
		status     int
		body       string // exact when status is 200
	}{
		{"versions", "/", 200, "latest"},
		{"latest without slash", "/latest", 200, lines("dynamic", "meta-data")},
		{"latest with slash", "/latest/", 200, lines("dynamic", "meta-data")},
		{"meta-data with slash", "/latest/meta-data/", 200, metaDataListing},
		{"meta-data without slash", "/latest/meta-data", 200, metaDataListing},
		{"local-ipv4", "/latest/meta-data/local-ipv4", 200, "127.0.0.2"},
		{"leaf with trailing slash", "/latest/meta-data/local-ipv4/", 200, "127.0.0.2"},
		{"instance-id", "/latest/meta-data/instance-id", 200, "i-0123456789abcdef0"},
		{"hostname", "/latest/meta-data/hostname", 200, "ip-127-0-0-2.eu-west-1.compute.internal"},
		{"local-hostname", "/latest/meta-data/local-hostname", 200, "ip-127-0-0-2.eu-west-1.compute.internal"},
		{"instance-type", "/latest/meta-data/instance-type", 200, inst.InstanceType},
		{"ami-id", "/latest/meta-data/ami-id", 200, inst.AMIID},
		{"mac", "/latest/meta-data/mac", 200, "02:00:7f:00:00:02"},
		{"placement listing", "/latest/meta-data/placement/", 200, lines("availability-zone", "region")},
		{"availability zone", "/latest/meta-data/placement/availability-zone", 200, "eu-west-1a"},
		{"region", "/latest/meta-data/placement/region", 200, "eu-west-1"},
		{"network listing", "/latest/meta-data/network/", 200, "interfaces/"},
		{"macs listing", "/latest/meta-data/network/interfaces/macs/", 200, inst.MAC + "/"},
		{"interface listing", macPath, 200, lines("device-number", "interface-id", "local-hostname",
			"local-ipv4s", "mac", "owner-id", "subnet-id", "subnet-ipv4-cidr-block", "vpc-id",
			"vpc-ipv4-cidr-block", "vpc-ipv4-cidr-blocks")},
		{"interface local-ipv4s", macPath + "local-ipv4s", 200, "127.0.0.2"},
		{"interface mac", macPath + "mac", 200, inst.MAC},
		{"interface device-number", macPath + "device-number", 200, "0"},
		{"interface subnet-id", macPath + "subnet-id", 200, inst.SubnetID},
		{"interface vpc-id", macPath + "vpc-id", 200, inst.VPCID},
		{"interface subnet cidr", macPath + "subnet-ipv4-cidr-block", 200, "127.0.0.0/24"},
		{"interface vpc cidr", macPath + "vpc-ipv4-cidr-block", 200, "127.0.0.0/8"},
		{"dynamic listing", "/latest/dynamic/", 200, "instance-identity/"},
		{"identity listing", "/latest/dynamic/instance-identity/", 200, "document"},
		{"missing leaf", "/latest/meta-data/public-ipv4", 404, ""},
		{"missing category", "/latest/meta-data/iam/", 404, ""},
		{"below a leaf", "/latest/meta-data/local-ipv4/more", 404, ""},
		{"other mac", "/latest/meta-data/network/interfaces/macs/02:00:00:00:00:01/mac", 404, ""},
		{"dated version", "/2021-03-23/meta-data/local-ipv4", 404, ""},
		{"empty segment", "/latest//meta-data/local-ipv4", 404, ""},
		{"user-data absent", "/latest/user-data", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(t, http.MethodGet, tc.path)
			if r.status != tc.status {
				t.Fatalf("GET %s: status %d, want %d (body %q)", tc.path, r.status, tc.status, r.body)
			}
			if tc.status != http.StatusOK {
				wantTitle := "<title>404 - Not Found</title>"
				if !strings.Contains(r.body, wantTitle) || r.header.Get("Content-Type") != "text/html" {
					t.Errorf("GET %s: body %q, content type %q; want EC2's XHTML page with %s",
						tc.path, r.body, r.header.Get("Content-Type"), wantTitle)
				}
				return
			}
			if r.body != tc.body {
				t.Errorf("GET %s: body %q, want %q", tc.path, r.body, tc.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/plain" {
				t.Errorf("GET %s: content type %q, want text/plain", tc.path, ct)
			}
		})
	}
}

func TestHeadHasNoBody(t *testing.T) {
	ts := startServer(t, testInstance(), Options{})
	r := ts.do(t, http.MethodHead, "/latest/meta-data/local-ipv4")
	if r.status != http.StatusOK || r.body != "" || r.header.Get("Content-Length") != "9" {
		t.Errorf("HEAD local-ipv4: %d body %q length %q; want 200, no body, length 9",
			r.status, r.body, r.header.Get("Content-Length"))
	}
}

func TestMethods(t *testing.T) {
	ts := startServer(t, testInstance(), Options{})
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, TokenPath, 405, "PUT"},
		{http.MethodPost, TokenPath, 405, "PUT"},
		{http.MethodDelete, TokenPath, 405, "PUT"},
		{http.MethodPut, "/latest/meta-data/local-ipv4", 405, "GET, HEAD"},
		{http.MethodPost, "/latest/meta-data/", 405, "GET, HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := ts.do(t, tc.method, tc.path, TokenTTLHeader, "60")
			if r.status != tc.status || r.header.Get("Allow") != tc.allow {
				t.Errorf("%s %s: %d Allow %q, want %d Allow %q", tc.method, tc.path,
					r.status, r.header.Get("Allow"), tc.status, tc.allow)
			}
			if !strings.Contains(r.body, "<title>405 - Method Not Allowed</title>") {
				t.Errorf("%s %s: body %q, want EC2's 405 page", tc.method, tc.path, r.body)
			}
		})
	}
}

// TestTokenRequest covers what botocore's IMDSFetcher._fetch_metadata_token
// branches on (reference 1.1): 200 gives the token in the body; 400 raises
// BadIMDSRequestError; 403, 404 and 405 fall back to IMDSv1.
func TestTokenRequest(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		headers    []string
		status     int
		botocoreDo string // documents the client side; not asserted
	}{
		{"minimum ttl", TokenPath, []string{TokenTTLHeader, "1"}, 200, "token"},
		{"sdk default ttl", TokenPath, []string{TokenTTLHeader, "21600"}, 200, "token"},
		{"header name in lower case", TokenPath, []string{"x-aws-ec2-metadata-token-ttl-seconds", "300"}, 200, "token"},
		{"trailing slash", TokenPath + "/", []string{TokenTTLHeader, "300"}, 200, "token"},
		{"missing ttl", TokenPath, nil, 400, "BadIMDSRequestError"},
		{"empty ttl", TokenPath, []string{TokenTTLHeader, ""}, 400, "BadIMDSRequestError"},
		{"zero ttl", TokenPath, []string{TokenTTLHeader, "0"}, 400, "BadIMDSRequestError"},
		{"ttl above six hours", TokenPath, []string{TokenTTLHeader, "21601"}, 400, "BadIMDSRequestError"},
		{"negative ttl", TokenPath, []string{TokenTTLHeader, "-5"}, 400, "BadIMDSRequestError"},
		{"signed ttl", TokenPath, []string{TokenTTLHeader, "+5"}, 400, "BadIMDSRequestError"},
		{"non-numeric ttl", TokenPath, []string{TokenTTLHeader, "abc"}, 400, "BadIMDSRequestError"},
		{"fractional ttl", TokenPath, []string{TokenTTLHeader, "1.5"}, 400, "BadIMDSRequestError"},
		{"huge ttl", TokenPath, []string{TokenTTLHeader, "99999999999999999999"}, 400, "BadIMDSRequestError"},
		{"x-forwarded-for", TokenPath, []string{TokenTTLHeader, "300", "X-Forwarded-For", "10.0.0.1"}, 403, "v1 fallback"},
		{"x-forwarded-for empty", TokenPath, []string{TokenTTLHeader, "300", "X-Forwarded-For", ""}, 403, "v1 fallback"},
		{"versioned token path", "/2021-03-23/api/token", []string{TokenTTLHeader, "300"}, 403, "v1 fallback"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, testInstance(), Options{})
			r := ts.do(t, http.MethodPut, tc.path, tc.headers...)
			if r.status != tc.status {
				t.Fatalf("PUT %s %v: %d %q, want %d (botocore: %s)", tc.path, tc.headers, r.status, r.body, tc.status, tc.botocoreDo)
			}
			if tc.status != http.StatusOK {
				if ts.imds.tokens.valid(r.body) || !strings.Contains(r.body, "<title>") {
					t.Errorf("a refused token request answered %q, want EC2's error page", r.body)
				}
				return
			}
			if len(r.body) != 56 || strings.ContainsAny(r.body, " \n") {
				t.Errorf("token body %q: want 56 base64 characters", r.body)
			}
			ttl := tc.headers[1]
			if got := r.header.Get(TokenTTLHeader); got != ttl {
				t.Errorf("echoed %s %q, want %q", TokenTTLHeader, got, ttl)
			}
			if got := ts.do(t, http.MethodGet, "/latest/meta-data/instance-id", TokenHeader, r.body); got.status != 200 {
				t.Errorf("GET with the issued token: %d, want 200", got.status)
			}
		})
	}
}

func TestTokenValidation(t *testing.T) {
	const path = "/latest/meta-data/local-ipv4"
	tests := []struct {
		name   string
		opts   Options
		send   func(t *testing.T, ts *testServer) response
		status int
	}{
		{"v1 allowed by default", Options{}, func(t *testing.T, ts *testServer) response {
			return ts.do(t, http.MethodGet, path)
		}, 200},
		{"v1 with x-forwarded-for allowed", Options{}, func(t *testing.T, ts *testServer) response {
			return ts.do(t, http.MethodGet, path, "X-Forwarded-For", "10.0.0.1")
		}, 200},
		{"valid token", Options{}, func(t *testing.T, ts *testServer) response {
			return ts.do(t, http.MethodGet, path, TokenHeader, ts.token(t, "60"))
		}, 200},
		{"unknown token", Options{}, func(t *testing.T, ts *testServer) response {
			return ts.do(t, http.MethodGet, path, TokenHeader, "AQAEAFakeTokenThatWasNeverIssued==")
		}, 401},
		{"empty token header", Options{}, func(t *testing.T, ts *testServer) response {
			return ts.do(t, http.MethodGet, path, TokenHeader, "")
		}, 401},
		{"two token headers", Options{}, func(t *testing.T, ts *testServer) response {
			tok := ts.token(t, "60")
			return ts.do(t, http.MethodGet, path, TokenHeader, tok, TokenHeader, tok)
		}, 401},
		{"token one second before expiry", Options{}, func(t *testing.T, ts *testServer) response {
			tok := ts.token(t, "60")
			ts.clock.Advance(59 * time.Second)
			return ts.do(t, http.MethodGet, path, TokenHeader, tok)
		}, 200},
		{"token at expiry", Options{}, func(t *testing.T, ts *testServer) response {
			tok := ts.token(t, "60")
			ts.clock.Advance(60 * time.Second)
			return ts.do(t, http.MethodGet, path, TokenHeader, tok)
		}, 401},
		{"token with x-forwarded-for", Options{}, func(t *testing.T, ts *testServer) response {
			return ts.do(t, http.MethodGet, path, TokenHeader, ts.token(t, "60"), "X-Forwarded-For", "10.0.0.1")
		}, 403},
		{"tokens required: no token", Options{TokensRequired: true}, func(t *testing.T, ts *testServer) response {
			return ts.do(t, http.MethodGet, path)
		}, 401},
		{"tokens required: listing without token", Options{TokensRequired: true}, func(t *testing.T, ts *testServer) response {
			return ts.do(t, http.MethodGet, "/latest/meta-data/")
		}, 401},
		{"tokens required: missing path without token", Options{TokensRequired: true}, func(t *testing.T, ts *testServer) response {
			return ts.do(t, http.MethodGet, "/latest/meta-data/nothing")
		}, 401},
		{"tokens required: valid token", Options{TokensRequired: true}, func(t *testing.T, ts *testServer) response {
			return ts.do(t, http.MethodGet, path, TokenHeader, ts.token(t, "60"))
		}, 200},
		{"tokens required: expired token", Options{TokensRequired: true}, func(t *testing.T, ts *testServer) response {
			tok := ts.token(t, "1")
			ts.clock.Advance(time.Second)
			return ts.do(t, http.MethodGet, path, TokenHeader, tok)
		}, 401},
		{"valid token, missing path", Options{}, func(t *testing.T, ts *testServer) response {
			return ts.do(t, http.MethodGet, "/latest/meta-data/nothing", TokenHeader, ts.token(t, "60"))
		}, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, testInstance(), tc.opts)
			r := tc.send(t, ts)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d (body %q)", r.status, tc.status, r.body)
			}
			if r.status == http.StatusOK && r.body != "127.0.0.2" {
				t.Errorf("body %q, want 127.0.0.2", r.body)
			}
			if r.status == http.StatusUnauthorized && !strings.Contains(r.body, "<title>401 - Unauthorized</title>") {
				t.Errorf("body %q, want EC2's 401 page", r.body)
			}
		})
	}
}

// "The token only works on the instance that issued it" (reference 1.1).
func TestTokenIsBoundToItsInstance(t *testing.T) {
	a := startServer(t, testInstance(), Options{})
	b := startServer(t, NewInstance("i-0fedcba9876543210", "127.0.0.3", "eu-west-1"), Options{})
	tok := a.token(t, "60")
	if r := b.do(t, http.MethodGet, "/latest/meta-data/instance-id", TokenHeader, tok); r.status != http.StatusUnauthorized {
		t.Errorf("instance b accepted instance a's token: %d, want 401", r.status)
	}
}

func TestTokensAreUnique(t *testing.T) {
	ts := startServer(t, testInstance(), Options{})
	seen := make(map[string]bool)
	for range 200 {
		tok := ts.token(t, "60")
		if seen[tok] {
			t.Fatalf("token issued twice")
		}
		seen[tok] = true
	}
}

func TestLogsNeverHoldTokens(t *testing.T) {
	ts := startServer(t, testInstance(), Options{TokensRequired: true})
	tok := ts.token(t, "60")
	ts.do(t, http.MethodGet, "/latest/meta-data/local-ipv4", TokenHeader, tok)
	ts.clock.Advance(time.Minute)
	ts.do(t, http.MethodGet, "/latest/meta-data/local-ipv4", TokenHeader, tok)
	ts.do(t, http.MethodPut, TokenPath, TokenTTLHeader, "60", "X-Forwarded-For", "10.0.0.1")
	logs := ts.logs.String()
	if !strings.Contains(logs, "imds token issued") || !strings.Contains(logs, "X-Forwarded-For") {
		t.Fatalf("logs lack the token and refusal lines, so this test checks nothing:\n%s", logs)
	}
	if strings.Contains(logs, tok) {
		t.Errorf("a token value reached the log:\n%s", logs)
	}
}

func TestIdentityDocumentAgreesWithMetadata(t *testing.T) {
	inst := testInstance()
	ts := startServer(t, inst, Options{})
	r := ts.do(t, http.MethodGet, "/latest/dynamic/instance-identity/document")
	if r.status != http.StatusOK {
		t.Fatalf("identity document: %d", r.status)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("identity document is not JSON: %v\n%s", err, r.body)
	}
	agree := map[string]string{
		"privateIp":        "/latest/meta-data/local-ipv4",
		"instanceId":       "/latest/meta-data/instance-id",
		"region":           "/latest/meta-data/placement/region",
		"availabilityZone": "/latest/meta-data/placement/availability-zone",
		"instanceType":     "/latest/meta-data/instance-type",
		"imageId":          "/latest/meta-data/ami-id",
		"accountId":        "/latest/meta-data/network/interfaces/macs/" + inst.MAC + "/owner-id",
	}
	for field, path := range agree {
		md := ts.do(t, http.MethodGet, path)
		if md.status != http.StatusOK || doc[field] != md.body {
			t.Errorf("document %s = %v, %s = %q (%d): want equal", field, doc[field], path, md.body, md.status)
		}
	}
	wantExact := map[string]any{
		"architecture": inst.Architecture,
		"pendingTime":  "2025-03-04T05:06:07Z", // the fake clock at New
		"version":      "2017-09-30",
	}
	for field, want := range wantExact {
		if doc[field] != want {
			t.Errorf("document %s = %v, want %v", field, doc[field], want)
		}
	}
	for _, field := range []string{"billingProducts", "devpayProductCodes", "marketplaceProductCodes", "kernelId", "ramdiskId"} {
		if v, ok := doc[field]; !ok || v != nil {
			t.Errorf("document %s = %v (present %v), want null as EC2 serves it", field, v, ok)
		}
	}
}

func TestNewInstance(t *testing.T) {
	tests := []struct {
		region, ip, hostname, mac, az string
	}{
		{"us-east-1", "127.0.0.2", "ip-127-0-0-2.ec2.internal", "02:00:7f:00:00:02", "us-east-1a"},
		{"eu-west-1", "127.0.0.5", "ip-127-0-0-5.eu-west-1.compute.internal", "02:00:7f:00:00:05", "eu-west-1a"},
	}
	for _, tc := range tests {
		t.Run(tc.region, func(t *testing.T) {
			inst := NewInstance("i-1", tc.ip, tc.region)
			if inst.Hostname != tc.hostname || inst.MAC != tc.mac || inst.AvailabilityZone != tc.az {
				t.Errorf("NewInstance: hostname %q mac %q az %q; want %q %q %q",
					inst.Hostname, inst.MAC, inst.AvailabilityZone, tc.hostname, tc.mac, tc.az)
			}
		})
	}
	a, b := NewInstance("i-a", "127.0.0.2", "us-east-1"), NewInstance("i-b", "127.0.0.3", "us-east-1")
	if a.AMIID != b.AMIID || a.VPCID != b.VPCID || a.SubnetID != b.SubnetID {
		t.Errorf("one fleet should share AMI, VPC and subnet: %+v vs %+v", a, b)
	}
	if a.InterfaceID == b.InterfaceID || a.MAC == b.MAC {
		t.Errorf("two instances share an interface or MAC: %s/%s", a.InterfaceID, a.MAC)
	}
	hex17 := regexp.MustCompile(`^(i|ami|vpc|subnet|eni)-[0-9a-f]{17}$`)
	for _, id := range []string{NewInstanceID("env/1"), a.AMIID, a.VPCID, a.SubnetID, a.InterfaceID} {
		if !hex17.MatchString(id) {
			t.Errorf("id %q: want a prefix and 17 hex digits as EC2 uses", id)
		}
	}
	if NewInstanceID("env/1") != NewInstanceID("env/1") || NewInstanceID("env/1") == NewInstanceID("env/2") {
		t.Errorf("NewInstanceID must be stable per seed and differ between seeds")
	}
}

func TestNewRejectsIncompleteInstance(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Instance)
		want   string
	}{
		{"no id", func(i *Instance) { i.InstanceID = "" }, "InstanceID is empty"},
		{"no region", func(i *Instance) { i.Region = "" }, "Region is empty"},
		{"bad ip", func(i *Instance) { i.PrivateIP = "127.0.0" }, "private ip"},
		{"slash in mac", func(i *Instance) { i.MAC = "02/00" }, "contains a slash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst := testInstance()
			tc.change(&inst)
			_, err := New(inst, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
