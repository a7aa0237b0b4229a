package autoscale

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
)

// Trigger is aws:autoscaling:trigger: an upper and a lower alarm on one
// measure of the group, each moving the desired capacity by its increment.
type Trigger struct {
	MeasureName, Statistic, Unit string
	// Period between evaluations; BreachDuration is a whole number of
	// periods (Beanstalk's Period times EvaluationPeriods).
	Period, BreachDuration         time.Duration
	UpperThreshold, LowerThreshold float64
	UpperBreachScaleIncrement      int
	LowerBreachScaleIncrement      int
}

// Group is the Auto Scaling group's size bounds, cooldown and health check.
type Group struct {
	Min, Max int
	Cooldown time.Duration
	// HealthCheckType is EC2 (only a process that exits is replaced, by the
	// fleet) or ELB (an instance the load balancer finds unhealthy after
	// HealthCheckGracePeriod is replaced here too).
	HealthCheckType        string
	HealthCheckGracePeriod time.Duration
}

// Member is an instance of the group in service (not terminating).
type Member struct {
	ID       string
	Launched time.Time
	// ELBKnown is false until the load balancer has decided the target's
	// health (registration, initial checks).
	ELBKnown, ELBHealthy bool
}

// Fleet is the group as the scaler sees it.
type Fleet interface {
	Members() []Member
	Desired() int
	// SetDesired launches or drains and terminates instances to reach n.
	SetDesired(ctx context.Context, n int) error
	// Replace terminates id, draining it, and launches another.
	Replace(ctx context.Context, id string) error
	// Event records an environment event (INFO, WARN, ERROR).
	Event(severity, msg string)
}

// Clock is the scaler's source of time.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options of a Scaler.
type Options struct {
	Clock  Clock        // default: the system clock
	Logger *slog.Logger // default: slog.Default()
}

// healthInterval is how often Run looks for instances to replace between
// trigger evaluations; Auto Scaling's own health checks run about as often.
const healthInterval = 10 * time.Second

// Scaler makes the group's decisions. Step is one evaluation; Run calls it
// on the clock.
type Scaler struct {
	fleet Fleet
	fig   *Figures
	clock Clock
	log   *slog.Logger

	mu sync.Mutex
	g  Group
	t  Trigger
	// lastEval is when the current period began; history the measures of
	// the last periods, newest last, at most BreachDuration/Period long.
	lastEval      time.Time
	history       []float64
	cooldownUntil time.Time
	replaced      map[string]bool
	// atBound is set while a breach finds the group at Min or Max, so that
	// it is reported once, not every period.
	atBound bool
}

// New returns a scaler of g on fleet, measuring fig; its first period
// starts now.
func New(g Group, t Trigger, fleet Fleet, fig *Figures, o Options) *Scaler {
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Scaler{fleet: fleet, fig: fig, clock: o.Clock, log: o.Logger, g: g, t: t,
		lastEval: o.Clock.Now(), replaced: map[string]bool{}}
}

// Update changes the group and trigger of a running scaler. A new measure,
// statistic or period starts the breach count again, as a new alarm would;
// thresholds and increments apply from the next evaluation.
func (s *Scaler) Update(g Group, t Trigger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.MeasureName != s.t.MeasureName || t.Statistic != s.t.Statistic || t.Unit != s.t.Unit || t.Period != s.t.Period {
		s.history = nil
	}
	s.g, s.t = g, t
}

// Run evaluates the trigger every Period and looks for unhealthy instances
// every 10 s (or every Period when shorter) until ctx ends.
func (s *Scaler) Run(ctx context.Context) {
	for {
		s.mu.Lock()
		wait := min(healthInterval, s.t.Period)
		if next := s.lastEval.Add(s.t.Period).Sub(s.clock.Now()); next > 0 && next < wait {
			wait = next
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(max(wait, time.Millisecond)):
		}
		s.step(ctx, s.clock.Now())
	}
}

// Step is one evaluation at now: the trigger when a Period has passed since
// the last one, and the health replacement always.
func (s *Scaler) Step(now time.Time) { s.step(context.Background(), now) }

func (s *Scaler) step(ctx context.Context, now time.Time) {
	members := s.fleet.Members()
	s.replaceUnhealthy(ctx, now, members)

	s.mu.Lock()
	t, g := s.t, s.g
	if t.Period <= 0 || now.Sub(s.lastEval) < t.Period {
		s.mu.Unlock()
		return
	}
	s.lastEval = now
	samples := make([]sample, len(members))
	keep := make(map[string]bool, len(members))
	for i, m := range members {
		samples[i] = s.fig.take(m.ID)
		keep[m.ID] = true
	}
	s.fig.drop(keep)
	v := measure(t, members, samples)
	n := max(1, int(t.BreachDuration/t.Period))
	s.history = append(s.history, v)
	if len(s.history) > n {
		s.history = append(s.history[:0], s.history[len(s.history)-n:]...)
	}
	upper := len(s.history) == n && all(s.history, func(x float64) bool { return x > t.UpperThreshold })
	lower := len(s.history) == n && all(s.history, func(x float64) bool { return x < t.LowerThreshold })
	cooling := now.Before(s.cooldownUntil)
	if !upper && !lower {
		s.atBound = false
	}
	s.mu.Unlock()

	s.log.Debug("auto scaling trigger", "measure", t.MeasureName, "statistic", t.Statistic, "value", v, "upper", upper, "lower", lower, "cooldown", cooling)
	if (!upper && !lower) || cooling {
		return
	}
	inc, which, threshold, cmp := t.UpperBreachScaleIncrement, "upper", t.UpperThreshold, "above"
	if !upper {
		inc, which, threshold, cmp = t.LowerBreachScaleIncrement, "lower", t.LowerThreshold, "below"
	}
	cur := s.fleet.Desired()
	// A step beyond the group's bounds stops at Min or Max, as Auto
	// Scaling's simple scaling does
	// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html).
	want := min(max(cur+inc, g.Min), g.Max)
	breach := fmt.Sprintf("Auto scaling trigger: %s (%s) was %s %s, %s the %s threshold of %s, for %s.",
		t.MeasureName, t.Statistic, number(v), t.Unit, cmp, which, number(threshold), periods(n, t.Period))
	if want == cur {
		s.mu.Lock()
		already := s.atBound
		s.atBound = true
		s.mu.Unlock()
		if !already {
			s.fleet.Event("INFO", breach+" The desired capacity stays at "+strconv.Itoa(cur)+", the group's "+bound(inc, g)+".")
		}
		return
	}
	s.mu.Lock()
	s.atBound = false
	s.mu.Unlock()
	s.fleet.Event("INFO", fmt.Sprintf("%s Changing the desired capacity from %d to %d.", breach, cur, want))
	s.mu.Lock()
	s.cooldownUntil = now.Add(g.Cooldown)
	s.mu.Unlock()
	if err := s.fleet.SetDesired(ctx, want); err != nil {
		s.fleet.Event("WARN", fmt.Sprintf("Auto scaling could not change the desired capacity from %d to %d: %v", cur, want, err))
	}
}

// replaceUnhealthy replaces, once each, the members whose ELB health is
// known and unhealthy after their grace period, with HealthCheckType ELB.
func (s *Scaler) replaceUnhealthy(ctx context.Context, now time.Time, members []Member) {
	s.mu.Lock()
	g := s.g
	present := make(map[string]bool, len(members))
	var due []string
	for _, m := range members {
		present[m.ID] = true
		if g.HealthCheckType == "ELB" && m.ELBKnown && !m.ELBHealthy && !s.replaced[m.ID] &&
			!now.Before(m.Launched.Add(g.HealthCheckGracePeriod)) {
			s.replaced[m.ID] = true
			due = append(due, m.ID)
		}
	}
	for id := range s.replaced {
		if !present[id] {
			delete(s.replaced, id)
		}
	}
	s.mu.Unlock()
	for _, id := range due {
		// Auto Scaling's activity cause for this case
		// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ts-as-healthchecks.html).
		s.fleet.Event("WARN", fmt.Sprintf("Instance [%s] was taken out of service in response to an ELB system health check failure. Replacing it.", id))
		if err := s.fleet.Replace(ctx, id); err != nil {
			s.fleet.Event("WARN", fmt.Sprintf("Auto scaling could not replace instance [%s]: %v", id, err))
		}
	}
}

func all(xs []float64, f func(float64) bool) bool {
	for _, x := range xs {
		if math.IsNaN(x) || !f(x) {
			return false
		}
	}
	return true
}

func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func periods(n int, p time.Duration) string {
	if n == 1 {
		return "1 period of " + p.String()
	}
	return fmt.Sprintf("%d periods of %s", n, p)
}

func bound(inc int, g Group) string {
	if inc > 0 {
		return "maximum"
	}
	return "minimum"
}
