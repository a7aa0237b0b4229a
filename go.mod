module github.com/elbow-lb/elbow

go 1.26.8

require github.com/aws/aws-sdk-go-v2/feature/ec2/imds v1.20.8

require (
	github.com/aws/aws-sdk-go-v2 v1.47.8 // indirect
	github.com/aws/smithy-go v1.28.8 // indirect
)
