package monitor

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

// cause is one reason for a status: the sentence Beanstalk shows and the
// status it gives on its own. kind orders causes of equal status.
type cause struct {
	status Status
	kind   causeKind
	text   string
}

// causeKind fixes the order of causes of the same status, following the
// order of AWS's own messages: ELB health before the request rates
// (such as "... from Warning to Severe. 100.0 % of the requests are failing
// with HTTP 5xx. ELB processes are not healthy on all instances. ELB health
// is failing ...", quoted in github.com/zodern/mup-aws-beanstalk issue 9).
type causeKind int

const (
	kindSuspended causeKind = iota
	kindPending
	kindDeployment
	kindNoData
	kindELBHealth
	kindVersion
	kindCapacity
	kind5xx
	kind4xx
	kindELB5xx
	kindELB4xx
	kindCPU
	kindInsufficient
)

// verdict folds causes into a status: the worst cause's status, Ok without
// causes. Causes are listed worst first.
func verdict(cs []cause) (Status, []string) {
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].status != cs[j].status {
			return cs[i].status.worse(cs[j].status)
		}
		return cs[i].kind < cs[j].kind
	})
	st := StatusOk
	texts := make([]string, 0, len(cs))
	seen := make(map[string]bool, len(cs))
	for _, c := range cs {
		if c.status.worse(st) {
			st = c.status
		}
		if !seen[c.text] { // the application's and the ELB's rate notices can coincide
			seen[c.text] = true
			texts = append(texts, c.text)
		}
	}
	return st, texts
}

// level returns the status a percentage reaches under t, or Ok.
func level(t config.Thresholds, pct float64) Status {
	switch {
	case t.Severe > 0 && pct >= t.Severe:
		return StatusSevere
	case t.Degraded > 0 && pct >= t.Degraded:
		return StatusDegraded
	case t.Warning > 0 && pct >= t.Warning:
		return StatusWarning
	}
	return StatusOk
}

// percent formats a rate as AWS does in request causes: one decimal and a
// space before the sign, "100.0 %" (as in the causes quoted in
// github.com/zodern/mup-aws-beanstalk issues 9 and 13).
func percent(part, total uint64) (float64, string) {
	p := float64(part) / float64(total) * 100
	return p, strconv.FormatFloat(p, 'f', 1, 64) + " %"
}

// requestCauses applies the request rules to counts over a period. prefix
// is "the requests" for an instance's or the application's requests, "the
// requests to the ELB" for what the load balancer answered itself.
func requestCauses(r config.EnhancedHealth, rc requestCounts, period time.Duration, elb bool) []cause {
	if rc.total == 0 {
		return nil
	}
	fivexx, fourxx := r.ApplicationRequests5xx, r.ApplicationRequests4xx.Levels()
	k5, k4 := kind5xx, kind4xx
	subject := "the requests"
	if elb {
		fivexx, fourxx = r.ELBRequests5xx, r.ELBRequests4xx.Levels()
		k5, k4 = kindELB5xx, kindELB4xx
		subject = "the requests to the ELB"
	}
	var cs []cause
	if p, s := percent(rc.c5xx, rc.total); rc.c5xx > 0 {
		if st := level(fivexx, p); st != StatusOk {
			cs = append(cs, cause{st, k5, s + " of " + subject + " are failing with HTTP 5xx."})
		}
	}
	if p, s := percent(rc.c4xx, rc.total); rc.c4xx > 0 {
		if st := level(fourxx, p); st != StatusOk {
			cs = append(cs, cause{st, k4, s + " of " + subject + " are erroring with HTTP 4xx."})
		}
	}
	if len(cs) == 0 || r.MinRequestRate == 0 {
		return cs
	}
	// Too few requests decide nothing (100 % 4xx at 6 requests/min stays
	// Ok with "Insufficient request rate (6.0 requests/min) to determine
	// application health.", as seen in an eb deploy transcript): the rates
	// are replaced by the notice, at Info.
	perMin := float64(rc.total) / period.Minutes()
	if perMin < r.MinRequestRate {
		return []cause{{StatusInfo, kindInsufficient, fmt.Sprintf("Insufficient request rate (%.1f requests/min) to determine application health.", perMin)}}
	}
	return cs
}

func cpuCause(t config.Thresholds, pct float64) []cause {
	if st := level(t, pct); st != StatusOk {
		return []cause{{st, kindCPU, fmt.Sprintf("%d %% of CPU is in use.", int(math.Round(pct)))}}
	}
	return nil
}

// ago renders a duration as Beanstalk's messages do: "12 seconds",
// "1 minute", "3 minutes", "2 hours".
func ago(d time.Duration) string {
	unit := func(n int64, word string) string {
		if n == 1 {
			return "1 " + word
		}
		return strconv.FormatInt(n, 10) + " " + word + "s"
	}
	switch {
	case d < time.Minute:
		return unit(int64(d/time.Second), "second")
	case d < time.Hour:
		return unit(int64(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return unit(int64(d/time.Hour), "hour")
	}
	return unit(int64(d/(24*time.Hour)), "day")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// elbVerdict summarises an instance's registrations: healthy when any is,
// failing when one is unhealthy, or still initial past the launch grace.
type elbVerdict struct {
	known, healthy, failing bool
	reason                  healthcheck.Reason
}

// instanceInput is what the instance rules read, gathered by Evaluate.
type instanceInput struct {
	now, launchedAt time.Time
	requests        requestCounts // over the evaluation period
	// span is the time requests covers: the evaluation period, or less
	// while the instance is younger; 0 means the whole period.
	span time.Duration
	elb  elbVerdict
	// hasProcess: the instance was launched from a pid; running: the pid is alive.
	hasProcess, running bool
	cpuKnown            bool
	cpu                 float64
	lastSeen            time.Time
	// command: the instance's deployment command runs, since commandSince.
	command      bool
	commandSince time.Time
	// wrongVersion: the instance runs version/deployment, not the update's expected one.
	wrongVersion bool
	version      string
	deployment   int
	update       Update
}

// evaluateInstance applies the instance rules (docs/health-rules.md).
func evaluateInstance(r config.EnhancedHealth, in instanceInput) (Status, []string) {
	if in.command {
		// Out of service while its command runs: the deployment is the
		// whole story, as Beanstalk shows it.
		return verdict([]cause{commandCause(in.now, in.commandSince)})
	}
	period := time.Duration(r.EvaluationPeriod) * time.Second
	age := in.now.Sub(in.launchedAt)
	if age < time.Duration(r.LaunchGracePeriod)*time.Second && !in.elb.healthy {
		// https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-status.html: "Performing initialization (running for 12 seconds)."
		return verdict([]cause{{StatusPending, kindPending, "Performing initialization (running for " + ago(age) + ")."}})
	}
	if in.requests.total == 0 && !in.elb.known {
		switch {
		case in.hasProcess && !in.running:
			text := "No data."
			if !in.lastSeen.IsZero() {
				// Severe instance example of https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-status.html:
				// "No data. Last seen 37 minutes ago."
				text = "No data. Last seen " + ago(in.now.Sub(in.lastSeen)) + " ago."
			}
			return verdict([]cause{{StatusNoData, kindNoData, text}})
		case !in.hasProcess:
			// Unknown in https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-status.html: "No data is being received."
			return verdict([]cause{{StatusUnknown, kindNoData, "No data is being received."}})
		}
	}
	var cs []cause
	if in.elb.failing {
		// The instance cause Beanstalk shows is the target's reason alone,
		// such as "Target.ResponseCodeMismatch" (github.com/aws/elastic-beanstalk-roadmap issue 252).
		text := string(in.elb.reason)
		if text == "" {
			text = "ELB health is failing or not available."
		}
		cs = append(cs, cause{StatusSevere, kindELBHealth, text})
	}
	cs = append(cs, requestCauses(r, in.requests, spanOr(in.span, period), false)...)
	if in.cpuKnown {
		cs = append(cs, cpuCause(r.CPU, in.cpu)...)
	}
	if in.wrongVersion {
		cs = append(cs, wrongVersionCause(in.version, in.deployment, in.update))
	}
	return verdict(cs)
}

// envInput is what the environment rules read.
type envInput struct {
	suspended      bool
	suspendedCause string
	// instances: the published status of each instance, and whether its ELB
	// health is failing or not available.
	instances   []envInstance
	requests    requestCounts // all instances, over the evaluation period
	elbRequests requestCounts // the load balancer's own, over the period
	// span and elbSpan are the times requests and elbRequests cover, as
	// instanceInput.span.
	span, elbSpan time.Duration
	capacitySet   bool
	minSize       int
	online        int
	now           time.Time
	earliest      time.Time // launch of the oldest pending instance
	// commands: instances whose deployment command runs; wrongVersions:
	// instances on another version than update's expected one.
	commands, wrongVersions int
	update                  Update
}

type envInstance struct {
	status     Status
	elbFailing bool
	cpuKnown   bool
	cpu        float64
}

// evaluateEnvironment applies the environment rules (docs/health-rules.md).
func evaluateEnvironment(r config.EnhancedHealth, in envInput) (Status, []string) {
	if in.suspended {
		return verdict([]cause{{StatusSuspended, kindSuspended, in.suspendedCause}})
	}
	period := time.Duration(r.EvaluationPeriod) * time.Second
	var cs []cause
	pending, noData, active := 0, 0, 0
	var cpuSum float64
	cpuN, failing := 0, 0
	for _, i := range in.instances {
		switch i.status {
		case StatusPending:
			pending++
			continue
		case StatusNoData, StatusUnknown:
			noData++
		}
		active++
		if i.elbFailing {
			failing++
		}
		if i.cpuKnown {
			cpuSum += i.cpu
			cpuN++
		}
	}
	total := len(in.instances)
	if pending > 0 {
		st := StatusInfo
		if pending == total {
			st = StatusPending
		}
		// Worded after "Configuration update in progress on 1 instance. 0 out
		// of 2 instances completed (running for 3 minutes)." (github.com/zodern/mup-aws-beanstalk issue 53).
		cs = append(cs, cause{st, kindPending, fmt.Sprintf("Initialization in progress on %s. %d out of %s completed (running for %s).",
			plural(pending, "instance"), total-pending, plural(total, "instance"), ago(in.now.Sub(in.earliest)))})
	}
	if active > 0 && noData == active {
		// "None of the instances are sending data" came with a transition to
		// Severe (github.com/IIIF/website issue 321).
		cs = append(cs, cause{StatusSevere, kindNoData, "None of the instances are sending data."})
	}
	if failing > 0 {
		p := float64(failing) / float64(active) * 100
		if st := level(r.ELBHealth, p); st != StatusOk {
			text := "ELB health is failing or not available for all instances."
			if failing < active {
				text = fmt.Sprintf("ELB health is failing or not available for %d out of %s.", failing, plural(active, "instance"))
			}
			cs = append(cs, cause{st, kindELBHealth, text})
		}
	}
	if in.capacitySet && in.online < in.minSize {
		// DG example: "4 active instances is below Auto Scaling group minimum
		// size 5." at Degraded; API example "1 instance online is below ...".
		st := StatusDegraded
		if in.online == 0 {
			st = StatusSevere
		}
		cs = append(cs, cause{st, kindCapacity, fmt.Sprintf("%s online is below Auto Scaling group minimum size %d.", plural(in.online, "instance"), in.minSize)})
	} else if total == 0 && in.capacitySet {
		cs = append(cs, cause{StatusSevere, kindCapacity, "There are no instances."})
	}
	if in.commands > 0 {
		cs = append(cs, commandsCause(in.commands, max(in.update.Total, in.commands)))
	}
	if in.wrongVersions > 0 {
		cs = append(cs, wrongVersionsCause(in.wrongVersions, total, in.update))
	}
	cs = append(cs, requestCauses(r, in.requests, spanOr(in.span, period), false)...)
	cs = append(cs, requestCauses(r, in.elbRequests, spanOr(in.elbSpan, period), true)...)
	if cpuN > 0 {
		cs = append(cs, cpuCause(r.CPU, cpuSum/float64(cpuN))...)
	}
	return verdict(cs)
}

// spanOr is the time the requests cover, period when unknown: the request
// rate of "Insufficient request rate" is the requests over the time they
// were counted in, the same figure `elbow health` prints as r/sec.
func spanOr(span, period time.Duration) time.Duration {
	if span > 0 && span < period {
		return span
	}
	return period
}
