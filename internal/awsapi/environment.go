package awsapi

import (
	"context"
	"time"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/fleet"
	"github.com/elbow-lb/elbow/internal/monitor"
	"github.com/elbow-lb/elbow/internal/targetgroup"
)

// Environment is what the API services read and change: the running
// environment (package environment implements it). The services never
// keep their own copy of anything it holds.
type Environment interface {
	// Config is the configuration the environment runs; callers must not
	// change it.
	Config() *config.Config
	// Update applies change to a copy of the running configuration,
	// validates the result as elbow validate does, applies it live, and
	// writes it back to the file it came from. A config.Errors error
	// names what is invalid; the environment is then unchanged.
	Update(ctx context.Context, change func(c *config.Config) error) error
	// Group is a running target group by name, nil when there is none.
	Group(name string) *targetgroup.Group
	// Monitor holds enhanced health and the events.
	Monitor() *monitor.Monitor
	// Instances are the fleet's instances, nil when the environment
	// registers targets that run elsewhere.
	Instances() []fleet.InstanceStatus
	// InstanceLog is the last lines of an instance's logs.
	InstanceLog(id string, lines int) ([]string, bool)
	// Started is when the environment started (CreatedTime, DateCreated).
	Started() time.Time
}
