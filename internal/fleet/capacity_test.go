package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/elbow-lb/elbow/internal/fleet"
)

func TestLaunchWithGoesBeyondMaxAndLaunchStillRefuses(t *testing.T) {
	marker := newMarker(t)
	port := freePort(t)
	f := startFleet(t, fleet.Config{
		Command: []string{selfExe(t)},
		Env:     []string{testAppEnv + "=sleeper", markerEnv + "=" + marker},
		Port:    port,
		Version: "app-1",
		Min:     1,
		Max:     1,
	})
	ctx := context.Background()
	if _, err := f.Launch(ctx); !errors.Is(err, fleet.ErrAtMax) {
		t.Fatalf("Launch at Max: %v, want ErrAtMax", err)
	}
	next := f.Template()
	next.Version, next.Deployment = "app-2", 2
	if _, err := f.LaunchWith(ctx, next, false); !errors.Is(err, fleet.ErrAtMax) {
		t.Fatalf("LaunchWith within Max at Max: %v, want ErrAtMax", err)
	}
	extra, err := f.LaunchWith(ctx, next, true)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Status(extra.ID)
	if st.State != fleet.StateRunning || st.Version != "app-2" || st.Deployment != 2 || st.Index != 2 || st.Port != port {
		t.Errorf("instance beyond Max: %+v", st)
	}
	if _, err := f.Launch(ctx); !errors.Is(err, fleet.ErrAtMax) {
		t.Errorf("Launch beyond Max: %v, want ErrAtMax", err)
	}
	if got := f.Template(); got.Version != "app-1" {
		t.Errorf("LaunchWith changed the fleet's template to %q", got.Version)
	}
	if n := len(markedProcesses(marker)); n != 4 {
		t.Errorf("%d processes run, want 4 (two instances)", n)
	}
	if f.Desired() != 1 {
		t.Errorf("Desired() = %d after LaunchWith, want 1", f.Desired())
	}
}

func TestSetDesiredLaunchesAndScalesInNewestFirstWithinBounds(t *testing.T) {
	marker := newMarker(t)
	rec := &recorder{}
	f := startFleet(t, fleet.Config{
		Command: []string{selfExe(t)},
		Env:     []string{testAppEnv + "=sleeper", markerEnv + "=" + marker},
		Port:    freePort(t),
		Version: "app-1",
		Min:     1,
		Max:     3,
		Hooks: fleet.Hooks{
			Terminating: func(_ context.Context, inst fleet.Instance) { rec.call("terminating " + inst.ID) },
		},
	})
	ctx := context.Background()
	if f.Desired() != 1 {
		t.Fatalf("Desired() = %d at start, want Min 1", f.Desired())
	}
	next := f.Template()
	next.Version, next.Deployment = "app-2", 2
	f.SetTemplate(next)
	if err := f.SetDesired(ctx, 3); err != nil {
		t.Fatal(err)
	}
	all := f.Instances()
	if len(all) != 3 || f.Desired() != 3 {
		t.Fatalf("after SetDesired(3): %d instances, desired %d", len(all), f.Desired())
	}
	if all[0].Version != "app-1" || all[1].Version != "app-2" || all[2].Version != "app-2" {
		t.Errorf("versions %q %q %q, want the new template on the launched instances", all[0].Version, all[1].Version, all[2].Version)
	}

	for _, n := range []int{0, 4, 7} {
		err := f.SetDesired(ctx, n)
		want := "fleet: desired capacity " + itoa(n) + " is outside the group's min 1 and max 3"
		if err == nil || err.Error() != want {
			t.Errorf("SetDesired(%d) = %v, want %q", n, err, want)
		}
	}
	if len(f.Instances()) != 3 || f.Desired() != 3 {
		t.Errorf("a refused SetDesired changed the fleet")
	}

	if err := f.SetDesired(ctx, 1); err != nil {
		t.Fatal(err)
	}
	want := []string{"terminating " + all[2].ID, "terminating " + all[1].ID}
	if got := rec.callsSnapshot(); !slices.Equal(got, want) {
		t.Errorf("SetDesired(1) terminated %q, want newest first %q", got, want)
	}
	if live := liveIDs(f); !slices.Equal(live, []string{all[0].ID}) || f.Desired() != 1 {
		t.Errorf("after SetDesired(1): live %q desired %d", live, f.Desired())
	}

	// New bounds clamp the desired capacity, which the fleet then reaches.
	if err := f.SetCapacity(ctx, 2, 3); err != nil {
		t.Fatal(err)
	}
	if f.Desired() != 2 || len(liveIDs(f)) != 2 {
		t.Errorf("after SetCapacity(2, 3): desired %d, %d live", f.Desired(), len(liveIDs(f)))
	}
	if err := f.SetDesired(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if err := f.SetCapacity(ctx, 1, 1); err != nil {
		t.Fatal(err)
	}
	if f.Desired() != 1 || len(liveIDs(f)) != 1 {
		t.Errorf("after SetCapacity(1, 1): desired %d, %d live", f.Desired(), len(liveIDs(f)))
	}
}

func liveIDs(f *fleet.Fleet) []string {
	var ids []string
	for _, st := range f.Instances() {
		if st.State != fleet.StateTerminated {
			ids = append(ids, st.ID)
		}
	}
	return ids
}

func itoa(n int) string { return fmt.Sprint(n) }

// TestAnInstanceBeingTerminatedDoesNotCountAgainstMax: while the only
// instance of a fleet of Max 1 drains, a replacement launches (on another
// address), as Auto Scaling launches a replacement while the old instance
// terminates.
func TestAnInstanceBeingTerminatedDoesNotCountAgainstMax(t *testing.T) {
	marker := newMarker(t)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	f := startFleet(t, fleet.Config{
		Command: []string{selfExe(t)},
		Env:     []string{testAppEnv + "=sleeper", markerEnv + "=" + marker},
		Port:    freePort(t),
		Min:     1,
		Max:     1,
		Hooks: fleet.Hooks{Terminating: func(context.Context, fleet.Instance) {
			entered <- struct{}{}
			<-release
		}},
	})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before StopAll, which waits for the hook
	old := f.Instances()[0]
	terminated := make(chan error, 1)
	go func() { terminated <- f.Terminate(context.Background(), old.ID) }()
	<-entered
	repl, err := f.Launch(context.Background())
	if err != nil {
		t.Fatalf("Launch while the only instance terminates: %v", err)
	}
	if repl.Index != 2 {
		t.Errorf("replacement has index %d, want 2 (index 1 is still held)", repl.Index)
	}
	if _, err := f.Launch(context.Background()); !errors.Is(err, fleet.ErrAtMax) {
		t.Errorf("a second Launch: %v, want ErrAtMax", err)
	}
	unblock()
	if err := <-terminated; err != nil {
		t.Fatal(err)
	}
}
