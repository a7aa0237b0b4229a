// Package imds owns the EC2 instance metadata service that elbow gives each
// instance: one http.Handler per instance serving /latest/meta-data/,
// /latest/dynamic/instance-identity/document and the IMDSv2 session tokens
// (PUT /latest/api/token, then X-aws-ec2-metadata-token), including the
// optional "tokens required" mode that refuses IMDSv1, and the http.Server
// (Server.HTTPServer) with the connection timeouts it is served with.
//
// Paths, listings, status codes and error pages follow EC2's user guide
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html,
// cited below as "reference 1.x") and the amazon-ec2-metadata-mock emulator
// (github.com/aws/amazon-ec2-metadata-mock, "reference 2.x"). Where AWS
// documents nothing, the comment says what elbow chose and why.
//
// Limits, so that no caller can exhaust the service or another caller's
// session:
//
//   - Tokens are not stored. Each carries its expiry and an HMAC under a key
//     drawn when the Server is made, so any number may be live at once (EC2:
//     "There is no practical limit on the number of concurrent tokens") and
//     none is revoked before its TTL, however many PUTs anyone sends. A
//     token is valid only on the Server that issued it, and only as long as
//     that Server lives.
//   - A keep-alive connection idle for 5 s is closed (Options.IdleTimeout),
//     and one whose request headers take over 2 s is cut
//     (Options.ReadHeaderTimeout); a request body gets 5 s more and a
//     response 5 s to be written.
//   - Requests are not throttled. EC2 throttles queries per instance and
//     limits simultaneous connections ("Query throttling", same page) but
//     publishes no figure, nor which status a throttled request gets (its
//     list of IMDSv2 errors has 503, "The request could not be completed.
//     Retry the request."); elbow's service answers one instance's app on
//     loopback and has no figure to copy.
//
// The service knows nothing of the fleet: the caller hands it the facts of
// one instance (Instance) and serves it on whatever listener it likes; the
// instance's app finds it through AWS_EC2_METADATA_SERVICE_ENDPOINT.
package imds
