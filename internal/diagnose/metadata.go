package diagnose

import (
	"fmt"
	"time"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/imds"
)

// When the advice is to read the instance's private IP from its metadata
// service, whether the app ever asked that service tells two failures apart:
// code that never reached it (under elbow's loopback network, code that
// hard-codes http://169.254.169.254 instead of reading
// AWS_EC2_METADATA_SERVICE_ENDPOINT, the endpoint variable the AWS SDKs read:
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-imds-credentials.html),
// and code that asked and did something wrong with the answer.

// Network modes of the instances (elbow.yaml instances.network).
const (
	// NetworkLoopback: each instance at 127.0.0.N, its metadata service at
	// 127.0.0.N:PORT, found only through AWS_EC2_METADATA_SERVICE_ENDPOINT.
	NetworkLoopback = "loopback"
	// NetworkVPC: each instance in its own network namespace, its metadata
	// service at http://169.254.169.254 as on EC2.
	NetworkVPC = "vpc"
)

// ec2MetadataEndpoint is the address EC2 serves instance metadata at
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html).
const ec2MetadataEndpoint = "http://169.254.169.254"

// MetadataService is what elbow knows of the metadata service of a target's
// instance. Field names are stable: they are the JSON of
// Evidence.MetadataService.
type MetadataService struct {
	// Network is the instances' network mode, NetworkLoopback (also when
	// empty) or NetworkVPC.
	Network string `json:"Network,omitempty"`
	// Endpoint is the instance's AWS_EC2_METADATA_SERVICE_ENDPOINT, such as
	// http://127.0.0.2:1338.
	Endpoint string `json:"Endpoint"`
	// Activity is what the service answered since the instance launched.
	Activity imds.Activity `json:"Activity"`
}

// MetadataLookup returns the metadata service of t's instance, read when
// called; false when t is not an instance elbow runs (an existing target
// registered by address).
type MetadataLookup func(t healthcheck.Target) (MetadataService, bool)

func (m MetadataService) loopback() bool {
	return m.Network == "" || m.Network == NetworkLoopback
}

// withMetadata adds to a verdict whose advice reads the private IP from the
// metadata service whether the app asked that service: in loopback mode
// only, since in vpc mode the service is where hard-coded code looks.
func (f facts) withMetadata(c verdict) verdict {
	m := f.obs.metadata
	if m == nil || !m.loopback() || !c.readsMetadata() {
		return c
	}
	a := m.Activity
	if a.Requests == 0 {
		c.summary += " The app never asked its metadata service."
		c.why += fmt.Sprintf(" The app never asked its metadata service: that of instance %s, at %s, has answered no request since the instance launched (%s)."+
			" Either the app does not look its IP up (then add the lookup the fixes show), or it looks at an address of its own."+
			" Under elbow's loopback network (instances: {network: loopback}, the default) the metadata service is not at %s: the app finds it only through the variable elbow sets for it, AWS_EC2_METADATA_SERVICE_ENDPOINT=%s, which the AWS SDKs read."+
			" Code that hard-codes %s reaches nothing there (or, on a machine that itself runs on EC2, that machine's own metadata service, whose IP is not this instance's);"+
			" with a short timeout and the connection error caught, the app starts without the IP, and the check keeps failing.",
			f.obs.target.ID, m.Endpoint, a.Since.Format(time.RFC3339), ec2MetadataEndpoint, m.Endpoint, ec2MetadataEndpoint)
		c.fixes = insertAfterMetadataFix(c.fixes, f.vpcFix(m))
		return c
	}
	c.summary += fmt.Sprintf(" The app did ask its metadata service (%s), so the lookup ran.", plural(a.Requests, "request"))
	tokens := fmt.Sprintf("%d of them for tokens (IMDSv2)", a.TokenRequests)
	if a.TokenRequests == 0 {
		tokens = "none of them for a token (IMDSv1 only)"
	}
	why := fmt.Sprintf(" The app did ask its metadata service: that of instance %s, at %s, answered %s since the instance launched (%s), %s, the last at %s",
		f.obs.target.ID, m.Endpoint, plural(a.Requests, "request"), a.Since.Format(time.RFC3339), tokens, a.Last.Format(time.RFC3339))
	if ago := f.obs.at.Sub(a.Last); ago >= time.Second {
		why += fmt.Sprintf(", %s before this diagnosis", ago.Round(time.Second))
	}
	why += "."
	if a.Refused > 0 {
		why += fmt.Sprintf(" It refused %s of them (401 to an IMDSv1 request when tokens are required, or to an invalid token; 403 to a token request through a proxy that adds X-Forwarded-For; 404 to a wrong path): the app's log and elbow's debug log say which.", plural(a.Refused, ""))
	}
	why += " So the cause is in what the app did with the answers: a status not checked, an answer that is not the IP, or the IP added after the framework read its setting."
	c.why += why
	return c
}

// vpcFix runs the settings as they are in the network mode where the
// metadata service is at EC2's address.
func (f facts) vpcFix(m *MetadataService) Fix {
	return Fix{
		Title: "If the code hard-codes " + ec2MetadataEndpoint + ": run the instances in a VPC, instances: {network: vpc}",
		Detail: "elbow.yaml:\n" +
			"  instances:\n" +
			"    network: vpc\n" +
			"or: elbow up --network vpc\n" +
			"Each instance then has its own network namespace, a 172.31.x.y private IP and its metadata service at " + ec2MetadataEndpoint + ", as on EC2, so the settings run unchanged and the health check's Host is that IP.\n" +
			"Or stay on loopback and read the endpoint as the AWS SDKs do (here " + m.Endpoint + "):\n" +
			f.text.metadataEndpoint,
		TradeOff: "vpc mode needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); loopback needs no privilege.",
	}
}

// insertAfterMetadataFix puts fix right after the last fix that reads the IP
// from the metadata service, where a reader of that fix looks next.
func insertAfterMetadataFix(fixes []Fix, fix Fix) []Fix {
	at := len(fixes)
	for i, x := range fixes {
		if x.readsMetadata {
			at = i + 1
		}
	}
	out := make([]Fix, 0, len(fixes)+1)
	out = append(out, fixes[:at]...)
	out = append(out, fix)
	return append(out, fixes[at:]...)
}

// plural is "1 request", "2 requests"; with an empty noun, the number alone.
func plural(n int64, noun string) string {
	switch {
	case noun == "":
		return fmt.Sprint(n)
	case n == 1:
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
