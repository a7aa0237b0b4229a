package awsapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

type echo struct{}

func (echo) Version() string   { return "2015-12-01" }
func (echo) Namespace() string { return "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/" }

type echoResult struct {
	Path    string   `xml:"Path"`
	IDs     []string `xml:"Ids>member"`
	Targets []target `xml:"Targets>member"`
	Attr    string   `xml:"Attr,omitempty"`
}

type target struct {
	ID   string `xml:"Id"`
	Port int    `xml:"Port,omitempty"`
}

func (echo) Call(_ context.Context, action string, p Params) (any, error) {
	switch action {
	case "Echo":
		r := echoResult{Path: p.Struct("Matcher").String("HttpCode"), IDs: p.List("Names"), Attr: p.Map("Tags")["k"]}
		for _, t := range p.Structs("Targets") {
			port, _, err := t.Int("Port")
			if err != nil {
				return nil, err
			}
			r.Targets = append(r.Targets, target{ID: t.String("Id"), Port: port})
		}
		return r, nil
	case "Nothing":
		return nil, nil
	}
	return nil, NewError(400, "TargetGroupNotFound", "One or more target groups not found")
}

func call(t *testing.T, form string) (int, http.Header, string) {
	t.Helper()
	srv := httptest.NewServer(&Handler{Services: []Service{echo{}}})
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/elbv2", "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// The wire forms of botocore's QuerySerializer and aws-sdk-go-v2's
// aws/protocol/query, in any order: lists from member.1, structures as
// dotted paths, maps as entry.N.key/value.
func TestQueryParametersAndEnvelope(t *testing.T) {
	form := url.Values{
		"Version": {"2015-12-01"}, "Action": {"Echo"}, "Matcher.HttpCode": {"200-301"},
		"Names.member.2": {"b"}, "Names.member.1": {"a"}, "Names.member.10": {"j"},
		"Targets.member.1.Id": {"i-1"}, "Targets.member.1.Port": {"8080"}, "Targets.member.2.Id": {"i-2"},
		"Tags.entry.1.key": {"k"}, "Tags.entry.1.value": {"v"},
	}.Encode()
	code, h, body := call(t, form)
	id := h.Get("X-Amzn-RequestId")
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<EchoResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><EchoResult><Path>200-301</Path>` +
		`<Ids><member>a</member><member>b</member><member>j</member></Ids>` +
		`<Targets><member><Id>i-1</Id><Port>8080</Port></member><member><Id>i-2</Id></member></Targets><Attr>v</Attr></EchoResult>` +
		`<ResponseMetadata><RequestId>` + id + `</RequestId></ResponseMetadata></EchoResponse>`
	if code != 200 || body != want || len(id) != 36 {
		t.Fatalf("%d %q\n got %s\nwant %s", code, id, body, want)
	}
	if _, _, body := call(t, "Action=Nothing&Version=2015-12-01"); !strings.Contains(body, "<NothingResult/>") {
		t.Fatalf("an operation without output still answers its Result element: %s", body)
	}
}

func TestQueryErrors(t *testing.T) {
	for _, tc := range []struct{ form, status, code, msg string }{
		{"Action=Missing&Version=2015-12-01", "400", "TargetGroupNotFound", "One or more target groups not found"},
		{"Action=Echo&Version=2015-12-01&Targets.member.1.Port=x", "400", "ValidationError", "Value 'x' at 'port' failed to satisfy constraint: Member must be a number"},
		{"Action=DescribeLoadBalancers&Version=2012-06-01", "400", "InvalidAction", "API version 2012-06-01 is Classic Load Balancer's (aws elb); elbow is an Application Load Balancer: use aws elbv2 (2015-12-01)"},
		{"Action=X&Version=2099-01-01", "400", "InvalidAction", `API version "2099-01-01" is not one elbow answers: it answers 2015-12-01`},
		{"Version=2015-12-01", "400", "MissingAction", "the request has no Action parameter"},
	} {
		code, _, body := call(t, tc.form)
		if want := "<Error><Type>Sender</Type><Code>" + tc.code + "</Code><Message>" + xmlEscape(tc.msg) + "</Message></Error>"; !strings.Contains(body, want) || code != 400 {
			t.Errorf("%s: %d %s\nwant %s", tc.form, code, body, want)
		}
	}
}

func xmlEscape(s string) string {
	return strings.NewReplacer(`"`, "&#34;", "'", "&#39;", "<", "&lt;", ">", "&gt;", "&", "&amp;").Replace(s)
}
