package ebapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/smithy-go"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/awsapi/ebapi"
	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/environment"
	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/testutil"
)

// appEnv makes the test binary the instances' app: it says it started,
// then answers 200 on HOST:PORT.
const appEnv = "EBAPI_TEST_APP"

func TestMain(m *testing.M) {
	fleet.MaybeRunShim()
	if os.Getenv(appEnv) == "1" {
		fmt.Println("app started on", os.Getenv("ELBOW_INSTANCE_ID"))
		addr := net.JoinHostPort(os.Getenv("HOST"), os.Getenv("PORT"))
		err := http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		}))
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// startEnv writes yaml as elbow.yaml in a temporary folder and starts it;
// the environment stops at the end of the test.
func startEnv(t *testing.T, yaml string) *environment.Env {
	t.Helper()
	file := filepath.Join(t.TempDir(), "elbow.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(file, []byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	env, err := environment.Start(context.Background(), cfg, environment.Options{FirstProbeJitter: time.Millisecond})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := env.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return env
}

// client is aws-sdk-go-v2's Elastic Beanstalk client of env's API, served
// on loopback.
func client(t *testing.T, env awsapi.Environment) *elasticbeanstalk.Client {
	t.Helper()
	srv := httptest.NewServer(&awsapi.Handler{Services: []awsapi.Service{ebapi.New(env)}})
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-west-2", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	return elasticbeanstalk.NewFromConfig(cfg, func(o *elasticbeanstalk.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
}

// target is a target whose /health answers the code it is set to.
type target struct {
	addr string
	code atomic.Int32
}

func newTarget(t *testing.T, code int) *target {
	tg := &target{}
	tg.code.Store(int32(code))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.WriteHeader(int(tg.code.Load()))
		}
		io.WriteString(w, "target")
	}))
	t.Cleanup(srv.Close)
	tg.addr = srv.Listener.Addr().String()
	return tg
}

// targetsYAML registers one target in group web, with health checks as
// quick as ELB allows and enhanced health that adopts a status at the
// first evaluation.
const targetsYAML = `
name: ebapi-env
instances:
  targets: ["%s"]
console: {address: "127.0.0.1:0"}
target_groups:
  - name: web
    health_check: {path: /health, interval: 5, timeout: 2, healthy_threshold: 2, unhealthy_threshold: 2}
listeners:
  - port: %d
    default_action: {target_group: web}
enhanced_health: {evaluation_period: 10, transition_evaluations: 1, launch_grace_period: 0, min_request_rate: 0}
`

// apiError asserts err is an API error with code, HTTP status 400 and a
// message containing msg.
func apiError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an API error %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("error = %s: %q, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != http.StatusBadRequest {
		t.Fatalf("HTTP status %d, want 400", re.HTTPStatusCode())
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func freePort(t *testing.T) int { return testutil.FreePort(t, "127.0.0.1") }
