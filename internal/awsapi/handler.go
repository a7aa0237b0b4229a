package awsapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Service is one AWS API elbow answers: its version, its XML namespace and
// its operations.
type Service interface {
	// Version is the API version callers send (2015-12-01).
	Version() string
	// Namespace is the xmlns of its answers.
	Namespace() string
	// Call runs action. The result is marshalled (encoding/xml) as the
	// {Action}Result element; nil answers an empty one. An *Error is
	// answered as AWS answers it; any other error is an InternalFailure.
	Call(ctx context.Context, action string, p Params) (any, error)
}

// maxBody bounds a call's form: the largest calls (many targets, rules)
// are a few kilobytes.
const maxBody = 1 << 20

// Handler answers Query calls for its services.
type Handler struct {
	Services []Service
	Logger   *slog.Logger
}

// IsCall tells a Query API call from the console's other requests: a POST
// with a form body. The console routes it here before its own routes.
func IsCall(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// classicELB is the Classic Load Balancer's API version: same signing
// name, some of the same actions; refused by name.
const classicELB = "2012-06-01"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestID()
	w.Header().Set("X-Amzn-RequestId", id)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		h.fail(w, "", id, NewError(http.StatusBadRequest, "MalformedQueryString", "the request body could not be read: %v", err))
		return
	}
	if len(body) > maxBody {
		h.fail(w, "", id, NewError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "the request body is larger than %d bytes", maxBody))
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		h.fail(w, "", id, NewError(http.StatusBadRequest, "MalformedQueryString", "the form body is not URL-encoded: %v", err))
		return
	}
	// A tolerant server also reads the URL's query (aws-sdk-go-v2 can send
	// a call as GET-style query parameters).
	for k, vs := range r.URL.Query() {
		if _, ok := form[k]; !ok {
			form[k] = vs
		}
	}
	action, version := form.Get("Action"), form.Get("Version")
	if action == "" {
		h.fail(w, "", id, NewError(http.StatusBadRequest, "MissingAction", "the request has no Action parameter"))
		return
	}
	svc := h.service(version)
	if svc == nil {
		msg := fmt.Sprintf("API version %q is not one elbow answers: it answers %s", version, h.versions())
		if version == classicELB {
			msg = "API version 2012-06-01 is Classic Load Balancer's (aws elb); elbow is an Application Load Balancer: use aws elbv2 (2015-12-01)"
		}
		h.fail(w, "", id, NewError(http.StatusBadRequest, "InvalidAction", "%s", msg))
		return
	}
	result, err := svc.Call(r.Context(), action, NewParams(form))
	if err != nil {
		h.fail(w, svc.Namespace(), id, err)
		return
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, "<%sResponse xmlns=\"%s\">", action, svc.Namespace())
	if result == nil {
		fmt.Fprintf(&b, "<%sResult/>", action)
	} else {
		enc := xml.NewEncoder(&b)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			h.fail(w, svc.Namespace(), id, fmt.Errorf("encoding the answer of %s: %w", action, err))
			return
		}
	}
	fmt.Fprintf(&b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", id, action)
	w.Header().Set("Content-Type", "text/xml")
	w.Write(b.Bytes())
}

func (h *Handler) service(version string) Service {
	for _, s := range h.Services {
		if s.Version() == version {
			return s
		}
	}
	return nil
}

func (h *Handler) versions() string {
	var vs []string
	for _, s := range h.Services {
		vs = append(vs, s.Version())
	}
	return strings.Join(vs, " and ")
}

// fail answers AWS's ErrorResponse
// (botocore parsers.py QueryParser._do_error_parse reads Error/Code and
// Error/Message).
func (h *Handler) fail(w http.ResponseWriter, ns, id string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		if h.Logger != nil {
			h.Logger.Error("API call failed", "err", err)
		}
		e = &Error{Code: "InternalFailure", Message: err.Error(), Status: http.StatusInternalServerError}
	}
	kind := "Receiver"
	if e.Sender {
		kind = "Sender"
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if ns != "" {
		fmt.Fprintf(&b, "<ErrorResponse xmlns=\"%s\">", ns)
	} else {
		b.WriteString("<ErrorResponse>")
	}
	b.WriteString("<Error><Type>" + kind + "</Type><Code>")
	xml.EscapeText(&b, []byte(e.Code))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(e.Message))
	b.WriteString("</Message></Error><RequestId>" + id + "</RequestId></ErrorResponse>")
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	w.Write(b.Bytes())
}

// WriteError answers e as AWS's ErrorResponse, with a request id, outside
// a Handler: the console's SigV4 check refuses a call before any service
// sees it, so the error names no service namespace.
func WriteError(w http.ResponseWriter, e *Error) {
	id := requestID()
	w.Header().Set("X-Amzn-RequestId", id)
	(&Handler{}).fail(w, "", id, e)
}

// requestID is a UUID, as AWS's request ids are.
func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
