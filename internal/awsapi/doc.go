// Package awsapi speaks AWS's Query protocol on the console's address, so
// that the aws CLI, boto3 and the AWS SDKs (with --endpoint-url or
// BaseEndpoint) drive elbow as they drive AWS: Elastic Load Balancing v2
// (API version 2015-12-01) and Elastic Beanstalk (2010-12-01).
//
// A call is POST (any path: --endpoint-url may carry one) with a form body
// holding Action and Version (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/Welcome.html).
// The package parses the form (lists as Name.member.N, structures as
// dotted paths, maps as Name.entry.N.key/value), dispatches on Version and
// then Action to a Service, and answers AWS's XML envelope:
// <{Op}Response xmlns=...><{Op}Result>...</{Op}Result><ResponseMetadata>
// <RequestId>...</RequestId></ResponseMetadata></{Op}Response>, with the
// X-Amzn-RequestId header, or <ErrorResponse> with AWS's error code and
// HTTP status. The wire facts follow botocore's QuerySerializer and
// QueryParser (boto/botocore serialize.py, parsers.py) and
// aws-sdk-go-v2's aws/protocol/query.
//
// Subpackages hold the services: elbv2api and ebapi. They read and change
// the running environment through the Environment interface only.
package awsapi
