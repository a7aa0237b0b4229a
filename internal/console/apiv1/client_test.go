package apiv1_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"reflect"
	"testing"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/console"
	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/diagnose"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// serve runs c on a loopback port until the test ends.
func serve(t *testing.T, c *console.Console) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

// withTarget is a real group that describes one unhealthy target, without
// waiting for a checker to find it so.
type withTarget struct {
	*targetgroup.Group
	d targetgroup.TargetHealthDescription
}

func (w withTarget) Describe() []targetgroup.TargetHealthDescription {
	return []targetgroup.TargetHealthDescription{w.d}
}

// TestClientReadsTypedDiagnosis: a diagnosis the console serves reaches the
// client as the same diagnose.Diagnosis, field for field, and the client
// sends the credentials the console asks for, the PATCH body included.
func TestClientReadsTypedDiagnosis(t *testing.T) {
	tg := config.DefaultTargetGroup
	tg.Name, tg.Port = "web", 8000
	g, err := targetgroup.New(tg, targetgroup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	unhealthy := withTarget{g, targetgroup.TargetHealthDescription{
		Target: healthcheck.Target{ID: "i-1", IP: "127.0.0.1", Port: 8000}, HealthCheckPort: "8000",
		TargetHealth: healthcheck.TargetHealth{State: healthcheck.StateUnhealthy, Reason: healthcheck.ReasonResponseCodeMismatch,
			Description: healthcheck.MismatchDescription(400)}}}
	want := diagnose.Diagnosis{Case: "django-allowed-hosts", Framework: "Django", Summary: "s", Why: "w",
		Fixes: []diagnose.Fix{{Title: "t", Detail: "d", TradeOff: "o"}},
		Evidence: diagnose.Evidence{
			HealthCheck: diagnose.Exchange{Request: "GET / HTTP/1.1", Addr: "127.0.0.1:8000", StatusCode: 400,
				Header: http.Header{"Content-Type": {"text/html"}}, Body: "Bad Request", LatencyMS: 1.5},
			AsUser: &diagnose.Exchange{Request: "GET / HTTP/1.1", Addr: "127.0.0.1:8000", StatusCode: 200, LatencyMS: 2},
		}}
	const id, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	url := serve(t, console.New(console.Options{
		TargetGroups: func() []console.TargetGroup { return []console.TargetGroup{unhealthy} },
		Diagnose: func(context.Context, string, healthcheck.Target, healthcheck.TargetHealth) (diagnose.Diagnosis, bool) {
			return want, true
		},
		ModifyHealthCheck: func(_ string, hc config.HealthCheck, _ *int) error {
			s, err := hc.Settings("HTTP1")
			if err == nil {
				g.ModifyHealthCheck(s)
			}
			return err
		},
		Credentials: &console.Credentials{AccessKeyID: id, SecretAccessKey: secret},
	}))
	ctx := context.Background()

	none, err := apiv1.NewClient(url, apiv1.ClientOptions{CredentialsHint: "set them"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = none.TargetHealth(ctx, "web")
	if ce, ok := errors.AsType[*apiv1.CredentialsRequiredError](err); !ok || err.Error() != "the console at "+url+" requires credentials: set them" {
		t.Errorf("without credentials: %v (%v)", err, ce)
	}

	c, err := apiv1.NewClient(url+"/", apiv1.ClientOptions{Credentials: func() (string, string, bool) { return id, secret, true }})
	if err != nil {
		t.Fatal(err)
	}
	doc, raw, err := c.TargetHealth(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.TargetHealthDescriptions) != 1 || len(raw) == 0 {
		t.Fatalf("answer %+v\n%s", doc, raw)
	}
	if got := doc.TargetHealthDescriptions[0].Diagnosis; got == nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("diagnosis\n got %+v\nwant %+v", got, want)
	}

	code := "200-301"
	mod, _, err := c.ModifyTargetGroup(ctx, "web", apiv1.TargetGroupModification{Matcher: &apiv1.MatcherChange{HttpCode: &code}})
	if err != nil || mod.Matcher.HttpCode != code || g.HealthCheck().Matcher.String() != code {
		t.Errorf("modify: %+v %v, group's matcher %s", mod, err, g.HealthCheck().Matcher)
	}
	bad := ""
	_, _, err = c.ModifyTargetGroup(ctx, "web", apiv1.TargetGroupModification{Matcher: &apiv1.MatcherChange{HttpCode: &bad}})
	if ae, ok := errors.AsType[*apiv1.Error](err); !ok || ae.StatusCode != 400 || ae.Code != "ValidationError" ||
		len(ae.Fields) != 1 || ae.Fields[0].Field != "Matcher" {
		t.Errorf("refused change: %#v", err)
	}
	_, _, err = c.TargetHealth(ctx, "nope")
	if ae, ok := errors.AsType[*apiv1.Error](err); !ok || ae.StatusCode != 404 || ae.Code != "TargetGroupNotFound" {
		t.Errorf("unknown group: %v", err)
	}

	if _, err := apiv1.NewClient("127.0.0.1:8099", apiv1.ClientOptions{}); err == nil {
		t.Error("a base without a scheme accepted")
	}
}
