package console

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/elbow-lb/elbow/internal/awsapi"
	"github.com/elbow-lb/elbow/internal/config"
)

// Credentials are the access key a console asks of every request (page,
// JSON API, /metrics) when set. Without them the console answers any
// request, which is safe only on loopback: config validation refuses a
// console beyond loopback without credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// String never shows the secret, should Credentials reach a log.
func (c Credentials) String() string {
	return "Credentials{AccessKeyID: " + c.AccessKeyID + ", SecretAccessKey: ********}"
}

// authRealm is the realm of the Basic challenge (RFC 7617 section 2).
const authRealm = `Basic realm="elbow", charset="UTF-8"`

// authorize reports whether r carries the console's credentials, and
// otherwise answers the refusal. Two forms are accepted: HTTP Basic (elbow's
// own commands, browsers) and AWS Signature Version 4 made with the same
// access key id and secret (the aws CLI and SDKs calling the Query API;
// sigv4.go). A Query call is refused in AWS's XML ErrorResponse, so that
// the CLI and SDKs print the code; anything else in the console's JSON.
// It never logs or echoes what the request sent.
func (c *Console) authorize(w http.ResponseWriter, r *http.Request) bool {
	cr := c.o.Credentials
	if cr == nil {
		return true
	}
	var e *authError
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, sigv4Algorithm+" ") {
		e = verifySigV4(r, cr, time.Now())
	} else if id, secret, ok := r.BasicAuth(); !ok {
		e = &authError{http.StatusUnauthorized, "MissingAuthenticationToken",
			"this console requires credentials: send its access key id and secret as HTTP Basic credentials (elbow's commands read AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or sign the request with them (AWS Signature Version 4, as the aws CLI and SDKs do)"}
	} else if !credentialsMatch(cr, id, secret) {
		e = &authError{http.StatusUnauthorized, "UnrecognizedClientException", "the access key id or secret is not the console's"}
	}
	if e == nil {
		return true
	}
	c.log.Warn("console request refused: missing or wrong credentials", "code", e.code, "path", r.URL.Path, "remote", r.RemoteAddr)
	if e.status == http.StatusUnauthorized {
		// RFC 9110 section 15.5.2: a 401 carries a challenge. A refused
		// signature is AWS's 403, which carries none.
		w.Header().Set("WWW-Authenticate", authRealm)
	}
	if awsapi.IsCall(r) {
		awsapi.WriteError(w, &awsapi.Error{Code: e.code, Message: e.message, Status: e.status, Sender: true})
	} else {
		writeError(w, e.status, e.code, e.message)
	}
	return false
}

// credentialsMatch compares in constant time, both fields always, so that
// timing tells neither which field was wrong nor how much of it matched.
func credentialsMatch(cr *Credentials, id, secret string) bool {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(cr.AccessKeyID))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(cr.SecretAccessKey))
	return idOK&secretOK == 1
}

// CredentialsFrom converts a validated console.credentials block; nil stays nil.
func CredentialsFrom(c *config.ConsoleCredentials) *Credentials {
	if c == nil {
		return nil
	}
	return &Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.Secret()}
}
