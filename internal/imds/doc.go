// Package imds owns the EC2 instance metadata service that elbow gives each
// instance: one http.Handler per instance serving /latest/meta-data/,
// /latest/dynamic/instance-identity/document and the IMDSv2 session tokens
// (PUT /latest/api/token, then X-aws-ec2-metadata-token), including the
// optional "tokens required" mode that refuses IMDSv1.
//
// Paths, listings, status codes and error pages follow EC2 as described in
// shared/reference/imds_django.md, sections 1 and 2 (cited below as
// "reference 1.x" / "reference 2.x"). Where AWS documents nothing, the
// comment says what elbow chose and why.
//
// The service knows nothing of the fleet: the caller hands it the facts of
// one instance (Instance) and serves it on whatever listener it likes; the
// instance's app finds it through AWS_EC2_METADATA_SERVICE_ENDPOINT.
package imds
