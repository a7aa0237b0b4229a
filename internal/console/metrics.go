package console

import (
	"strconv"

	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/prometheus/client_golang/prometheus"
)

// targetStates are the states elbow_target_health reports for every
// target, so that a state's series does not vanish when no target is in it.
var targetStates = []healthcheck.State{
	healthcheck.StateInitial, healthcheck.StateHealthy, healthcheck.StateUnhealthy,
	healthcheck.StateUnused, healthcheck.StateDraining, healthcheck.StateUnavailable,
}

// codeClasses indexes a status code's class: 1xx..5xx; anything else
// (none, or out of range) is "other".
var codeClasses = [...]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

func classIndex(code int) int {
	if code >= 100 && code <= 599 {
		return code / 100
	}
	return 0
}

// requestMetrics are elbow's own request series, older than the
// CloudWatch-named ones (cloudwatch.go) and counted with them (record.go).
type requestMetrics struct {
	total *prometheus.CounterVec
}

// targetLatencyDesc is the older family of TargetResponseTime, without
// the load balancer's label.
var targetLatencyDesc = prometheus.NewDesc("elbow_target_response_time_seconds",
	"Time from sending a request to the target until its response headers arrived (ALB TargetResponseTime).",
	[]string{"target_group", "target", "port"}, nil)

func newRequestMetrics() *requestMetrics {
	return &requestMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elbow_requests_total",
			Help: "Responses the load balancer gave for forwarded requests, by target group, target and class of the code the client got.",
		}, []string{"target_group", "target", "port", "code_class"}),
	}
}

// portLabel is a target's port as elbow_requests_total labels it: empty
// for the responses that had no target.
func portLabel(port int) string {
	if port == 0 {
		return ""
	}
	return strconv.Itoa(port)
}

// newSeries resolves k's elbow_requests_total counters, one per class.
func (m *requestMetrics) newSeries(k seriesKey) (byClass [len(codeClasses)]prometheus.Counter) {
	port := portLabel(k.port)
	for i, class := range codeClasses {
		byClass[i] = m.total.WithLabelValues(k.group, k.id, port, class)
	}
	return byClass
}

// stateCollector reads health and counts at scrape time.
type stateCollector struct{ c *Console }

var (
	targetHealthDesc = prometheus.NewDesc("elbow_target_health",
		"1 for the target's current health state (DescribeTargetHealth State), 0 for the others.",
		[]string{"target_group", "target", "port", "state"}, nil)
	healthyHostsDesc = prometheus.NewDesc("elbow_target_group_healthy_hosts",
		"Targets in state healthy (ALB HealthyHostCount).", []string{"target_group"}, nil)
	unhealthyHostsDesc = prometheus.NewDesc("elbow_target_group_unhealthy_hosts",
		"Targets in state unhealthy (ALB UnHealthyHostCount).", []string{"target_group"}, nil)
	environmentHealthDesc = prometheus.NewDesc("elbow_environment_health",
		"Environment health as Elastic Beanstalk's EnvironmentHealth metric: Ok 0, Info 1, Unknown 5, No data 10, Warning 15, Degraded 20, Severe 25.",
		[]string{"environment"}, nil)
	instanceHealthDesc = prometheus.NewDesc("elbow_instance_health",
		"Instance health as Elastic Beanstalk's InstanceHealth metric: Ok 0, Info 1, Unknown 5, No data 10, Warning 15, Degraded 20, Severe 25.",
		[]string{"environment", "instance"}, nil)
	environmentInstancesDesc = prometheus.NewDesc("elbow_environment_instances",
		"Instances by enhanced-health status (Elastic Beanstalk's InstancesOk, InstancesWarning, ...).",
		[]string{"environment", "status"}, nil)
)

func (sc *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{targetHealthDesc, healthyHostsDesc, unhealthyHostsDesc,
		albHealthyHostsDesc, albUnhealthyHostsDesc,
		environmentHealthDesc, instanceHealthDesc, environmentInstancesDesc} {
		ch <- d
	}
}

func (sc *stateCollector) Collect(ch chan<- prometheus.Metric) {
	// The load balancer's name labels the CloudWatch-named host counts
	// (cloudwatch.go); without the proxy's stats they are left out.
	lb := ""
	if sc.c.o.LoadBalancerStats != nil {
		lb = sc.c.o.LoadBalancerStats().LoadBalancer
	}
	for _, g := range sc.c.o.TargetGroups() {
		healthy, unhealthy := 0, 0
		for _, t := range g.Describe() {
			port := strconv.Itoa(t.Target.Port)
			for _, st := range targetStates {
				v := 0.0
				if t.TargetHealth.State == st {
					v = 1
				}
				ch <- prometheus.MustNewConstMetric(targetHealthDesc, prometheus.GaugeValue, v, g.Name(), t.Target.ID, port, string(st))
			}
			switch t.TargetHealth.State {
			case healthcheck.StateHealthy:
				healthy++
			case healthcheck.StateUnhealthy:
				unhealthy++
			}
		}
		ch <- prometheus.MustNewConstMetric(healthyHostsDesc, prometheus.GaugeValue, float64(healthy), g.Name())
		ch <- prometheus.MustNewConstMetric(unhealthyHostsDesc, prometheus.GaugeValue, float64(unhealthy), g.Name())
		if lb != "" {
			ch <- prometheus.MustNewConstMetric(albHealthyHostsDesc, prometheus.GaugeValue, float64(healthy), lb, g.Name())
			ch <- prometheus.MustNewConstMetric(albUnhealthyHostsDesc, prometheus.GaugeValue, float64(unhealthy), lb, g.Name())
		}
	}

	h := sc.c.o.Health
	if h == nil {
		return
	}
	env := h.EnvironmentHealth()
	if v, ok := env.HealthStatus.MetricValue(); ok {
		ch <- prometheus.MustNewConstMetric(environmentHealthDesc, prometheus.GaugeValue, float64(v), env.EnvironmentName)
	}
	counts := env.InstancesHealth
	for _, sv := range []struct {
		status monitor.Status
		n      int
	}{
		{monitor.StatusOk, counts.Ok}, {monitor.StatusInfo, counts.Info}, {monitor.StatusUnknown, counts.Unknown},
		{monitor.StatusNoData, counts.NoData}, {monitor.StatusPending, counts.Pending},
		{monitor.StatusWarning, counts.Warning}, {monitor.StatusDegraded, counts.Degraded}, {monitor.StatusSevere, counts.Severe},
	} {
		ch <- prometheus.MustNewConstMetric(environmentInstancesDesc, prometheus.GaugeValue, float64(sv.n), env.EnvironmentName, string(sv.status))
	}
	for _, in := range h.InstancesHealth().InstanceHealthList {
		if v, ok := in.HealthStatus.MetricValue(); ok {
			ch <- prometheus.MustNewConstMetric(instanceHealthDesc, prometheus.GaugeValue, float64(v), env.EnvironmentName, in.InstanceId)
		}
	}
}
