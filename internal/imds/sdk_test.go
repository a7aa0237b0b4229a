package imds

import (
	"context"
	"io"
	"testing"
	"time"

	sdkimds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// The AWS SDK for Go v2 is the client apps on EC2 use; run against a server
// that requires tokens, it can only succeed over IMDSv2.
func TestSDKForGoV2ReadsMetadata(t *testing.T) {
	inst := testInstance()
	ts := startServer(t, inst, Options{TokensRequired: true})
	client := sdkimds.New(sdkimds.Options{Endpoint: ts.URL})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	ip := getMetadata(ctx, t, client, "local-ipv4")
	if ip != inst.PrivateIP {
		t.Errorf("SDK local-ipv4 %q, want %q", ip, inst.PrivateIP)
	}

	doc, err := client.GetInstanceIdentityDocument(ctx, &sdkimds.GetInstanceIdentityDocumentInput{})
	if err != nil {
		t.Fatalf("SDK GetInstanceIdentityDocument: %v", err)
	}
	got := doc.InstanceIdentityDocument
	if got.PrivateIP != inst.PrivateIP || got.InstanceID != inst.InstanceID || got.Region != inst.Region ||
		got.AvailabilityZone != inst.AvailabilityZone || got.InstanceType != inst.InstanceType ||
		got.ImageID != inst.AMIID || got.AccountID != inst.AccountID || got.Architecture != inst.Architecture ||
		got.Version != "2017-09-30" || !got.PendingTime.Equal(ts.clock.Now()) {
		t.Errorf("SDK identity document %+v disagrees with instance %+v", got, inst)
	}

	region, err := client.GetRegion(ctx, &sdkimds.GetRegionInput{})
	if err != nil || region.Region != inst.Region {
		t.Errorf("SDK GetRegion: %q, %v; want %q", region.Region, err, inst.Region)
	}
}

// Each launched instance finds its own service through
// AWS_EC2_METADATA_SERVICE_ENDPOINT (the AWS SDKs' documented override of the metadata endpoint); the SDK's client reads it
// when no endpoint is given (also on the config.LoadDefaultConfig path,
// since NewFromConfig ends in New).
func TestSDKHonoursEndpointVariable(t *testing.T) {
	inst := testInstance()
	ts := startServer(t, inst, Options{})
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ts.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	client := sdkimds.New(sdkimds.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if id := getMetadata(ctx, t, client, "instance-id"); id != inst.InstanceID {
		t.Errorf("SDK via AWS_EC2_METADATA_SERVICE_ENDPOINT: instance-id %q, want %q", id, inst.InstanceID)
	}
}

func getMetadata(ctx context.Context, t *testing.T, c *sdkimds.Client, path string) string {
	t.Helper()
	out, err := c.GetMetadata(ctx, &sdkimds.GetMetadataInput{Path: path})
	if err != nil {
		t.Fatalf("SDK GetMetadata %s: %v", path, err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(out.Content)
	if err != nil {
		t.Fatalf("SDK GetMetadata %s: reading: %v", path, err)
	}
	return string(b)
}
