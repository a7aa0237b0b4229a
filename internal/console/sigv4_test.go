package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
	"github.com/elbow-lb/elbow/internal/testutil"
)

const (
	sigID     = "AKIAIOSFODNN7EXAMPLE"
	sigSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	callBody  = "Action=DescribeTargetGroups&Version=2015-12-01&Names.member.1=web"
)

var (
	rightKey     = aws.Credentials{AccessKeyID: sigID, SecretAccessKey: sigSecret}
	wrongSecret  = aws.Credentials{AccessKeyID: sigID, SecretAccessKey: sigSecret + "x"}
	unknownKeyID = aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLF", SecretAccessKey: sigSecret}
)

// queryAPI stands in for awsapi.Handler: it answers every call with a
// fixed DescribeTargetGroups answer naming one group, "signed-ok", and
// records the bodies it was given, which tells whether the signature check
// put the body back whole.
type queryAPI struct {
	mu     sync.Mutex
	bodies []string
}

func (q *queryAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	q.mu.Lock()
	q.bodies = append(q.bodies, string(b))
	q.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>
<DescribeTargetGroupsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetGroupsResult><TargetGroups><member><TargetGroupName>signed-ok</TargetGroupName></member></TargetGroups></DescribeTargetGroupsResult><ResponseMetadata><RequestId>fixed</RequestId></ResponseMetadata></DescribeTargetGroupsResponse>`)
}

func (q *queryAPI) last() (string, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.bodies) == 0 {
		return "", 0
	}
	return q.bodies[len(q.bodies)-1], len(q.bodies)
}

func signedConsole(t *testing.T, cr *Credentials) (string, *queryAPI) {
	q := &queryAPI{}
	return serve(t, New(Options{Health: &fakeHealth{}, Credentials: cr, QueryAPI: q})), q
}

func payloadHash(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// sign signs req as aws-sdk-go-v2 signs a call.
func sign(t *testing.T, req *http.Request, body string, key aws.Credentials, service, region string, at time.Time) {
	t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), key, req, payloadHash(body), service, region, at); err != nil {
		t.Fatal(err)
	}
}

type awsErrorResponse struct {
	Code      string `xml:"Error>Code"`
	Type      string `xml:"Error>Type"`
	Message   string `xml:"Error>Message"`
	RequestID string `xml:"RequestId"`
}

// TestSigV4 sends Query calls and console requests signed with
// aws-sdk-go-v2's signer to a console with credentials: the right key
// reaches the handler with its body whole; every tampering is refused with
// AWS's status, code and message, in AWS's XML for a Query call and in the
// console's JSON otherwise.
func TestSigV4(t *testing.T) {
	t.Parallel()
	base, q := signedConsole(t, &Credentials{AccessKeyID: sigID, SecretAccessKey: sigSecret})
	now := time.Now()
	type tc struct {
		name    string
		method  string
		path    string
		body    string
		key     aws.Credentials
		service string
		region  string
		at      time.Time
		before  func(*http.Request) // before signing
		after   func(*http.Request) // after signing: tampering
		status  int
		code    string
		message string // a prefix of the message
	}
	cases := []tc{
		{name: "right key", status: 200},
		{name: "right key, Beanstalk's signing name, another region", service: "elasticbeanstalk", region: "eu-west-3", status: 200},
		{name: "right key, a path and a query", path: "/elbv2/a%20b/?b=2&a=x%2Fy&a=1&flag", status: 200},
		{name: "right key, botocore's normalised path", path: "/elbv2/x/y/", after: func(r *http.Request) { r.URL.Path = "/elbv2//x/./y/" }, status: 200},
		{name: "right key, payload hash header", before: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", payloadHash(callBody)) }, status: 200},
		{name: "right key, a signed header with runs of spaces", before: func(r *http.Request) { r.Header.Set("X-Amz-Meta", "  a   b  ") }, status: 200},
		{name: "right key, a signed JSON API request", method: http.MethodGet, path: "/api/v1/target-groups", body: "-", status: 200},
		{name: "wrong secret", key: wrongSecret, status: 403, code: "SignatureDoesNotMatch", message: msgSignatureDoesNotMatch},
		{name: "unknown key id", key: unknownKeyID, status: 403, code: "InvalidClientTokenId", message: msgInvalidClientTokenID},
		{name: "stale date", at: now.Add(-16 * time.Minute), status: 403, code: "SignatureDoesNotMatch", message: "Signature expired: "},
		{name: "date in the future", at: now.Add(16 * time.Minute), status: 403, code: "SignatureDoesNotMatch", message: "Signature not yet current: "},
		{name: "body tampered after signing", after: func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(callBody, "web", "wob", 1)))
		}, status: 403, code: "SignatureDoesNotMatch", message: msgSignatureDoesNotMatch},
		{name: "body tampered, hash header kept", before: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", payloadHash(callBody)) }, after: func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(callBody, "web", "wob", 1)))
		}, status: 400, code: "XAmzContentSHA256Mismatch"},
		{name: "query tampered", path: "/?a=1", after: func(r *http.Request) { r.URL.RawQuery = "a=2" }, status: 403, code: "SignatureDoesNotMatch"},
		{name: "path tampered", path: "/elbv2", after: func(r *http.Request) { r.URL.Path = "/eb" }, status: 403, code: "SignatureDoesNotMatch"},
		{name: "signed header tampered", before: func(r *http.Request) { r.Header.Set("X-Amz-Meta", "1") }, after: func(r *http.Request) { r.Header.Set("X-Amz-Meta", "2") }, status: 403, code: "SignatureDoesNotMatch"},
		{name: "X-Amz-Date changed after signing", after: func(r *http.Request) {
			r.Header.Set("X-Amz-Date", now.Add(time.Second).UTC().Format(sigv4TimeFormat))
		}, status: 403, code: "SignatureDoesNotMatch"},
		{name: "another service's signing name", service: "s3", status: 403, code: "SignatureDoesNotMatch", message: "Credential should be scoped to correct service: 'elasticloadbalancing' or 'elasticbeanstalk'."},
		{name: "no X-Amz-Date", after: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, status: 400, code: "IncompleteSignature", message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
		{name: "no Signature", after: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
		}, status: 400, code: "IncompleteSignature", message: "Authorization header requires 'Signature' parameter."},
		{name: "wrong secret on the JSON API", method: http.MethodGet, path: "/api/v1/target-groups", body: "-", key: wrongSecret, status: 403, code: "SignatureDoesNotMatch", message: msgSignatureDoesNotMatch},
		{name: "body over 1 MiB", body: callBody + "&Pad=" + strings.Repeat("x", sigv4MaxBody), status: 413, code: "RequestEntityTooLarge"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.method == "" {
				c.method = http.MethodPost
			}
			if c.body == "" {
				c.body = callBody
			} else if c.body == "-" {
				c.body = ""
			}
			if c.key.AccessKeyID == "" {
				c.key = rightKey
			}
			if c.service == "" {
				c.service = "elasticloadbalancing"
			}
			if c.region == "" {
				c.region = "us-west-2"
			}
			if c.at.IsZero() {
				c.at = now
			}
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req, err := http.NewRequest(c.method, base+c.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if c.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if c.before != nil {
				c.before(req)
			}
			sign(t, req, c.body, c.key, c.service, c.region, c.at)
			if c.after != nil {
				c.after(req)
			}
			_, callsBefore := q.last()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, got)
			}
			seen, calls := q.last()
			if c.status == 200 {
				if c.method == http.MethodPost && (calls != callsBefore+1 || seen != c.body) {
					t.Errorf("the handler got %q, want the body as signed %q", seen, c.body)
				}
				return
			}
			if calls != callsBefore {
				t.Errorf("a refused call reached the handler with %q", seen)
			}
			if h := resp.Header.Get("WWW-Authenticate"); h != "" {
				t.Errorf("a %d carries a Basic challenge %q", c.status, h)
			}
			if strings.Contains(string(got), sigSecret) {
				t.Errorf("the answer shows the secret: %s", got)
			}
			var code, msg string
			if c.method == http.MethodPost {
				var e awsErrorResponse
				if err := xml.Unmarshal(got, &e); err != nil {
					t.Fatalf("not AWS's ErrorResponse: %v: %s", err, got)
				}
				if e.Type != "Sender" || e.RequestID == "" || resp.Header.Get("X-Amzn-RequestId") != e.RequestID {
					t.Errorf("Type %q, RequestId %q, X-Amzn-RequestId %q", e.Type, e.RequestID, resp.Header.Get("X-Amzn-RequestId"))
				}
				code, msg = e.Code, e.Message
			} else {
				var e apiv1.ErrorResponse
				if err := json.Unmarshal(got, &e); err != nil {
					t.Fatalf("not the console's JSON error: %v: %s", err, got)
				}
				code, msg = e.Error.Code, e.Error.Message
			}
			if code != c.code || !strings.HasPrefix(msg, c.message) {
				t.Errorf("code %q message %q, want %q %q...", code, msg, c.code, c.message)
			}
		})
	}
}

// TestSigV4Skew: a signature is good from 15 minutes before the console's
// clock to 15 minutes after it, and not a second beyond, with AWS's
// message naming the three times.
func TestSigV4Skew(t *testing.T) {
	t.Parallel()
	cr := &Credentials{AccessKeyID: sigID, SecretAccessKey: sigSecret}
	at := time.Date(2026, 11, 29, 19, 10, 29, 0, time.UTC)
	cases := []struct {
		now     time.Time
		message string
	}{
		{at.Add(15 * time.Minute), ""},
		{at.Add(-15 * time.Minute), ""},
		{at.Add(15*time.Minute + time.Second), "Signature expired: 20261129T191029Z is now earlier than 20261129T191030Z (20261129T192530Z - 15 min.)"},
		{at.Add(-15*time.Minute - time.Second), "Signature not yet current: 20261129T191029Z is still later than 20261129T191028Z (20261129T185528Z + 15 min.)"},
	}
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/", strings.NewReader(callBody))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sign(t, req, callBody, rightKey, "elasticloadbalancing", "us-west-2", at)
		e := verifySigV4(req, cr, c.now)
		switch {
		case c.message == "" && e != nil:
			t.Errorf("now %s: refused: %v", c.now, e)
		case c.message != "" && (e == nil || e.status != 403 || e.code != "SignatureDoesNotMatch" || e.message != c.message):
			t.Errorf("now %s: %v, want 403 SignatureDoesNotMatch %q", c.now, e, c.message)
		}
	}
}

// TestSigV4WithoutCredentials: on loopback without credentials nothing is
// verified, as moto and LocalStack do: a call signed with any secret
// reaches the handler.
func TestSigV4WithoutCredentials(t *testing.T) {
	t.Parallel()
	base, q := signedConsole(t, nil)
	req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(callBody))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sign(t, req, callBody, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, "elasticloadbalancing", "us-east-1", time.Now().Add(-time.Hour))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, _ := q.last(); resp.StatusCode != 200 || got != callBody {
		t.Errorf("status %d, handler got %q", resp.StatusCode, got)
	}
}

// TestSigV4SDKClient: aws-sdk-go-v2's ELBv2 client (its own signing, its
// own headers: amz-sdk-invocation-id, amz-sdk-request, content-length)
// gets the answer with the console's key, and the AWS error code, not a
// parse failure, with another.
func TestSigV4SDKClient(t *testing.T) {
	t.Parallel()
	base, _ := signedConsole(t, &Credentials{AccessKeyID: sigID, SecretAccessKey: sigSecret})
	client := func(id, secret string) *elbv2.Client {
		return elbv2.New(elbv2.Options{
			BaseEndpoint:     aws.String(base + "/elbv2"),
			Region:           "us-west-2",
			Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
			RetryMaxAttempts: 1,
		})
	}
	ctx := context.Background()
	out, err := client(sigID, sigSecret).DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"web"}})
	if err != nil {
		t.Fatalf("with the console's key: %v", err)
	}
	if len(out.TargetGroups) != 1 || aws.ToString(out.TargetGroups[0].TargetGroupName) != "signed-ok" {
		t.Errorf("answer %+v", out.TargetGroups)
	}
	for _, c := range []struct{ id, secret, code string }{
		{sigID, "test", "SignatureDoesNotMatch"},
		{"test", sigSecret, "InvalidClientTokenId"},
	} {
		_, err := client(c.id, c.secret).DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != c.code {
			t.Errorf("key %s: %v, want %s", c.id, err, c.code)
		}
	}
}

// canonicalURIs must encode the escaped path again (AWS's double encoding
// outside S3), so a space the client sent as %20 is signed as %2520.
func TestCanonicalURIs(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("http://h/a%20b/c~d")
	if got := canonicalURIs(u.EscapedPath()); len(got) != 1 || got[0] != "/a%2520b/c~d" {
		t.Errorf("%q", got)
	}
	if got := canonicalURIs(""); len(got) != 1 || got[0] != "/" {
		t.Errorf("%q", got)
	}
	if got := canonicalURIs("/a//b/../c/"); len(got) != 2 || got[1] != "/a/c/" {
		t.Errorf("%q", got)
	}
}

// TestSigV4AWSCLI: the real aws CLI (botocore's signer, its own headers
// and path normalisation: it signs /elbv2/x for /elbv2//x) reaches the
// handler with the console's key and exits 0; with a wrong secret or
// another key id it exits as for any service error (254; 255 in CLI v1)
// printing AWS's code, as it does against AWS.
func TestSigV4AWSCLI(t *testing.T) {
	t.Parallel()
	awsCLI := testutil.RequireProgram(t, "aws")
	base, q := signedConsole(t, &Credentials{AccessKeyID: sigID, SecretAccessKey: sigSecret})
	dir := t.TempDir()
	run := func(id, secret string) (int, string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsCLI, "elbv2", "describe-target-groups", "--names", "web",
			"--endpoint-url", base+"/elbv2//x", "--region", "us-west-2", "--output", "json")
		// The test's credentials only: no profile, no instance metadata.
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env,
			"AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret,
			"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
			"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
			"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("running %s: %v", awsCLI, err)
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}
	// A service's error exits 254 in CLI v2, 255 in v1 (v1's catch-all)
	// (https://docs.aws.amazon.com/cli/latest/userguide/cli-usage-returncodes.html,
	// https://docs.aws.amazon.com/cli/v1/userguide/cli-usage-returncodes.html).
	version, err := exec.Command(awsCLI, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("aws --version: %v: %s", err, version)
	}
	refused := 254
	if strings.HasPrefix(string(version), "aws-cli/1.") {
		refused = 255
	}
	code, out, errOut := run(sigID, sigSecret)
	if code != 0 || !strings.Contains(out, `"signed-ok"`) {
		t.Fatalf("with the console's key: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got, _ := q.last(); !strings.Contains(got, "Action=DescribeTargetGroups") || !strings.Contains(got, "Names.member.1=web") {
		t.Errorf("the handler got %q", got)
	}
	for _, c := range []struct{ id, secret, code string }{
		{sigID, sigSecret + "x", "SignatureDoesNotMatch"},
		{"AKIAIOSFODNN7EXAMPLF", sigSecret, "InvalidClientTokenId"},
	} {
		code, _, errOut := run(c.id, c.secret)
		if code != refused || !strings.Contains(errOut, "An error occurred ("+c.code+")") {
			t.Errorf("key %s: exit %d, stderr %q; want %d and (%s)", c.id, code, errOut, refused, c.code)
		}
		if strings.Contains(errOut, sigSecret) {
			t.Errorf("the CLI printed the secret: %s", errOut)
		}
	}
}
