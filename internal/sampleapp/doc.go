// Package sampleapp owns the built-in sample application that elbow's
// default environment runs on every instance: a page that says which
// instance answered (read from that instance's metadata service over
// IMDSv2) and which forwarded headers the load balancer added, plus a cheap
// /health for the health checker.
//
// The package knows nothing of the fleet: elbow re-executes itself as one
// child process per instance and calls Run with the instance's address and
// its AWS_EC2_METADATA_SERVICE_ENDPOINT.
package sampleapp
