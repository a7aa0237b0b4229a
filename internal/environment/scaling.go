package environment

import (
	"context"
	"time"

	"github.com/elbow-lb/elbow/internal/autoscale"
	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/healthcheck"
	"github.com/elbow-lb/elbow/internal/proxy"
)

// Auto scaling: package autoscale decides from the instances' own figures
// (fed here from every proxied response and the monitor's CPU samples);
// this file gives it the fleet (scaleFleet).

// startScaling starts the Auto Scaling group's triggers and health
// replacement for a fleet of instances.
func (e *Env) startScaling() {
	if e.fleet == nil {
		return
	}
	cfg := e.Config()
	e.scaler = autoscale.New(autoscale.GroupOf(cfg), autoscale.TriggerOf(cfg), scaleFleet{e}, e.figures,
		autoscale.Options{Logger: e.log})
	e.goRun(func() { e.scaler.Run(e.runCtx) })
	e.goRun(e.sampleCPU)
}

// sampleCPU gives the figures each instance's CPU, as the monitor measures
// it, every 10 seconds (the monitor's window).
func (e *Env) sampleCPU() {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-e.runCtx.Done():
			return
		case <-t.C:
		}
		for _, in := range e.monitor.InstancesHealth().InstanceHealthList {
			if in.System != nil {
				c := in.System.CPUUtilization
				e.figures.SetCPU(in.InstanceId, c.User+c.System)
			}
		}
	}
}

// figuresRecorder feeds the scaling figures from each proxied response.
type figuresRecorder struct{ f *autoscale.Figures }

// RecordResponses adds up a batch per instance (a batch holds a few) and
// records each instance's sums once.
func (r figuresRecorder) RecordResponses(recs []proxy.ResponseRecord) {
	type instance struct {
		id   string
		reqs autoscale.Requests
	}
	var sums [8]instance
	n := 0
	for i := range recs {
		rec := &recs[i]
		if rec.Target.ID == "" {
			r.f.RecordELBRequest(rec.ReceivedBytes, rec.SentBytes)
			continue
		}
		latency := rec.TargetLatency
		if latency == 0 {
			latency = rec.Latency
		}
		j := 0
		for j < n && sums[j].id != rec.Target.ID {
			j++
		}
		if j == n {
			if n == len(sums) {
				for j := range sums {
					r.f.RecordRequests(sums[j].id, &sums[j].reqs)
				}
				n, j = 0, 0
			}
			sums[j] = instance{id: rec.Target.ID}
			n++
		}
		sums[j].reqs.Add(rec.ReceivedBytes, rec.SentBytes, latency)
	}
	for j := range n {
		r.f.RecordRequests(sums[j].id, &sums[j].reqs)
	}
}

// scaleFleet is the fleet as package autoscale sees it.
type scaleFleet struct{ e *Env }

func (s scaleFleet) Members() []autoscale.Member {
	// While an update runs, its instances' ELB health is the deployment's
	// to judge: none is offered for replacement.
	updating := s.e.Updating()
	g := s.e.instanceGroup()
	var out []autoscale.Member
	for _, st := range s.e.fleet.Instances() {
		if st.State == fleet.StateTerminated || st.State == fleet.StateStopping {
			continue
		}
		m := autoscale.Member{ID: st.ID, Launched: st.LaunchTime}
		s.e.mu.Lock()
		t, ok := s.e.targets[st.ID]
		s.e.mu.Unlock()
		if ok && g != nil && !updating {
			switch g.Health(t).State {
			case healthcheck.StateHealthy:
				m.ELBKnown, m.ELBHealthy = true, true
			case healthcheck.StateUnhealthy:
				m.ELBKnown = true
			}
		}
		out = append(out, m)
	}
	return out
}

func (s scaleFleet) Desired() int { return s.e.fleet.Desired() }

// SetDesired changes the desired capacity, except while an update runs:
// Beanstalk suspends scaling processes during deployments.
func (s scaleFleet) SetDesired(ctx context.Context, n int) error {
	s.e.upd.activity.Lock()
	defer s.e.upd.activity.Unlock()
	if s.e.Updating() {
		return s.e.errInProgress()
	}
	return s.e.fleet.SetDesired(ctx, n)
}

// Replace terminates an instance that failed its ELB health check, draining
// it, and launches another with the environment's current release, as Auto
// Scaling replaces an unhealthy instance.
func (s scaleFleet) Replace(ctx context.Context, id string) error {
	s.e.upd.activity.Lock()
	defer s.e.upd.activity.Unlock()
	if s.e.Updating() {
		return s.e.errInProgress()
	}
	if err := s.e.fleet.Terminate(ctx, id); err != nil {
		return err
	}
	_, err := s.e.fleet.LaunchWith(ctx, s.e.fleet.Template(), false)
	return err
}

func (s scaleFleet) Event(severity, message string) {
	s.e.events(Event{Time: time.Now(), Source: SourceInstance, Severity: severity, Message: message})
}
