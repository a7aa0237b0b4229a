package monitor

import (
	"reflect"
	"testing"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// counts builds request counts over the evaluation period from classes.
func counts(c2, c3, c4, c5 uint64) requestCounts {
	return requestCounts{total: c2 + c3 + c4 + c5, c2xx: c2, c3xx: c3, c4xx: c4, c5xx: c5}
}

func TestInstanceRules(t *testing.T) {
	rules := config.DefaultEnhancedHealth
	noApp4xx := rules
	noApp4xx.ApplicationRequests4xx.Enabled = false
	strict := rules
	strict.MinRequestRate = 10
	running := func(in instanceInput) instanceInput {
		in.now, in.hasProcess, in.running = t0, true, true
		if in.launchedAt.IsZero() {
			in.launchedAt = t0.Add(-time.Hour)
		}
		return in
	}
	unhealthy := elbVerdict{known: true, failing: true, reason: healthcheck.ReasonResponseCodeMismatch}
	for _, tc := range []struct {
		name   string
		rules  config.EnhancedHealth
		in     instanceInput
		want   Status
		causes []string
	}{
		{"no traffic, healthy target", rules, running(instanceInput{elb: elbVerdict{known: true, healthy: true}}), StatusOk, []string{}},
		// Five percent of requests 4xx still counts as OK (https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-status.html).
		{"5 % 4xx is Ok", rules, running(instanceInput{requests: counts(950, 0, 50, 0)}), StatusOk, []string{}},
		// roadmap#254: Warning at about 1.5 % 5xx.
		{"1.5 % 5xx is Warning", rules, running(instanceInput{requests: counts(985, 0, 0, 15)}), StatusWarning,
			[]string{"1.5 % of the requests are failing with HTTP 5xx."}},
		{"3.2 % 5xx is Warning", rules, running(instanceInput{requests: counts(968, 0, 0, 32)}), StatusWarning,
			[]string{"3.2 % of the requests are failing with HTTP 5xx."}},
		// API example: 843 of 4234 requests 5xx with 93 % CPU, Degraded.
		{"19.9 % 5xx and 93 % CPU is Degraded", rules, running(instanceInput{requests: counts(3391, 0, 0, 843), cpuKnown: true, cpu: 93.2}), StatusDegraded,
			[]string{"19.9 % of the requests are failing with HTTP 5xx.", "93 % of CPU is in use."}},
		{"50 % 5xx is Severe", rules, running(instanceInput{requests: counts(50, 0, 0, 50)}), StatusSevere,
			[]string{"50.0 % of the requests are failing with HTTP 5xx."}},
		{"15 % 4xx is Warning", rules, running(instanceInput{requests: counts(85, 0, 15, 0)}), StatusWarning,
			[]string{"15.0 % of the requests are erroring with HTTP 4xx."}},
		{"30 % 4xx is Degraded", rules, running(instanceInput{requests: counts(70, 0, 30, 0)}), StatusDegraded,
			[]string{"30.0 % of the requests are erroring with HTTP 4xx."}},
		// The reference scenario: only the health checker, every check 400, target unhealthy.
		{"100 % 4xx from the health checker alone is Severe", rules, running(instanceInput{requests: counts(0, 0, 4, 0), elb: unhealthy}), StatusSevere,
			[]string{"Target.ResponseCodeMismatch", "100.0 % of the requests are erroring with HTTP 4xx."}},
		{"100 % 4xx, target still passing its checks", rules, running(instanceInput{requests: counts(0, 0, 4, 0)}), StatusSevere,
			[]string{"100.0 % of the requests are erroring with HTTP 4xx."}},
		{"ApplicationRequests4xx disabled ignores 4xx", noApp4xx, running(instanceInput{requests: counts(0, 0, 40, 0)}), StatusOk, []string{}},
		{"unhealthy target without a reason", rules, running(instanceInput{elb: elbVerdict{known: true, failing: true}}), StatusSevere,
			[]string{"ELB health is failing or not available."}},
		// A public eb deploy transcript: 100 % 4xx at 6 requests/min decided nothing.
		{"too few requests decide nothing", strict, running(instanceInput{requests: counts(0, 0, 6, 0)}), StatusInfo,
			[]string{"Insufficient request rate (6.0 requests/min) to determine application health."}},
		{"too few requests, all fine: no notice", strict, running(instanceInput{requests: counts(6, 0, 0, 0)}), StatusOk, []string{}},
		{"CPU 90 % is Warning", rules, running(instanceInput{cpuKnown: true, cpu: 90}), StatusWarning, []string{"90 % of CPU is in use."}},
		{"CPU 95 % is Degraded", rules, running(instanceInput{cpuKnown: true, cpu: 95.4}), StatusDegraded, []string{"95 % of CPU is in use."}},
		{"launching is Pending", rules, instanceInput{now: t0, launchedAt: t0.Add(-12 * time.Second), hasProcess: true, running: true,
			requests: counts(0, 0, 2, 0)}, StatusPending, []string{"Performing initialization (running for 12 seconds)."}},
		{"a healthy target ends Pending early", rules, instanceInput{now: t0, launchedAt: t0.Add(-20 * time.Second), hasProcess: true, running: true,
			elb: elbVerdict{known: true, healthy: true}}, StatusOk, []string{}},
		{"process gone, seen before", rules, instanceInput{now: t0, launchedAt: t0.Add(-time.Hour), hasProcess: true,
			lastSeen: t0.Add(-37 * time.Minute)}, StatusNoData, []string{"No data. Last seen 37 minutes ago."}},
		{"process never seen", rules, instanceInput{now: t0, launchedAt: t0.Add(-time.Hour), hasProcess: true}, StatusNoData, []string{"No data."}},
		{"registered address, nothing known", rules, instanceInput{now: t0, launchedAt: t0.Add(-time.Hour)}, StatusUnknown,
			[]string{"No data is being received."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, causes := evaluateInstance(tc.rules, tc.in)
			if st != tc.want || !reflect.DeepEqual(causes, tc.causes) {
				t.Errorf("got %s %q, want %s %q", st, causes, tc.want, tc.causes)
			}
		})
	}
}

func TestEnvironmentRules(t *testing.T) {
	rules := config.DefaultEnhancedHealth
	noELB4xx := rules
	noELB4xx.ELBRequests4xx.Enabled = false
	ok := envInstance{status: StatusOk}
	failing := envInstance{status: StatusSevere, elbFailing: true}
	for _, tc := range []struct {
		name   string
		rules  config.EnhancedHealth
		in     envInput
		want   Status
		causes []string
	}{
		{"all well", rules, envInput{instances: []envInstance{ok, ok}, requests: counts(100, 0, 0, 0)}, StatusOk, []string{}},
		{"ELB failing for all, 100 % 4xx", rules, envInput{instances: []envInstance{failing, failing}, requests: counts(0, 0, 8, 0)}, StatusSevere,
			[]string{"ELB health is failing or not available for all instances.", "100.0 % of the requests are erroring with HTTP 4xx."}},
		{"ELB failing for 1 out of 2", rules, envInput{instances: []envInstance{ok, failing}}, StatusDegraded,
			[]string{"ELB health is failing or not available for 1 out of 2 instances."}},
		{"ELB failing for 1 out of 5", rules, envInput{instances: []envInstance{ok, ok, ok, ok, failing}}, StatusWarning,
			[]string{"ELB health is failing or not available for 1 out of 5 instances."}},
		{"below minimum size", rules, envInput{instances: []envInstance{ok}, capacitySet: true, minSize: 2, online: 1}, StatusDegraded,
			[]string{"1 instance online is below Auto Scaling group minimum size 2."}},
		{"no instance online", rules, envInput{capacitySet: true, minSize: 2, online: 0}, StatusSevere,
			[]string{"0 instances online is below Auto Scaling group minimum size 2."}},
		{"no instances wanted none there", rules, envInput{capacitySet: true}, StatusSevere, []string{"There are no instances."}},
		{"none sending data", rules, envInput{instances: []envInstance{{status: StatusNoData}, {status: StatusUnknown}}}, StatusSevere,
			[]string{"None of the instances are sending data."}},
		{"all pending", rules, envInput{now: t0, earliest: t0.Add(-3 * time.Minute), instances: []envInstance{{status: StatusPending}, {status: StatusPending}}}, StatusPending,
			[]string{"Initialization in progress on 2 instances. 0 out of 2 instances completed (running for 3 minutes)."}},
		{"one pending", rules, envInput{now: t0, earliest: t0.Add(-time.Minute), instances: []envInstance{ok, {status: StatusPending}}}, StatusInfo,
			[]string{"Initialization in progress on 1 instance. 1 out of 2 instances completed (running for 1 minute)."}},
		{"ELB 5xx", rules, envInput{instances: []envInstance{ok}, elbRequests: requestCounts{total: 100, c5xx: 3}}, StatusWarning,
			[]string{"3.0 % of the requests to the ELB are failing with HTTP 5xx."}},
		{"ELB 4xx", rules, envInput{instances: []envInstance{ok}, elbRequests: requestCounts{total: 100, c4xx: 20}}, StatusWarning,
			[]string{"20.0 % of the requests to the ELB are erroring with HTTP 4xx."}},
		{"ELBRequests4xx disabled", noELB4xx, envInput{instances: []envInstance{ok}, elbRequests: requestCounts{total: 100, c4xx: 100}}, StatusOk, []string{}},
		{"average CPU", rules, envInput{instances: []envInstance{{status: StatusWarning, cpuKnown: true, cpu: 92}, {status: StatusWarning, cpuKnown: true, cpu: 94}}}, StatusWarning,
			[]string{"93 % of CPU is in use."}},
		{"suspended", rules, envInput{suspended: true, suspendedCause: "Auto Scaling group was deleted.", instances: []envInstance{failing}}, StatusSuspended,
			[]string{"Auto Scaling group was deleted."}},
		{"one notice for app and ELB", func() config.EnhancedHealth { r := rules; r.MinRequestRate = 10; return r }(),
			envInput{instances: []envInstance{ok}, requests: counts(0, 0, 6, 0), elbRequests: requestCounts{total: 6, c4xx: 6}}, StatusInfo,
			[]string{"Insufficient request rate (6.0 requests/min) to determine application health."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, causes := evaluateEnvironment(tc.rules, tc.in)
			if st != tc.want || !reflect.DeepEqual(causes, tc.causes) {
				t.Errorf("got %s %q, want %s %q", st, causes, tc.want, tc.causes)
			}
		})
	}
}

func TestStatusColorsAndValues(t *testing.T) {
	for _, tc := range []struct {
		s     Status
		color Color
		value int
		ok    bool
	}{
		{StatusOk, Green, 0, true}, {StatusInfo, Green, 1, true}, {StatusUnknown, Grey, 5, true},
		{StatusNoData, Grey, 10, true}, {StatusWarning, Yellow, 15, true}, {StatusDegraded, Red, 20, true},
		{StatusSevere, Red, 25, true}, {StatusPending, Grey, 0, false}, {StatusSuspended, Grey, 0, false},
	} {
		v, ok := tc.s.MetricValue()
		if tc.s.Color() != tc.color || v != tc.value || ok != tc.ok {
			t.Errorf("%s: color %s value %d,%v; want %s %d,%v", tc.s, tc.s.Color(), v, ok, tc.color, tc.value, tc.ok)
		}
	}
	if StatusNoData.Name() != "No Data" {
		t.Errorf("NoData prints as %q, want No Data", StatusNoData.Name())
	}
}
