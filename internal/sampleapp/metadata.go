package sampleapp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultMetadataEndpoint is EC2's metadata service, used when no endpoint is
// given, so the sample app also runs as is on a real instance.
const DefaultMetadataEndpoint = "http://169.254.169.254"

// metadataTimeout bounds each call to the metadata service. The service is
// local; one that does not answer in a second is not going to, and the page
// must still render.
const metadataTimeout = time.Second

// tokenTTLSeconds is short: the app asks for a token only while it has no
// facts cached, and drops it right after.
const tokenTTLSeconds = "60"

// instanceFacts are what the page says about the instance that answered.
type instanceFacts struct {
	InstanceID       string
	PrivateIP        string
	AvailabilityZone string
}

// metadataClient reads instance facts over IMDSv2: PUT a token, then GET
// each path with it. It does not fall back to IMDSv1, so it also works on
// instances that require tokens.
type metadataClient struct {
	endpoint string
	http     *http.Client
	timeout  time.Duration
}

func newMetadataClient(endpoint string, timeout time.Duration) *metadataClient {
	if endpoint == "" {
		endpoint = DefaultMetadataEndpoint
	}
	return &metadataClient{
		endpoint: strings.TrimSuffix(endpoint, "/"),
		// The client timeout covers reading the body too; each request also
		// carries a context deadline of the same length.
		http:    &http.Client{Timeout: timeout},
		timeout: timeout,
	}
}

func (c *metadataClient) fetch(ctx context.Context) (instanceFacts, error) {
	token, err := c.call(ctx, http.MethodPut, "/latest/api/token",
		"X-aws-ec2-metadata-token-ttl-seconds", tokenTTLSeconds)
	if err != nil {
		return instanceFacts{}, fmt.Errorf("metadata token: %w", err)
	}
	var f instanceFacts
	for _, item := range []struct {
		path string
		dst  *string
	}{
		{"/latest/meta-data/instance-id", &f.InstanceID},
		{"/latest/meta-data/local-ipv4", &f.PrivateIP},
		{"/latest/meta-data/placement/availability-zone", &f.AvailabilityZone},
	} {
		v, err := c.call(ctx, http.MethodGet, item.path, "X-aws-ec2-metadata-token", token)
		if err != nil {
			return instanceFacts{}, fmt.Errorf("metadata %s: %w", item.path, err)
		}
		*item.dst = v
	}
	return f, nil
}

// call sends one request and returns the body of a 200 answer.
func (c *metadataClient) call(ctx context.Context, method, path, header, value string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set(header, value)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	// Metadata values are short; a cap keeps a confused endpoint from
	// feeding the page megabytes.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", fmt.Errorf("reading %s %s: %w", method, c.endpoint+path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: status %d", method, c.endpoint+path, resp.StatusCode)
	}
	return strings.TrimSpace(string(body)), nil
}

// factsCache keeps the facts once read: they do not change while the
// instance lives. A failed read is not cached, so the next request tries
// again; one read runs at a time and the requests that arrive meanwhile wait
// for its result rather than piling onto the metadata service.
type factsCache struct {
	client *metadataClient
	facts  atomic.Pointer[instanceFacts]
	slot   chan struct{} // holds a token while a read is in flight
}

func newFactsCache(c *metadataClient) *factsCache {
	return &factsCache{client: c, slot: make(chan struct{}, 1)}
}

func (fc *factsCache) get(ctx context.Context) (instanceFacts, error) {
	if f := fc.facts.Load(); f != nil {
		return *f, nil
	}
	select {
	case fc.slot <- struct{}{}:
	case <-ctx.Done():
		return instanceFacts{}, fmt.Errorf("waiting for metadata: %w", ctx.Err())
	}
	defer func() { <-fc.slot }()
	if f := fc.facts.Load(); f != nil { // read by the request we waited for
		return *f, nil
	}
	f, err := fc.client.fetch(ctx)
	if err != nil {
		return instanceFacts{}, err
	}
	fc.facts.Store(&f)
	return f, nil
}
