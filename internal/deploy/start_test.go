package deploy

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestStartReturnsOnceStarted: Start returns nil once the update runs (its
// end reaches done), and a second Start while it runs gets AWS's refusal,
// as does an invalid policy, without done being called twice.
func TestStartReturnsOnceStarted(t *testing.T) {
	e := newFakeEnv(t, 2, v1)
	d, _ := newDeployer(e)
	release := make(chan struct{})
	e.onEvent = func(msg string) {
		if msg == "Deploying new version to instance(s)." {
			<-release
		}
	}
	ended := make(chan error, 2)
	if err := d.Start(context.Background(), func(ctx context.Context) error { return d.Deploy(ctx, v2, policy(Rolling)) },
		func(err error) { ended <- err }); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !d.Running() {
		t.Fatal("Start returned before the update runs")
	}
	err := d.Start(context.Background(), func(ctx context.Context) error { return d.Deploy(ctx, v2, policy(AllAtOnce)) },
		func(err error) { ended <- err })
	if !errors.Is(err, ErrUpdateInProgress) {
		t.Errorf("second Start: %v; want ErrUpdateInProgress", err)
	}
	close(release)
	select {
	case err := <-ended:
		if err != nil && !errors.Is(err, ErrUpdateInProgress) {
			t.Errorf("an update ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the update did not end")
	}
	bad := policy(Rolling)
	bad.BatchSize = 0
	if err := d.Start(context.Background(), func(ctx context.Context) error { return d.Deploy(ctx, v2, bad) }, func(error) {}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Start of an invalid policy: %v; want ErrInvalid", err)
	}
}

// TestSetGate: the gate of the next update is the one set.
func TestSetGate(t *testing.T) {
	e := newFakeEnv(t, 1, v1)
	d, _ := newDeployer(e)
	d.SetGate(Gate{Checks: 3, Window: 3 * time.Second})
	if g := d.currentGate(); g.Checks != 3 || g.Window != 3*time.Second {
		t.Errorf("gate %+v after SetGate", g)
	}
	d.SetGate(Gate{})
	if g := d.currentGate(); g != DefaultGate {
		t.Errorf("gate %+v after SetGate of nothing; want Beanstalk's %+v", g, DefaultGate)
	}
}
