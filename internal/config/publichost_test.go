package config

import (
	"strings"
	"testing"
)

// public_host is unset unless given, so that the diagnosis can tell "no
// public name" from a name and use the listener's address instead of a
// made-up example.com; a given name is kept, a malformed one refused.
func TestPublicHostUnsetByDefault(t *testing.T) {
	const base = "instances:\n  sample_app: true\n"
	c, err := Parse("f.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.LoadBalancer.PublicHost != "" {
		t.Errorf("public_host defaults to %q, want unset", c.LoadBalancer.PublicHost)
	}
	c, err = Parse("f.yaml", []byte(base+"load_balancer:\n  public_host: www.shop.test\n"))
	if err != nil || c.LoadBalancer.PublicHost != "www.shop.test" {
		t.Errorf("public_host www.shop.test: %v %q", err, c.LoadBalancer.PublicHost)
	}
	_, err = Parse("f.yaml", []byte(base+"load_balancer:\n  public_host: \"www.shop.test/x\"\n"))
	if err == nil || !strings.Contains(err.Error(), "load_balancer.public_host") {
		t.Errorf("public_host with a slash: %v, want refused naming the key", err)
	}
}
