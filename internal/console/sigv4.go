package console

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AWS Signature Version 4 verification of requests signed with the
// console's access key, as AWS verifies them:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
// (canonical request, string to sign, signing key) and
// https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html.
//
// What it accepts, and why:
//   - the Authorization header form only (AWS4-HMAC-SHA256); presigned URLs
//     (X-Amz-Signature in the query) are S3's habit and no Query client here
//     sends them, so they fall through to the Basic check and are refused;
//   - any region: the caller's configured region is its own business, the
//     console serves one environment whatever the region says;
//   - the services the console answers on the Query API only,
//     elasticloadbalancing (ELBv2) and elasticbeanstalk, as AWS refuses a
//     credential scoped to another service: a signature made for another
//     API is not a request for this one;
//   - X-Amz-Date (or, as AWS allows, Date) within 15 minutes of the
//     console's clock, either way.

const (
	sigv4Algorithm  = "AWS4-HMAC-SHA256"
	sigv4Terminator = "aws4_request"
	sigv4TimeFormat = "20060102T150405Z"
	// sigv4MaxSkew is AWS's: a signature is valid 15 minutes either side of
	// the server's clock.
	sigv4MaxSkew = 15 * time.Minute
	// sigv4MaxBody bounds the body read for its hash: the same 1 MiB as the
	// Query handler's form (awsapi.Handler), larger than any call elbow
	// answers.
	sigv4MaxBody = 1 << 20
)

// sigv4Services are the signing names of the APIs the console answers.
var sigv4Services = []string{"elasticloadbalancing", "elasticbeanstalk"}

// authError is a refused request: AWS's status, code and message.
type authError struct {
	status  int
	code    string
	message string
}

func (e *authError) Error() string { return e.code + ": " + e.message }

func incompleteSignature(format string, a ...any) *authError {
	return &authError{http.StatusBadRequest, "IncompleteSignature", fmt.Sprintf(format, a...)}
}

func signatureDoesNotMatch(format string, a ...any) *authError {
	return &authError{http.StatusForbidden, "SignatureDoesNotMatch", fmt.Sprintf(format, a...)}
}

// The messages AWS answers for the two common mistakes, word for word, so
// that what users search for finds the right advice.
const (
	msgInvalidClientTokenID  = "The security token included in the request is invalid."
	msgSignatureDoesNotMatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// sigv4Auth is a parsed Authorization header.
type sigv4Auth struct {
	accessKeyID string
	date        string // the scope's yyyymmdd
	region      string
	service     string
	terminator  string
	signedNames string // as sent: the canonical request repeats it verbatim
	signature   string
}

// parseSigV4 parses `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request,
// SignedHeaders=a;b, Signature=hex`; the components may come in any order,
// with or without spaces after the commas (clients differ).
func parseSigV4(header string) (*sigv4Auth, *authError) {
	rest, ok := strings.CutPrefix(header, sigv4Algorithm+" ")
	if !ok {
		return nil, incompleteSignature("Authorization header must use the algorithm %s", sigv4Algorithm)
	}
	var cred, signed, sig string
	var seen int
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred, seen = v, seen|1
		case "SignedHeaders":
			signed, seen = v, seen|2
		case "Signature":
			sig, seen = v, seen|4
		}
	}
	var missing []string
	for i, name := range []string{"Credential", "SignedHeaders", "Signature"} {
		if seen&(1<<i) == 0 {
			missing = append(missing, fmt.Sprintf("Authorization header requires '%s' parameter.", name))
		}
	}
	if len(missing) > 0 {
		return nil, incompleteSignature("%s", strings.Join(missing, " "))
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return nil, incompleteSignature("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", cred)
	}
	return &sigv4Auth{
		accessKeyID: parts[0], date: parts[1], region: parts[2], service: parts[3], terminator: parts[4],
		signedNames: signed, signature: sig,
	}, nil
}

// verifySigV4 checks r's signature against cr at time now. It reads the
// body (at most sigv4MaxBody) to hash it and puts it back for the handler.
// The checks run in the order that tells the caller the most useful thing
// first: whose key, then when, then the scope, then the signature.
func verifySigV4(r *http.Request, cr *Credentials, now time.Time) *authError {
	a, aerr := parseSigV4(r.Header.Get("Authorization"))
	if aerr != nil {
		return aerr
	}
	if subtle.ConstantTimeCompare([]byte(a.accessKeyID), []byte(cr.AccessKeyID)) != 1 {
		return &authError{http.StatusForbidden, "InvalidClientTokenId", msgInvalidClientTokenID}
	}

	amzDate := r.Header.Get("X-Amz-Date")
	var signedAt time.Time
	if amzDate != "" {
		t, err := time.Parse(sigv4TimeFormat, amzDate)
		if err != nil {
			return incompleteSignature("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", amzDate)
		}
		signedAt = t
	} else if d := r.Header.Get("Date"); d != "" {
		t, err := http.ParseTime(d)
		if err != nil {
			return incompleteSignature("Date header '%s' is not an HTTP date (RFC 9110 section 5.6.7)", d)
		}
		signedAt, amzDate = t.UTC(), t.UTC().Format(sigv4TimeFormat)
	} else {
		return incompleteSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if earliest := now.Add(-sigv4MaxSkew); signedAt.Before(earliest) {
		return signatureDoesNotMatch("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, earliest.UTC().Format(sigv4TimeFormat), now.UTC().Format(sigv4TimeFormat))
	}
	if latest := now.Add(sigv4MaxSkew); signedAt.After(latest) {
		return signatureDoesNotMatch("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			amzDate, latest.UTC().Format(sigv4TimeFormat), now.UTC().Format(sigv4TimeFormat))
	}

	if a.date != amzDate[:8] {
		return signatureDoesNotMatch("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.date, amzDate[:8], amzDate)
	}
	if a.region == "" {
		return signatureDoesNotMatch("Credential should be scoped to a valid region.")
	}
	if !slices.Contains(sigv4Services, a.service) {
		return signatureDoesNotMatch("Credential should be scoped to correct service: '%s'.", strings.Join(sigv4Services, "' or '"))
	}
	if a.terminator != sigv4Terminator {
		return signatureDoesNotMatch("Credential should be scoped with a valid terminator: '%s', not '%s'.", sigv4Terminator, a.terminator)
	}
	names := strings.Split(a.signedNames, ";")
	if !slices.Contains(names, "host") {
		// Unsigned, the Host could be changed to replay the request
		// elsewhere.
		return signatureDoesNotMatch("'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}

	body, aerr := readBody(r)
	if aerr != nil {
		return aerr
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		// The header is what the client signed; the body must still be
		// what it hashed (S3's check and wording, the only AWS service
		// that documents the header).
		if !strings.EqualFold(h, payloadHash) {
			return &authError{http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."}
		}
		payloadHash = h
	}

	want, err := hex.DecodeString(a.signature)
	if err != nil || len(want) != sha256.Size {
		return signatureDoesNotMatch("%s", msgSignatureDoesNotMatch)
	}
	key := signingKey(cr.SecretAccessKey, a.date, a.region, a.service)
	scope := strings.Join([]string{a.date, a.region, a.service, sigv4Terminator}, "/")
	headers := canonicalHeaders(r, names)
	query := canonicalQuery(r.URL.RawQuery)
	ok := 0
	for _, uri := range canonicalURIs(r.URL.EscapedPath()) {
		canonical := strings.Join([]string{r.Method, uri, query, headers, a.signedNames, payloadHash}, "\n")
		h := sha256.Sum256([]byte(canonical))
		toSign := sigv4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(h[:])
		// Every candidate is computed and compared, so that timing does not
		// tell which form matched.
		ok |= subtle.ConstantTimeCompare(hmacSHA256(key, toSign), want)
	}
	if ok != 1 {
		return signatureDoesNotMatch("%s", msgSignatureDoesNotMatch)
	}
	return nil
}

// readBody reads r's body for its hash and restores it for the handler.
func readBody(r *http.Request) ([]byte, *authError) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, sigv4MaxBody+1))
	r.Body.Close()
	if err != nil {
		return nil, &authError{http.StatusBadRequest, "MalformedQueryString", "the request body could not be read: " + err.Error()}
	}
	if len(body) > sigv4MaxBody {
		return nil, &authError{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprintf("the request body is larger than %d bytes", sigv4MaxBody)}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// signingKey derives the key from the secret and the credential scope.
func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, sigv4Terminator)
}

// canonicalHeaders lists each signed header, lower case, with its values
// trimmed, inner runs of spaces collapsed, and repeated lines joined by
// commas; each line ends in a newline. net/http keeps Host out of
// r.Header, so it comes from r.Host, as the client sent it.
func canonicalHeaders(r *http.Request, names []string) string {
	var b strings.Builder
	for _, name := range names {
		var values []string
		switch name {
		case "host":
			values = []string{r.Host}
		case "content-length":
			values = r.Header.Values("Content-Length")
			if len(values) == 0 && r.ContentLength >= 0 {
				values = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			values = r.Header.Values(name)
		}
		trimmed := make([]string, len(values)) // values is r.Header's own slice
		for i, v := range values {
			trimmed[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(name + ":" + strings.Join(trimmed, ",") + "\n")
	}
	return b.String()
}

// canonicalQuery re-encodes the query's names and values the AWS way (all
// but unreserved characters percent-encoded, space as %20) sorted by name,
// then value.
func canonicalQuery(raw string) string {
	type pair struct{ k, v string }
	var pairs []pair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		// Undecodable escapes are kept as sent: the signature then decides.
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		pairs = append(pairs, pair{awsEncode(k, false), awsEncode(v, false)})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k + "=" + p.v)
	}
	return b.String()
}

// canonicalURIs are the canonical URIs a client may have signed for the
// path it sent. Outside S3 every client encodes the already-escaped path
// once more (aws-sdk-go-v2 aws/signer/v4/v4.go: httpbinding.EscapePath of
// the escaped path); botocore (auth.py SigV4Auth._normalize_url_path) also
// first removes dot segments and empty segments ("//"), so both forms are
// tried when they differ.
func canonicalURIs(escapedPath string) []string {
	if escapedPath == "" {
		escapedPath = "/"
	}
	asSent := awsEncode(escapedPath, true)
	normalized := awsEncode(removeDotSegments(escapedPath), true)
	if normalized == asSent {
		return []string{asSent}
	}
	return []string{asSent, normalized}
}

// removeDotSegments is RFC 3986 section 5.2.4, also dropping empty
// segments as botocore does, keeping a trailing slash.
func removeDotSegments(path string) string {
	var out []string
	for seg := range strings.SplitSeq(path, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	p := "/" + strings.Join(out, "/")
	if strings.HasSuffix(path, "/") && p != "/" {
		p += "/"
	}
	return p
}

// awsEncode percent-encodes every byte but the unreserved characters
// (RFC 3986 section 2.3), upper-case hex, and '/' too unless keepSlash.
func awsEncode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && keepSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
