package console

import (
	"strconv"
	"sync"

	"github.com/elbow-lb/elbow/internal/proxy"
	"github.com/prometheus/client_golang/prometheus"
)

// The ALB's CloudWatch metrics (namespace AWS/ApplicationELB) as Prometheus
// series, named elbow_alb_<metric in snake case>, with labels after
// CloudWatch's dimensions: load_balancer (LoadBalancer, app/<name>/<id>),
// target_group (TargetGroup), and target and port where a series is per
// target. Source:
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html

// targetClasses are HTTPCode_Target_{2XX,3XX,4XX,5XX}_Count's classes.
var targetClasses = [...]string{"2XX", "3XX", "4XX", "5XX"}

// elbCodes are the load balancer's own answers, pre-created so that a
// dashboard sees a 0 before the first one.
var elbCodes = []int{400, 408, 460, 463, 464, 502, 503, 504}

type albMetrics struct {
	requests    *prometheus.CounterVec
	perTarget   *prometheus.CounterVec
	targetCodes *prometheus.CounterVec
	elbCodes    *prometheus.CounterVec
	lbs         sync.Map // load balancer -> struct{}: its ELB codes exist
}

// albSeries are one target's counters; perTarget and byClass are nil for
// the responses that had no target.
type albSeries struct {
	requests  prometheus.Counter
	perTarget prometheus.Counter
	byClass   [len(targetClasses)]prometheus.Counter
}

// albLatencyDesc is TargetResponseTime, a histogram per target
// (latency.go) counted with the other series of a response (record.go).
var albLatencyDesc = prometheus.NewDesc("elbow_alb_target_response_time_seconds",
	"Time from sending the request to the target until its response headers arrived (CloudWatch TargetResponseTime).",
	[]string{"load_balancer", "target_group", "target", "port"}, nil)

func newALBMetrics() *albMetrics {
	target := []string{"load_balancer", "target_group", "target", "port"}
	return &albMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elbow_alb_request_count_total",
			Help: "Requests forwarded to a target group (CloudWatch RequestCount; fixed responses and redirects are not counted).",
		}, []string{"load_balancer", "target_group"}),
		perTarget: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elbow_alb_request_count_per_target_total",
			Help: "Requests routed to each target (CloudWatch RequestCountPerTarget, here per target rather than averaged).",
		}, target),
		targetCodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elbow_alb_httpcode_target_total",
			Help: "Responses the targets generated, by class (CloudWatch HTTPCode_Target_2XX_Count, _3XX_, _4XX_, _5XX_).",
		}, append(target[:4:4], "code_class")),
		elbCodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elbow_alb_httpcode_elb_total",
			Help: "Responses the load balancer generated itself, by class and code (CloudWatch HTTPCode_ELB_4XX_Count, HTTPCode_ELB_5XX_Count, HTTPCode_ELB_502_Count, _503_, _504_; 460 and 463 as the access log gives them).",
		}, []string{"load_balancer", "code_class", "code"}),
	}
}

func (m *albMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.perTarget, m.targetCodes, m.elbCodes}
}

// newSeries resolves the counters of k, once per series (record.go keeps
// them).
func (m *albMetrics) newSeries(k seriesKey) albSeries {
	if _, ok := m.lbs.LoadOrStore(k.lb, struct{}{}); !ok {
		for _, code := range elbCodes {
			m.elbCodes.WithLabelValues(k.lb, strconv.Itoa(code/100)+"XX", strconv.Itoa(code))
		}
	}
	s := albSeries{requests: m.requests.WithLabelValues(k.lb, k.group)}
	if k.id != "" {
		port := strconv.Itoa(k.port)
		s.perTarget = m.perTarget.WithLabelValues(k.lb, k.group, k.id, port)
		for i, class := range targetClasses {
			s.byClass[i] = m.targetCodes.WithLabelValues(k.lb, k.group, k.id, port, class)
		}
	}
	return s
}

// countELBCode counts a response the load balancer gave itself, with no
// response from a target.
func (m *albMetrics) countELBCode(r *proxy.ResponseRecord) {
	if r.StatusCode >= 400 && r.StatusCode <= 599 {
		m.elbCodes.WithLabelValues(r.LoadBalancer, strconv.Itoa(r.StatusCode/100)+"XX", strconv.Itoa(r.StatusCode)).Inc()
	}
}

// lbCollector reads the proxy's connection counts at scrape time.
type lbCollector struct{ stats func() proxy.Stats }

var (
	newConnsDesc = prometheus.NewDesc("elbow_alb_new_connection_count_total",
		"Client connections accepted (CloudWatch NewConnectionCount).", []string{"load_balancer"}, nil)
	activeConnsDesc = prometheus.NewDesc("elbow_alb_active_connections",
		"Client connections open now on the proxy's connection loop, HTTP, HTTPS and HTTP/2 (CloudWatch ActiveConnectionCount; connections handed to net/http's server are not included).",
		[]string{"load_balancer"}, nil)
	rejectedConnsDesc = prometheus.NewDesc("elbow_alb_rejected_connection_count_total",
		"Client connections closed unserved because their listener was closing (CloudWatch RejectedConnectionCount).", []string{"load_balancer"}, nil)
	clientTLSDesc = prometheus.NewDesc("elbow_alb_client_tls_negotiation_error_count_total",
		"TLS handshakes with clients that failed (CloudWatch ClientTLSNegotiationErrorCount).", []string{"load_balancer"}, nil)
	processedBytesDesc = prometheus.NewDesc("elbow_alb_processed_bytes_total",
		"Bytes received from and sent to clients (CloudWatch ProcessedBytes).", []string{"load_balancer"}, nil)
	targetConnErrorsDesc = prometheus.NewDesc("elbow_alb_target_connection_error_count_total",
		"Connections to a target (ip:port) that could not be established (CloudWatch TargetConnectionErrorCount).",
		[]string{"load_balancer", "target"}, nil)
	// HealthyHostCount and UnHealthyHostCount, per target group as
	// CloudWatch gives them (dimensions LoadBalancer and TargetGroup); read
	// at scrape time by stateCollector (metrics.go), which also gives the
	// older elbow_target_group_*_hosts.
	albHealthyHostsDesc = prometheus.NewDesc("elbow_alb_healthy_hosts",
		"Targets in state healthy (CloudWatch HealthyHostCount).", []string{"load_balancer", "target_group"}, nil)
	albUnhealthyHostsDesc = prometheus.NewDesc("elbow_alb_unhealthy_hosts",
		"Targets in state unhealthy (CloudWatch UnHealthyHostCount).", []string{"load_balancer", "target_group"}, nil)
	targetTLSErrorsDesc = prometheus.NewDesc("elbow_alb_target_tls_negotiation_error_count_total",
		"TLS handshakes with an HTTPS target (ip:port) that failed (CloudWatch TargetTLSNegotiationErrorCount).",
		[]string{"load_balancer", "target"}, nil)
)

func (lc *lbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{newConnsDesc, activeConnsDesc, rejectedConnsDesc, clientTLSDesc,
		processedBytesDesc, targetConnErrorsDesc, targetTLSErrorsDesc} {
		ch <- d
	}
}

func (lc *lbCollector) Collect(ch chan<- prometheus.Metric) {
	if lc.stats == nil {
		return
	}
	s := lc.stats()
	lb := s.LoadBalancer
	ch <- prometheus.MustNewConstMetric(newConnsDesc, prometheus.CounterValue, float64(s.NewConnections), lb)
	ch <- prometheus.MustNewConstMetric(activeConnsDesc, prometheus.GaugeValue, float64(s.ActiveConnections), lb)
	ch <- prometheus.MustNewConstMetric(rejectedConnsDesc, prometheus.CounterValue, float64(s.RejectedConnections), lb)
	ch <- prometheus.MustNewConstMetric(clientTLSDesc, prometheus.CounterValue, float64(s.ClientTLSNegotiationErrors), lb)
	ch <- prometheus.MustNewConstMetric(processedBytesDesc, prometheus.CounterValue, float64(s.ProcessedBytes), lb)
	for addr, n := range s.TargetConnectionErrors {
		ch <- prometheus.MustNewConstMetric(targetConnErrorsDesc, prometheus.CounterValue, float64(n), lb, addr)
	}
	for addr, n := range s.TargetTLSNegotiationErrors {
		ch <- prometheus.MustNewConstMetric(targetTLSErrorsDesc, prometheus.CounterValue, float64(n), lb, addr)
	}
}
