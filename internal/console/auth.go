package console

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

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

// errSigV4Unsupported answers SigV4-signed requests until they are verified.
var errSigV4Unsupported = errors.New("AWS Signature Version 4 is not verified by this console yet: send the access key id and secret as HTTP Basic credentials")

// authorize reports whether r carries the console's credentials, and
// otherwise answers 401 with the challenge. It never logs or echoes what
// the request sent.
func (c *Console) authorize(w http.ResponseWriter, r *http.Request) bool {
	cr := c.o.Credentials
	if cr == nil {
		return true
	}
	var err error
	code := "UnrecognizedClientException"
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		// Hook for the AWS-compatible Query API: verify the SigV4 signature
		// against cr here
		// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
		err = c.verifySigV4(r, cr)
	} else if id, secret, ok := r.BasicAuth(); !ok {
		code = "MissingAuthenticationToken"
		err = errors.New("this console requires credentials: send its access key id and secret as HTTP Basic credentials (elbow's commands read AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	} else if !credentialsMatch(cr, id, secret) {
		err = errors.New("the access key id or secret is not the console's")
	}
	if err == nil {
		return true
	}
	c.log.Warn("console request refused: missing or wrong credentials", "path", r.URL.Path, "remote", r.RemoteAddr)
	w.Header().Set("WWW-Authenticate", authRealm)
	writeError(w, http.StatusUnauthorized, code, err.Error())
	return false
}

// credentialsMatch compares in constant time, both fields always, so that
// timing tells neither which field was wrong nor how much of it matched.
func credentialsMatch(cr *Credentials, id, secret string) bool {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(cr.AccessKeyID))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(cr.SecretAccessKey))
	return idOK&secretOK == 1
}

// verifySigV4 is where SigV4 verification of Query API calls goes.
func (c *Console) verifySigV4(*http.Request, *Credentials) error {
	return errSigV4Unsupported
}

// CredentialsFrom converts a validated console.credentials block; nil stays nil.
func CredentialsFrom(c *config.ConsoleCredentials) *Credentials {
	if c == nil {
		return nil
	}
	return &Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.Secret()}
}
