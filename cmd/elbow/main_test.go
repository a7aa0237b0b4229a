package main

import (
	"os"
	"testing"

	"github.com/elbow-lb/elbow/internal/fleet"
)

// TestMain lets the test binary stand in for elbow: the fleet re-executes it
// as each instance's supervisor, the sample app re-executes it with
// "sample-app", and end-to-end tests run it as `elbow up` with
// ELBOW_TEST_AS_MAIN=1, so that they drive the real program without a build step.
func TestMain(m *testing.M) {
	fleet.MaybeRunShim()
	if os.Getenv("ELBOW_TEST_IMDS_CLIENT") == "1" {
		os.Exit(imdsClientMain())
	}
	if os.Getenv("ELBOW_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}
