package config

// The text side of write-back: blank lines yaml.v3 drops, and values as a
// reload warning shows them.

import (
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// restoreBlankLines puts back the blank lines of orig that yaml.v3 drops
// when it encodes a node tree (it keeps comments, not blank lines:
// https://github.com/go-yaml/yaml/issues/627). edited is orig's tree after
// the changes; its nodes that came from orig still carry orig's lines, and
// encoded read back gives the same tree with the new lines: each blank run
// goes back before the line that followed it, found through the next node.
func restoreBlankLines(orig []byte, edited *yaml.Node, encoded []byte) []byte {
	var again yaml.Node
	if yaml.Unmarshal(encoded, &again) != nil {
		return encoded
	}
	moved := map[int]int{} // line in orig -> line in encoded
	var pair func(a, b *yaml.Node)
	pair = func(a, b *yaml.Node) {
		if a.Line > 0 {
			if _, ok := moved[a.Line]; !ok {
				moved[a.Line] = b.Line
			}
		}
		if len(a.Content) == len(b.Content) {
			for i := range a.Content {
				pair(a.Content[i], b.Content[i])
			}
		}
	}
	pair(edited, &again)

	src := strings.Split(string(orig), "\n")
	out := strings.Split(string(encoded), "\n")
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	insert := map[int]int{} // line in encoded -> blank lines before it
	for i := 0; i < len(src); i++ {
		if !blank(src[i]) {
			continue
		}
		run := 0
		for i < len(src) && blank(src[i]) {
			run++
			i++
		}
		if i >= len(src) {
			break // trailing blank lines: the encoder ends with one newline
		}
		// src[i] (line i+1) follows the run: a node's line, or a comment
		// above the node at the first line of orig that has one.
		next := i
		for next < len(src) && strings.HasPrefix(strings.TrimSpace(src[next]), "#") {
			if _, ok := moved[next+1]; ok {
				break
			}
			next++
		}
		to, ok := moved[next+1]
		if !ok {
			continue
		}
		at := to - (next - i) // 1-based line in encoded
		if at < 1 || at > len(out) || strings.TrimSpace(out[at-1]) != strings.TrimSpace(src[i]) && next != i {
			continue
		}
		insert[at] = run
	}
	// A section added to a file whose sections stand apart gets a blank
	// line before it too.
	if doc, done := edited.Content[0], again.Content[0]; strings.Contains(string(orig), "\n\n") && len(doc.Content) == len(done.Content) {
		for i := 2; i < len(doc.Content); i += 2 {
			if doc.Content[i].Line == 0 && insert[done.Content[i].Line] == 0 {
				insert[done.Content[i].Line] = 1
			}
		}
	}
	var b strings.Builder
	for i, l := range out {
		for range insert[i+1] {
			b.WriteString("\n")
		}
		b.WriteString(l)
		if i < len(out)-1 {
			b.WriteString("\n")
		}
	}
	return []byte(b.String())
}

// ValueAt is the value at a Diff path (target_groups[web].health_check.matcher,
// listeners[0].rules) as the file would show it, in YAML's flow form; false
// when c has nothing there (a group it does not have).
func ValueAt(c *Config, path string) (string, bool) {
	v := reflect.ValueOf(c).Elem()
	for path != "" {
		var seg string
		seg, path, _ = strings.Cut(path, ".")
		key, rest, _ := strings.Cut(seg, "[")
		if v.Kind() != reflect.Struct {
			return "", false
		}
		var ok bool
		for i := range v.NumField() {
			if keyOf(v.Type().Field(i)) == key {
				v, ok = v.Field(i), true
				break
			}
		}
		if !ok {
			return "", false
		}
		for rest != "" {
			var at string
			at, rest, _ = strings.Cut(rest, "]")
			rest = strings.TrimPrefix(rest, "[")
			for v.Kind() == reflect.Pointer && !v.IsNil() {
				v = v.Elem()
			}
			if v.Kind() != reflect.Slice {
				return "", false
			}
			found := false
			for i := range v.Len() {
				item := v.Index(i)
				if named(item.Type()) && item.FieldByName("Name").String() == at || !named(item.Type()) && strconv.Itoa(i) == at {
					v, found = item, true
					break
				}
			}
			if !found {
				return "", false
			}
		}
		for v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
	}
	n := encode(v)
	flow(n)
	out, err := yaml.Marshal(n)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(out)), true
}

func flow(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style |= yaml.FlowStyle
	}
}
