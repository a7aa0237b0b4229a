// Package console owns what elbow shows of an environment to people and to
// tools, and the one change they may make while it runs: the JSON API that
// `elbow health`, `elbow targets`, `elbow modify-target-group` and the
// dashboard use, the Prometheus /metrics endpoint, the serving of the
// dashboard page (its files belong to the sub-package web), and the routes
// `elbow deploy`, `abort`, `scale` and `status` reach the environment's
// Updates through.
//
// It reads its data through small interfaces (Health, TargetGroups, an
// optional Diagnoser) that *monitor.Monitor, *targetgroup.Group and
// diagnose.Watcher satisfy, so that tests can feed it real objects or fakes.
// The shapes it answers, and the client the commands read them with, are
// the sub-package apiv1's. The only change it makes
// goes through the injected HealthCheckModifier (Env.ModifyHealthCheck),
// after checking it with the config file's rules. It keeps two small
// records of its own: 15 minutes of the environment's metrics for the
// dashboard's charts, and the modifications made through it, which
// /api/v1/events lists beside the monitor's transitions.
//
// # API
//
// Every route answers JSON with AWS's field names; errors are
// {"Error": {"Code": ..., "Message": ...}} with the HTTP status AWS would use
// (400 bad parameter, 404 unknown path or target group, 405 wrong method).
//
//	GET /api/v1/environment                   DescribeEnvironmentHealth
//	GET /api/v1/instances                     DescribeInstancesHealth
//	GET /api/v1/target-groups                 DescribeTargetGroups, with host counts
//	GET /api/v1/target-groups/{name}/targets  DescribeTargetHealth, with Diagnosis
//	GET /api/v1/target-groups/{name}          one group, in the list's shape
//	PATCH /api/v1/target-groups/{name}        ModifyTargetGroup (health check
//	                                          and DeregistrationDelay)
//	GET /api/v1/events?since=RFC3339          DescribeEvents, newest first
//	GET /api/v1/history                       90 samples of 10 s: requests by
//	                                          class, p99, p50, status
//	POST /api/v1/deployments                  CreateApplicationVersion of the project
//	                                          folder + UpdateEnvironment: 202
//	POST /api/v1/environment/abort            AbortEnvironmentUpdate
//	PUT /api/v1/environment/capacity          SetDesiredCapacity {"DesiredCapacity": N}
//	GET /api/v1/status                        what `eb status` prints
//	GET /api/v1/application-versions          DescribeApplicationVersions
//	GET /metrics                              Prometheus text exposition
//	GET /                                     the dashboard (and /ui/ files)
//
// PATCH takes a JSON body with ModifyTargetGroup's names; absent fields keep
// their values. The merged block is checked by config.ValidateHealthCheck,
// so a refusal has the file's wording: 400 ValidationError whose Message
// lists every problem, one per line, and whose Errors list them by field.
// Unknown fields are refused (strict decoding), and so is any Content-Type
// but application/json (415): a cross-site form cannot send JSON without a
// CORS preflight, which the console never grants, so another site's page
// cannot change the environment. The POST and PUT routes read their JSON
// bodies the same way (updates.go); a refusal of the environment's is AWS's
// InvalidParameterValue, such as "Environment named X is in an invalid state
// for this operation. Must be Ready." during an update.
//
// The console listens on loopback by default (DefaultAddr). It sends no CORS
// header, so a web page from elsewhere cannot read it, and it refuses a Host
// header that is a name other than localhost (DNS rebinding) unless
// Options.AllowAnyHost is set. On loopback it answers any local process;
// with Options.Credentials (console.credentials in elbow.yaml, which a
// console beyond loopback must have) every request, page, API and /metrics
// alike, must carry the access key id and secret, as HTTP Basic credentials
// or as an AWS Signature Version 4 made with them (sigv4.go: the aws CLI and
// SDKs calling the Query API), else 401 with a Basic challenge, or 403 for a
// wrong signature (auth.go).
//
// # Metrics
//
// The registry belongs to the Console (no global registry). Health and
// counts are read at scrape time; requests and latency are counted by the
// Console's RecordResponses, which implements proxy.Recorder.
//
//	elbow_target_health{target_group,target,port,state}
//	    gauge, 1 for the target's current state and 0 for the other states
//	    (initial, healthy, unhealthy, unused, draining, unavailable).
//	elbow_target_group_healthy_hosts{target_group}
//	elbow_target_group_unhealthy_hosts{target_group}
//	    gauges, the targets in state healthy / unhealthy (ALB's
//	    HealthyHostCount and UnHealthyHostCount).
//	elbow_alb_healthy_hosts{load_balancer,target_group}
//	elbow_alb_unhealthy_hosts{load_balancer,target_group}
//	    the same counts under CloudWatch's dimensions, beside the other
//	    elbow_alb_* series (cloudwatch.go: RequestCount, HTTPCode_*,
//	    TargetResponseTime, connections, bytes, TLS errors).
//	elbow_requests_total{target_group,target,port,code_class}
//	    counter of responses the load balancer gave for forwarded requests,
//	    by the class of the code the client got (1xx..5xx). A 502/504 the
//	    load balancer answered counts under the target it was meant for; a 503
//	    with no target has target="".
//	elbow_target_response_time_seconds{target_group,target,port}
//	    histogram of the time from sending the request to the target to its
//	    response headers (ALB's TargetResponseTime); only responses a target
//	    gave.
//	elbow_environment_health{environment}
//	elbow_instance_health{environment,instance}
//	    gauges with Elastic Beanstalk's numbers (the EnvironmentHealth and
//	    InstanceHealth CloudWatch metrics): Ok 0, Info 1, Unknown 5,
//	    No data 10, Warning 15, Degraded 20, Severe 25. Pending and Suspended
//	    have no number in AWS's mapping: the series is absent meanwhile.
//	elbow_environment_instances{environment,status}
//	    gauge, instances by enhanced-health status (InstancesOk, ...).
package console
