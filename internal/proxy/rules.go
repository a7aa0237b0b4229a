package proxy

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/elbow-lb/elbow/internal/config"
	"github.com/elbow-lb/elbow/internal/proxy/httpbytes"
)

// route returns the action for r and the matched priority (0: default action).
func (t *table) route(r *http.Request, client netip.Addr) (*action, int) {
next:
	for i := range t.rules {
		rl := &t.rules[i]
		for _, c := range rl.conditions {
			if !c(r, client) {
				continue next
			}
		}
		return rl.action, rl.priority
	}
	return t.def, 0
}

func (l *Listener) compile(cl config.Listener, groups Groups) (*table, error) {
	def, err := l.compileAction(cl.DefaultAction, groups)
	if err != nil {
		return nil, fmt.Errorf("default action: %w", err)
	}
	t := &table{def: def}
	for _, cr := range cl.Rules {
		a, err := l.compileAction(cr.Action, groups)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", cr.Priority, err)
		}
		rl := rule{priority: cr.Priority, action: a}
		for _, c := range cr.Conditions {
			cs, err := compileCondition(c)
			if err != nil {
				return nil, fmt.Errorf("rule %d: %w", cr.Priority, err)
			}
			rl.conditions = append(rl.conditions, cs...)
		}
		t.rules = append(t.rules, rl)
	}
	slices.SortFunc(t.rules, func(a, b rule) int { return a.priority - b.priority })
	return t, nil
}

func compileCondition(c config.Condition) ([]condition, error) {
	var out []condition
	if len(c.HostHeader) > 0 {
		pats := lowerAll(c.HostHeader)
		out = append(out, func(r *http.Request, _ netip.Addr) bool {
			host := hostOnly(r.Host)
			return anyMatch(pats, host, true)
		})
	}
	if len(c.PathPattern) > 0 {
		pats := c.PathPattern
		out = append(out, func(r *http.Request, _ netip.Addr) bool {
			return anyMatch(pats, r.URL.Path, false)
		})
	}
	if len(c.HTTPRequestMethod) > 0 {
		methods := c.HTTPRequestMethod
		out = append(out, func(r *http.Request, _ netip.Addr) bool {
			return slices.Contains(methods, r.Method)
		})
	}
	if c.HTTPHeader != nil {
		name := http.CanonicalHeaderKey(c.HTTPHeader.HTTPHeaderName)
		pats := lowerAll(c.HTTPHeader.Values)
		out = append(out, func(r *http.Request, _ netip.Addr) bool {
			for _, v := range r.Header[name] {
				if anyMatch(pats, v, true) {
					return true
				}
			}
			return false
		})
	}
	if len(c.QueryString) > 0 {
		pairs := make([]config.QueryStringPair, len(c.QueryString))
		for i, q := range c.QueryString {
			pairs[i] = config.QueryStringPair{Key: strings.ToLower(q.Key), Value: strings.ToLower(q.Value)}
		}
		out = append(out, func(r *http.Request, _ netip.Addr) bool {
			if r.URL.RawQuery == "" {
				return false
			}
			q := r.URL.Query()
			for _, p := range pairs {
				for k, vs := range q {
					if p.Key != "" && !wildcardMatch(p.Key, k, true) {
						continue
					}
					for _, v := range vs {
						if wildcardMatch(p.Value, v, true) {
							return true
						}
					}
				}
			}
			return false
		})
	}
	if len(c.SourceIP) > 0 {
		prefixes := make([]netip.Prefix, 0, len(c.SourceIP))
		for _, s := range c.SourceIP {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("source_ip %q: %w", s, err)
			}
			prefixes = append(prefixes, p)
		}
		out = append(out, func(_ *http.Request, client netip.Addr) bool {
			for _, p := range prefixes {
				if p.Contains(client) {
					return true
				}
			}
			return false
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("condition has no field set")
	}
	return out, nil
}

func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if wildcardMatch(p, s, fold) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against pattern, where * matches any run of
// characters (slashes included) and ? exactly one. With fold the pattern
// must be lower case and s is compared case-insensitively (ASCII). It runs
// in O(len(pattern)*len(s)) at worst: one backtrack point, the latest *.
func wildcardMatch(pattern, s string, fold bool) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i] || (fold && pattern[p] == httpbytes.Lower(s[i]))):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
