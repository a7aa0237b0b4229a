package targetgroup

import (
	"testing"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/healthcheck"
)

func TestSplitSendsPercentToNewTargets(t *testing.T) {
	for _, alg := range []string{"round_robin", "least_outstanding_requests", "weighted_random"} {
		t.Run(alg, func(t *testing.T) {
			g := newGroup(t, func(tg *config.TargetGroup) { tg.LoadBalancingAlgorithmType = alg }, Options{})
			o1, o2, n1, n2 := target(1), target(2), target(3), target(4)
			for _, tt := range []healthcheck.Target{o1, o2, n1, n2} {
				g.Register(tt)
				g.SetHealth(tt, healthy)
			}
			g.SetSplit([]string{n1.ID, n2.ID}, 10)
			if ids, pct := g.Split(); len(ids) != 2 || pct != 10 {
				t.Fatalf("Split() = %v, %d; want the two new IDs, 10", ids, pct)
			}
			const picks = 10000
			got := counts(g, picks)
			newPicks := got[n1] + got[n2]
			// 10 % of 10,000: binomial sd is 30, so ±150 is five sd.
			if newPicks < 850 || newPicks > 1150 {
				t.Fatalf("new targets got %d of %d picks (%v); want about 1000", newPicks, picks, got)
			}
			// Inside each side the algorithm spreads the load.
			if got[n1] < 300 || got[n2] < 300 || got[o1] < 3500 || got[o2] < 3500 {
				t.Fatalf("picks %v; want each side spread over its two targets", got)
			}

			g.SetSplit(nil, 0)
			if ids, pct := g.Split(); ids != nil || pct != 0 {
				t.Fatalf("after clearing: Split() = %v, %d", ids, pct)
			}
			got = counts(g, 4000)
			if newPicks := got[n1] + got[n2]; newPicks < 1700 || newPicks > 2300 {
				t.Fatalf("split cleared: new targets got %d of 4000 (%v); want about half", newPicks, got)
			}
		})
	}
}

func TestSplitSideWithoutRoutableTargetLeavesTrafficToTheOther(t *testing.T) {
	g := newGroup(t, nil, Options{})
	old, nu := target(1), target(2)
	g.Register(old)
	g.Register(nu)
	g.SetHealth(old, healthy)
	g.SetHealth(nu, unhealthy)
	g.SetSplit([]string{nu.ID}, 50)
	if got := counts(g, 1000); got[old] != 1000 {
		t.Fatalf("new side unhealthy: picks %v; want all 1000 on the old target", got)
	}
	g.SetHealth(nu, healthy)
	g.SetHealth(old, unhealthy)
	if got := counts(g, 1000); got[nu] != 1000 {
		t.Fatalf("old side unhealthy: picks %v; want all 1000 on the new target", got)
	}
	// Neither side routable: the group fails open over both, as without a split.
	g.SetHealth(nu, unhealthy)
	if got := counts(g, 1000); !g.FailingOpen() || got[nu] != 500 || got[old] != 500 {
		t.Fatalf("all unhealthy: picks %v; want fail open, 500 each", got)
	}
	// Exclusion still holds inside a split.
	g.SetHealth(nu, healthy)
	g.SetHealth(old, healthy)
	first := g.Pick(nil)
	for range 100 {
		m := g.Pick(first)
		if m == nil || m == first {
			t.Fatalf("picked %v while excluding %v", m, first.Target())
		}
		m.Release()
	}
	first.Release()
}

func TestSplitSurvivesRegistrationChanges(t *testing.T) {
	g := newGroup(t, nil, Options{})
	old := target(1)
	g.Register(old)
	g.SetHealth(old, healthy)
	nu := target(2)
	// The split names a target before it is registered, as a deployment
	// does between launch and registration.
	g.SetSplit([]string{nu.ID}, 100)
	if got := counts(g, 100); got[old] != 100 {
		t.Fatalf("new target not registered yet: picks %v; want all on old", got)
	}
	g.Register(nu)
	g.SetHealth(nu, healthy)
	if got := counts(g, 100); got[nu] != 100 {
		t.Fatalf("percent 100: picks %v; want all on the new target", got)
	}
}

func TestPickWithoutSplitDoesNotAllocate(t *testing.T) {
	g := newGroup(t, nil, Options{})
	for i := range 3 {
		g.Register(target(i))
		g.SetHealth(target(i), healthy)
	}
	pick := func() { g.Pick(nil).Release() }
	if n := testing.AllocsPerRun(1000, pick); n != 0 {
		t.Fatalf("Pick without a split allocates %v times; want 0", n)
	}
	g.SetSplit([]string{target(0).ID}, 10)
	if n := testing.AllocsPerRun(1000, pick); n != 0 {
		t.Fatalf("Pick with a split allocates %v times; want 0", n)
	}
}

func BenchmarkPick(b *testing.B) {
	for _, name := range []string{"no split", "split"} {
		b.Run(name, func(b *testing.B) {
			tg := config.DefaultTargetGroup
			tg.Name, tg.Port = "web", 8000
			g, err := New(tg, Options{})
			if err != nil {
				b.Fatal(err)
			}
			for i := range 4 {
				g.Register(target(i))
				g.SetHealth(target(i), healthy)
			}
			if name == "split" {
				g.SetSplit([]string{target(3).ID}, 10)
			}
			b.ReportAllocs()
			for b.Loop() {
				g.Pick(nil).Release()
			}
		})
	}
}
