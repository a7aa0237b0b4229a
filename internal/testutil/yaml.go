package testutil

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// AppEnv is an elbow.yaml for end-to-end tests of a user's app: Command on
// Min instances, one target group "web" checked every 5 s with 2 checks
// either way, one HTTP listener, enhanced health that reacts within one
// 10 s evaluation, and the console on a free port.
type AppEnv struct {
	Name                          string
	Command                       []string
	Min                           int
	Env                           map[string]string
	AppPort, IMDSPort, ListenPort int
}

func (e AppEnv) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\ninstances:\n  command: [", e.Name)
	for i, a := range e.Command {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", a)
	}
	fmt.Fprintf(&b, "]\n  port: %d\n  min: %d\n", e.AppPort, e.Min)
	if len(e.Env) > 0 {
		b.WriteString("  env:\n")
		for _, k := range slices.Sorted(maps.Keys(e.Env)) {
			fmt.Fprintf(&b, "    %s: %q\n", k, e.Env[k])
		}
	}
	fmt.Fprintf(&b, `  metadata_options:
    port: %d
target_groups:
  - name: web
    health_check:
      interval: 5
      timeout: 2
      healthy_threshold: 2
      unhealthy_threshold: 2
listeners:
  - port: %d
    default_action:
      target_group: web
enhanced_health:
  evaluation_period: 10
  transition_evaluations: 1
  launch_grace_period: 0
console:
  address: 127.0.0.1:0
`, e.IMDSPort, e.ListenPort)
	return b.String()
}
