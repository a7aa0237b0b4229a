package awsapi

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Params are a call's parameters, or a structure's inside them.
type Params struct {
	v      url.Values
	prefix string // "" for the call, "Targets.member.1." for a member
}

// NewParams wraps a parsed form.
func NewParams(v url.Values) Params { return Params{v: v} }

// Has tells whether the parameter (or any member of it) was sent.
func (p Params) Has(name string) bool {
	key := p.prefix + name
	if _, ok := p.v[key]; ok {
		return true
	}
	for k := range p.v {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// String is the parameter's value, "" when absent.
func (p Params) String(name string) string { return p.v.Get(p.prefix + name) }

// Int reads an integer parameter: ok is false when absent; a value that is
// not an integer is a ValidationError.
func (p Params) Int(name string) (n int, ok bool, err error) {
	s := p.String(name)
	if !p.Has(name) {
		return 0, false, nil
	}
	n, err = strconv.Atoi(s)
	if err != nil {
		return 0, true, Validation("Value '%s' at '%s' failed to satisfy constraint: Member must be a number", s, lowerFirst(name))
	}
	return n, true, nil
}

// Bool reads true or false.
func (p Params) Bool(name string) (b, ok bool, err error) {
	if !p.Has(name) {
		return false, false, nil
	}
	switch s := p.String(name); s {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	default:
		return false, true, Validation("Value '%s' at '%s' failed to satisfy constraint: Member must be true or false", s, lowerFirst(name))
	}
}

// Struct is the structure name (Matcher.HttpCode is Struct("Matcher").String("HttpCode")).
func (p Params) Struct(name string) Params { return Params{v: p.v, prefix: p.prefix + name + "."} }

// List is a list of strings, Name.member.1, Name.member.2, ... in order
// (an empty list is sent as "Name=").
func (p Params) List(name string) []string {
	idx := p.indexes(name)
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		out = append(out, p.v.Get(fmt.Sprintf("%s%s.member.%d", p.prefix, name, i)))
	}
	return out
}

// Structs is a list of structures, Name.member.N.Field.
func (p Params) Structs(name string) []Params {
	idx := p.indexes(name)
	out := make([]Params, 0, len(idx))
	for _, i := range idx {
		out = append(out, Params{v: p.v, prefix: fmt.Sprintf("%s%s.member.%d.", p.prefix, name, i)})
	}
	return out
}

// Map is Name.entry.N.key / Name.entry.N.value.
func (p Params) Map(name string) map[string]string {
	out := map[string]string{}
	base := p.prefix + name + ".entry."
	for k, vs := range p.v {
		rest, ok := strings.CutPrefix(k, base)
		if !ok || !strings.HasSuffix(rest, ".key") {
			continue
		}
		n := strings.TrimSuffix(rest, ".key")
		out[vs[0]] = p.v.Get(base + n + ".value")
	}
	return out
}

// indexes are the member numbers sent for name, in order.
func (p Params) indexes(name string) []int {
	base := p.prefix + name + ".member."
	seen := map[int]bool{}
	for k := range p.v {
		rest, ok := strings.CutPrefix(k, base)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil && n > 0 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
