package monitor

import "time"

// PeriodMetrics are an instance's or the environment's requests over the
// evaluation period its causes were read from. They are published with the
// causes, at the same evaluation, so that a front end showing both shows
// figures that agree: "100.0 % of the requests are erroring with HTTP 4xx."
// above a row of 100.0 %4xx, not above the last 10 s window, which at two
// health checks per 15 s often holds no request. Beanstalk's own causes and
// metrics agree so (the DescribeInstancesHealth example of
// https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_DescribeInstancesHealth.html:
// "19.9 % of the requests are failing with HTTP 5xx." beside 843 of 4234).
// AWS has no such element; ApplicationMetrics stays the 10 s window the API
// documents.
type PeriodMetrics struct {
	// End is the evaluation that closed the period; Duration (seconds) is
	// its length: the evaluation period, or less while the instance is
	// younger than that.
	End time.Time `json:"End"`
	ApplicationMetrics
}

// appendStats keeps copies of the last n closed windows, oldest first.
func appendStats(h []windowStats, w *windowStats, n int) []windowStats {
	if len(h) >= n {
		copy(h, h[len(h)-n+1:])
		h = h[:n-1]
	}
	return append(h, *w)
}

// mergeInto adds the windows of h to st, widening st's span to cover them.
func mergeInto(st *windowStats, h []windowStats) {
	for i := range h {
		w := &h[i]
		if st.start.IsZero() || w.start.Before(st.start) {
			st.start = w.start
		}
		if w.end.After(st.end) {
			st.end = w.end
		}
		for c, n := range w.codes {
			st.codes[c] += n
		}
		st.latency.add(&w.latency)
	}
}

func periodMetricsOf(st *windowStats, end time.Time) *PeriodMetrics {
	return &PeriodMetrics{End: end, ApplicationMetrics: metricsOf(st)}
}
