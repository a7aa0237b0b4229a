// Package arn makes the ARNs and ids of the resources elbow exposes through
// AWS's API and its access log, in AWS's formats
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html),
// stable across restarts.
package arn

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// Account is the account id in elbow's ARNs: AWS documentation's example
// account, as the metadata service uses, so no real account is named.
const Account = "123456789012"

// ResourceID is a stable 16-hex-digit id derived from name, so that ARNs
// survive a restart (AWS's look random; elbow's need only be stable).
func ResourceID(name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	return fmt.Sprintf("%016x", h.Sum64())
}

// LoadBalancer is arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID.
func LoadBalancer(region, name string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/app/%s/%s", region, Account, name, ResourceID(name))
}

// Listener adds /ID of the listener (by its index or address) to the load balancer's.
func Listener(region, lb, listener string) string {
	return strings.Replace(LoadBalancer(region, lb), ":loadbalancer/", ":listener/", 1) + "/" + ResourceID(lb+"/"+listener)
}

// Rule adds /ID of the rule to the listener's.
func Rule(region, lb, listener, rule string) string {
	return strings.Replace(Listener(region, lb, listener), ":listener/", ":listener-rule/", 1) + "/" + ResourceID(lb+"/"+listener+"/"+rule)
}

// TargetGroup is arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID (no app/).
func TargetGroup(region, name string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%s", region, Account, name, ResourceID(name))
}

// TargetGroupName reads the name out of a target group ARN; ok is false
// when arn is not one.
func TargetGroupName(arn string) (string, bool) {
	_, rest, ok := strings.Cut(arn, ":targetgroup/")
	if !ok || !strings.HasPrefix(arn, "arn:aws:elasticloadbalancing:") {
		return "", false
	}
	name, _, ok := strings.Cut(rest, "/")
	return name, ok && name != ""
}

// EnvironmentID is Beanstalk's e- and 10 characters, stable for name.
func EnvironmentID(name string) string { return "e-" + ResourceID("env/" + name)[:10] }
