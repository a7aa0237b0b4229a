// Package apiv1 owns the shapes of the console's JSON API, version 1
// (/api/v1/...), and a Client for it. The console serves these types and
// `elbow health`, `elbow targets` and `elbow modify-target-group` read them
// through the Client, so that a field renamed on one side is a compile
// error on the other, and the CLI never imports the server.
//
// The field names are AWS's (DescribeTargetGroups, DescribeTargetHealth,
// ModifyTargetGroup, DescribeEnvironmentHealth, DescribeInstancesHealth,
// DescribeEvents); the JSON is the contract, and the console's tests check it
// field by field. The enhanced-health documents are the monitor's own types
// (monitor.EnvironmentHealth, monitor.InstancesHealth), served as they are; a
// diagnosis is diagnose.Diagnosis.
package apiv1
