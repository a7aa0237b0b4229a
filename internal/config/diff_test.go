package config

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// decidable lists the fields of root that need a policy entry, walked
// independently of Diff: every field that is a file key, except a struct of
// keys (whose own fields are listed); a pointer to such a struct or a list of
// them is listed and walked into.
func decidable(root reflect.Type) []string {
	var out []string
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		if seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || tag == "-" || tag == "" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Struct && hasKeys(ft) {
				walk(ft)
				continue
			}
			out = append(out, t.Name()+"."+f.Name)
			if (ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice) && ft.Elem().Kind() == reflect.Struct && hasKeys(ft.Elem()) {
				walk(ft.Elem())
			}
		}
	}
	walk(root)
	sort.Strings(out)
	return out
}

func hasKeys(t reflect.Type) bool {
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); t.Field(i).IsExported() && tag != "" && tag != "-" {
			return true
		}
	}
	return false
}

// undecided are the fields of root without an entry in table, and the
// entries of table that name no field.
func undecided(root reflect.Type, table map[string]Apply) (missing, stale []string) {
	fields := decidable(root)
	for _, f := range fields {
		if _, ok := table[f]; !ok {
			missing = append(missing, f)
		}
	}
	for k := range table {
		if !slices.Contains(fields, k) {
			stale = append(stale, k)
		}
	}
	sort.Strings(stale)
	return missing, stale
}

// TestDiffCoversEveryField: each key of the file has a decision, live or
// restart, and the table names no field that is gone. Adding a key to the
// config structs fails here until policy says how a running environment
// takes it.
func TestDiffCoversEveryField(t *testing.T) {
	missing, stale := undecided(reflect.TypeOf(Config{}), policy)
	for _, f := range missing {
		t.Errorf("%s has no entry in config.policy (diff.go): decide whether a running environment applies it (Live) or needs a restart (Restart)", f)
	}
	for _, f := range stale {
		t.Errorf("config.policy has %s, which is no field of the config", f)
	}
	if n := len(decidable(reflect.TypeOf(Config{}))); n < 80 {
		t.Errorf("only %d fields walked: the walk misses the config's blocks", n)
	}

	// The check itself catches a key added without a decision, in a block
	// and in a list's items.
	type newBlock struct {
		Config `yaml:",inline"`
		Deploy struct {
			Batch int `yaml:"batch"`
		} `yaml:"deploy"`
		Hooks []struct {
			Name string `yaml:"name"`
		} `yaml:"hooks"`
		internal int
	}
	missing, _ = undecided(reflect.TypeOf(newBlock{}), policy)
	want := []string{".Batch", "newBlock.Hooks", ".Name"}
	for _, w := range want {
		if !slices.ContainsFunc(missing, func(m string) bool { return strings.HasSuffix(m, w) }) {
			t.Errorf("a new key %s is not reported: %v", w, missing)
		}
	}
}

func loadDiffBase(t *testing.T) *Config {
	t.Helper()
	c, err := Parse("elbow.yaml", []byte(`
instances:
  command: ["./app"]
  min: 2
  env: {A: "1"}
console:
  address: 127.0.0.1:8099
  credentials: {access_key_id: AKIAIOSFODNN7EXAMPLE, secret_access_key: wJalrXUtnFEMI}
target_groups:
  - name: web
    health_check: {path: /health}
  - name: api
listeners:
  - port: 8080
    default_action: {target_group: web}
    rules:
      - priority: 1
        conditions: [{path_pattern: ["/api/*"]}]
        action: {target_group: api}
`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDiff(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *Config)
		want   []string // "path field apply"
	}{
		{"nothing", func(c *Config) {}, nil},
		// Pointers and maps compare by what they hold: a second parse of the
		// same file is no change (the credentials are a pointer).
		{"same credentials, new pointer", func(c *Config) { cr := *c.Console.Credentials; c.Console.Credentials = &cr }, nil},
		{"env dropped", func(c *Config) { c.Instances.Env = nil }, []string{"instances.env Instances.Env update"}},
		{"instance count", func(c *Config) { c.Instances.Min, c.Instances.Max = 3, 5 },
			[]string{"instances.min Instances.Min live", "instances.max Instances.Max live"}},
		{"command", func(c *Config) { c.Instances.Command = Command{Shell: "./app"} }, []string{"instances.command Instances.Command update"}},
		{"metadata", func(c *Config) { c.Instances.MetadataOptions.HTTPTokens = "required" },
			[]string{"instances.metadata_options.http_tokens MetadataOptions.HTTPTokens update"}},
		{"health check", func(c *Config) { c.TargetGroups[0].HealthCheck.Interval = 10 },
			[]string{"target_groups[web].health_check.interval HealthCheck.Interval live"}},
		{"slow start", func(c *Config) { c.TargetGroups[1].SlowStart = 30 },
			[]string{"target_groups[api].slow_start TargetGroup.SlowStart live"}},
		{"algorithm", func(c *Config) { c.TargetGroups[1].LoadBalancingAlgorithmType = "least_outstanding_requests" },
			[]string{"target_groups[api].load_balancing_algorithm_type TargetGroup.LoadBalancingAlgorithmType live"}},
		{"group added", func(c *Config) { c.TargetGroups = append(c.TargetGroups, TargetGroup{Name: "new"}) },
			[]string{"target_groups[new] Config.TargetGroups live"}},
		{"groups reordered", func(c *Config) { c.TargetGroups[0], c.TargetGroups[1] = c.TargetGroups[1], c.TargetGroups[0] }, nil},
		{"group renamed", func(c *Config) { c.TargetGroups[1].Name = "api2" },
			[]string{"target_groups[api] Config.TargetGroups live", "target_groups[api2] Config.TargetGroups live"}},
		{"listener added", func(c *Config) { c.Listeners = append(c.Listeners, DefaultListener("web")) },
			[]string{"listeners Config.Listeners live"}},
		{"rule condition", func(c *Config) { c.Listeners[0].Rules[0].Conditions[0].PathPattern = []string{"/v2/*"} },
			[]string{"listeners[0].rules[0].conditions[0].path_pattern Condition.PathPattern live"}},
		{"fixed response set", func(c *Config) {
			c.Listeners[0].DefaultAction = Action{Type: "fixed-response", FixedResponse: &FixedResponseAction{StatusCode: "200"}}
		}, []string{"listeners[0].default_action.type Action.Type live", "listeners[0].default_action.target_group Action.TargetGroup live",
			"listeners[0].default_action.fixed_response Action.FixedResponse live"}},
		{"load balancer", func(c *Config) { c.LoadBalancer.AccessLogs.Path = "access.log" },
			[]string{"load_balancer.access_logs.path AccessLogs.Path live"}},
		{"load balancer attributes", func(c *Config) {
			c.LoadBalancer.IdleTimeout, c.LoadBalancer.DropInvalidHeaderFields = 5, true
			c.LoadBalancer.DesyncMitigationMode, c.LoadBalancer.AccessLogs.Enabled = "strictest", true
		}, []string{"load_balancer.idle_timeout LoadBalancer.IdleTimeout live",
			"load_balancer.access_logs.enabled AccessLogs.Enabled live",
			"load_balancer.drop_invalid_header_fields LoadBalancer.DropInvalidHeaderFields live",
			"load_balancer.desync_mitigation_mode LoadBalancer.DesyncMitigationMode live"}},
		{"public host", func(c *Config) { c.LoadBalancer.PublicHost = "www.example.org" },
			[]string{"load_balancer.public_host LoadBalancer.PublicHost restart"}},
		{"console address", func(c *Config) { c.Console.Address = "127.0.0.1:9000" }, []string{"console.address Console.Address restart"}},
		{"secret", func(c *Config) { cr := *c.Console.Credentials; cr.SecretAccessKey = "x"; c.Console.Credentials = &cr },
			[]string{"console.credentials.secret_access_key ConsoleCredentials.SecretAccessKey restart"}},
		{"enhanced health", func(c *Config) { c.EnhancedHealth.CPU.Warning = 80 },
			[]string{"enhanced_health.cpu.warning Thresholds.Warning restart"}},
		{"deployment, rolling update and scaling", func(c *Config) {
			c.Deployment.Policy, c.Deployment.HealthGate.Checks = "Rolling", 3
			c.RollingUpdate.Enabled = true
			c.AutoScaling.Cooldown, c.AutoScaling.Trigger.MeasureName = 10, "RequestCount"
		}, []string{"deployment.policy Deployment.Policy live", "deployment.health_gate.checks HealthGate.Checks live",
			"rolling_update.enabled RollingUpdate.Enabled live", "auto_scaling.cooldown AutoScaling.Cooldown live",
			"auto_scaling.trigger.measure_name Trigger.MeasureName live"}},
		{"instance network", func(c *Config) { c.Instances.Network = "vpc" },
			[]string{"instances.network Instances.Network restart"}},
		{"name and region", func(c *Config) { c.Name, c.Region = "b", "eu-west-1" },
			[]string{"name Config.Name restart", "region Config.Region restart"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur, next := loadDiffBase(t), loadDiffBase(t)
			tc.change(next)
			var got []string
			for _, c := range Diff(cur, next) {
				got = append(got, c.Path+" "+c.Field+" "+c.Apply.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Diff:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestRestarts(t *testing.T) {
	cur, next := loadDiffBase(t), loadDiffBase(t)
	next.Instances.Min = 3
	next.Instances.Port = 9000
	next.TargetGroups[0].Protocol = "HTTPS"
	got := Restarts(Diff(cur, next))
	if len(got) != 1 || got[0].Path != "target_groups[web].protocol" {
		t.Errorf("Restarts: %+v", got)
	}
}

// TestUpdates: the instance settings are applied by a configuration update,
// not by a restart of elbow up, and the environment's name still needs one.
func TestUpdates(t *testing.T) {
	cur, next := loadDiffBase(t), loadDiffBase(t)
	next.Instances.Min = 3
	next.Instances.Port = 9000
	next.Instances.Env = map[string]string{"A": "b"}
	next.Name = "other"
	d := Diff(cur, next)
	got := Updates(d)
	if len(got) != 2 || got[0].Path != "instances.env" || got[1].Path != "instances.port" {
		t.Errorf("Updates: %+v", got)
	}
	if r := Restarts(d); len(r) != 1 || r[0].Path != "name" {
		t.Errorf("Restarts: %+v", r)
	}
}

// TestDiffEmptyIsAbsent: an empty map or list is no change from an absent one
// (the built-in default has env: {}, a file without env has none).
func TestDiffEmptyIsAbsent(t *testing.T) {
	cur, next := loadDiffBase(t), loadDiffBase(t)
	cur.Instances.Env, next.Instances.Env = nil, map[string]string{}
	cur.Instances.Targets, next.Instances.Targets = nil, []string{}
	cur.Listeners[0].Rules, next.Listeners[0].Rules = nil, []Rule{}
	if got := Diff(cur, next); len(got) != 0 {
		t.Errorf("Diff: %+v, want none", got)
	}
}
