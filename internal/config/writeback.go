package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrNoFile is WriteBack's answer for an environment that has no file (the
// built-in default, or a Beanstalk project without elbow.yaml): a change
// lives only in the running environment. elbow does not create elbow.yaml
// on its own, since a file that appears would then rank above the project's
// .ebextensions at the next `elbow up`.
var ErrNoFile = errors.New("the environment has no elbow.yaml: the change lives only in the running environment")

// WriteBack rewrites the YAML file at path so that it describes after,
// changing only the keys whose values differ between before and after.
// Comments, key order, quoting and blank lines of the rest stay as they
// were. Target groups (and the groups of a forward) are matched by name,
// listeners by protocol and port, rules by priority, other list items by
// position. The file is replaced atomically (a temporary file in the same
// folder, renamed over it) and keeps its mode. The rewritten file is
// checked before it is written: it must load, and agree with after on
// every key it agreed with before on.
func WriteBack(path string, before, after *Config) error {
	if path == "" {
		return ErrNoFile
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", path, ErrNoFile)
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	out, err := rewrite(path, data, before, after)
	if err != nil {
		return err
	}
	if bytes.Equal(out, data) {
		return nil
	}
	return writeAtomic(path, out)
}

// rewrite is WriteBack on the file's bytes.
func rewrite(path string, data []byte, before, after *Config) ([]byte, error) {
	old, err := Parse(path, data)
	if err != nil {
		return nil, fmt.Errorf("%s does not load, so it is left as it is: %w", path, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	doc := root.Content[0] // Parse refused an empty file
	if doc.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: the document is not a mapping", path)
	}
	t := reflect.TypeOf(Config{})
	writeStruct(doc, t, reflect.ValueOf(before).Elem(), reflect.ValueOf(after).Elem())

	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	out := restoreBlankLines(data, &root, b.Bytes())

	next, err := Parse(path, out)
	if err != nil {
		return nil, fmt.Errorf("the rewritten %s would not load, so it is left as it is: %w", path, err)
	}
	// The file may already disagree with the running config (a Beanstalk
	// project's elbow.yaml holds only what overrides the project); what it
	// agreed on, and every changed key, it must describe after the write.
	pre := fileDiff(old, before)
	changed := map[string]bool{}
	for _, c := range fileDiff(before, after) {
		changed[c.Path] = true
	}
	var wrong []string
	for _, c := range fileDiff(next, after) {
		if changed[c.Path] || !under(pre, c.Path) {
			wrong = append(wrong, c.Path)
		}
	}
	if len(wrong) > 0 {
		return nil, fmt.Errorf("the rewritten %s would not describe the running environment (%s), so it is left as it is", path, strings.Join(wrong, ", "))
	}
	return out, nil
}

// fileDiff is Diff without the changes a file cannot show: Diff tells an
// absent command from an empty list (`command: []`, what Marshal writes
// for none), which both mean no command.
func fileDiff(a, b *Config) []Change {
	var out []Change
	for _, c := range Diff(a, b) {
		if c.Field == "Instances.Command" && a.Instances.Command.IsZero() && b.Instances.Command.IsZero() {
			continue
		}
		out = append(out, c)
	}
	return out
}

// under reports whether path is one of the changes or under one.
func under(changes []Change, path string) bool {
	for _, c := range changes {
		if path == c.Path || strings.HasPrefix(path, c.Path+".") || strings.HasPrefix(path, c.Path+"[") {
			return true
		}
	}
	return false
}

// writeAtomic replaces path with data: readers (the `elbow up` file
// watcher, an editor) see the old file or the new one, never a part.
func writeAtomic(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	done = true
	return nil
}

// writeStruct edits the mapping m, which describes a value of struct type
// t that was a, so that it describes b.
func writeStruct(m *yaml.Node, t reflect.Type, a, b reflect.Value) {
	absent := absentOf(t)
	for i := range t.NumField() {
		f := t.Field(i)
		key := keyOf(f)
		if key == "" {
			continue
		}
		fa, fb := a.Field(i), b.Field(i)
		if sameDeep(fa, fb) {
			continue
		}
		v := valueOf(m, key)
		ft := f.Type
		switch {
		case isBlock(ft):
			if v == nil || v.Kind != yaml.MappingNode {
				n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				writeStruct(n, ft, fa, fb)
				if len(n.Content) > 0 {
					setKey(m, t, key, n)
				}
				continue
			}
			writeStruct(v, ft, fa, fb)
		case ft.Kind() == reflect.Pointer && isBlock(ft.Elem()):
			switch {
			case fb.IsNil():
				deleteKey(m, key)
			case fa.IsNil() || v == nil || v.Kind != yaml.MappingNode:
				setKey(m, t, key, build(ft.Elem(), fb.Elem()))
			default:
				writeStruct(v, ft.Elem(), fa.Elem(), fb.Elem())
			}
		case ft.Kind() == reflect.Slice && isBlock(ft.Elem()):
			writeList(m, t, key, v, ft.Elem(), fa, fb)
		case ft.Kind() == reflect.Map && v != nil && v.Kind == yaml.MappingNode:
			writeMap(v, fa, fb)
		default:
			if fb.IsZero() && same(fb, absent.Field(i)) {
				deleteKey(m, key)
				continue
			}
			setKey(m, t, key, encode(fb))
		}
	}
}

// build is a new mapping describing b: the keys whose values differ from
// those of an absent block.
func build(t reflect.Type, b reflect.Value) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	writeStruct(n, t, absentOf(t), b)
	return n
}

// absentOf is the value a block of type t has when the file leaves all of
// its keys out: its defaults (health_check's, a target group's), or zero.
func absentOf(t reflect.Type) reflect.Value {
	p := reflect.New(t)
	if t == reflect.TypeOf(Config{}) {
		p.Interface().(*Config).preset()
		return p.Elem()
	}
	if u, ok := p.Interface().(yaml.Unmarshaler); ok {
		_ = u.UnmarshalYAML(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"})
	}
	return p.Elem()
}

// itemKey names a list item by what identifies it, or nil for lists whose
// items are known by position.
func itemKey(t reflect.Type) func(v reflect.Value) string {
	switch t {
	case reflect.TypeOf(Listener{}):
		return func(v reflect.Value) string {
			l := v.Interface().(Listener)
			l.applyDefaults()
			return l.Protocol + " " + strconv.Itoa(l.Port)
		}
	case reflect.TypeOf(Rule{}):
		return func(v reflect.Value) string { return strconv.Itoa(int(v.FieldByName("Priority").Int())) }
	}
	if named(t) {
		return func(v reflect.Value) string { return v.FieldByName("Name").String() }
	}
	return nil
}

// keyFields are the keys written first in an item added to a file that
// had the item only by default, so that it is matched to the same item.
func keyFields(t reflect.Type) []string {
	switch t {
	case reflect.TypeOf(Listener{}):
		return []string{"protocol", "port"}
	case reflect.TypeOf(Rule{}):
		return []string{"priority"}
	}
	if named(t) {
		return []string{"name"}
	}
	return nil
}

// writeList edits the list under key (v, nil when absent) from a to b.
func writeList(m *yaml.Node, t reflect.Type, key string, v *yaml.Node, et reflect.Type, a, b reflect.Value) {
	if b.Len() == 0 {
		deleteKey(m, key)
		return
	}
	whole := func() *yaml.Node {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range b.Len() {
			seq.Content = append(seq.Content, build(et, b.Index(i)))
		}
		return seq
	}
	// A list the file leaves out is all defaults (one listener, one group):
	// present, it replaces them, so it says everything.
	if v == nil || v.Kind != yaml.SequenceNode {
		setKey(m, t, key, whole())
		return
	}
	id := itemKey(et)
	// A rule is known by its priority, but a priority changed (the API's
	// SetRulePriorities) is the same rule: rules pair by position, as Diff
	// pairs them, when none was added or removed.
	if et == reflect.TypeOf(Rule{}) && a.Len() == b.Len() {
		id = nil
	}
	if id == nil {
		if a.Len() == b.Len() && len(v.Content) == a.Len() {
			for i, item := range v.Content {
				if item.Kind != yaml.MappingNode {
					v.Content[i] = build(et, b.Index(i))
					continue
				}
				writeStruct(item, et, a.Index(i), b.Index(i))
			}
			return
		}
		v.Content = whole().Content
		return
	}
	index := func(l reflect.Value) map[string]int {
		out := map[string]int{}
		for i := range l.Len() {
			out[id(l.Index(i))] = i
		}
		return out
	}
	ia, ib := index(a), index(b)
	inFile := map[string]bool{}
	var items []*yaml.Node
	for _, item := range v.Content {
		fv := reflect.New(et)
		if item.Decode(fv.Interface()) != nil {
			items = append(items, item)
			continue
		}
		k := id(fv.Elem())
		inFile[k] = true
		j, inB := ib[k]
		i, inA := ia[k]
		switch {
		case !inB && inA:
			continue // removed
		case !inB:
			items = append(items, item)
		case item.Kind != yaml.MappingNode:
			items = append(items, build(et, b.Index(j)))
		case inA:
			writeStruct(item, et, a.Index(i), b.Index(j))
			items = append(items, item)
		default:
			writeStruct(item, et, fv.Elem(), b.Index(j))
			items = append(items, item)
		}
	}
	for j := range b.Len() {
		k := id(b.Index(j))
		if inFile[k] {
			continue
		}
		i, inA := ia[k]
		if !inA {
			items = append(items, build(et, b.Index(j)))
			continue
		}
		// In a but not in the file: a Beanstalk project's item, which
		// elbow.yaml overrides key by key.
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, kf := range keyFields(et) {
			for fi := range et.NumField() {
				if keyOf(et.Field(fi)) == kf {
					setKey(n, et, kf, encode(b.Index(j).Field(fi)))
				}
			}
		}
		writeStruct(n, et, a.Index(i), b.Index(j))
		items = append(items, n)
	}
	v.Content = items
}

// writeMap edits a mapping of strings (instances.env) key by key.
func writeMap(v *yaml.Node, a, b reflect.Value) {
	for _, k := range a.MapKeys() {
		if !b.MapIndex(k).IsValid() {
			deleteKey(v, k.String())
		}
	}
	for _, k := range sortedMapKeys(b) {
		nb := b.MapIndex(k)
		if na := a.MapIndex(k); na.IsValid() && reflect.DeepEqual(na.Interface(), nb.Interface()) {
			continue
		}
		setKey(v, nil, k.String(), encode(nb))
	}
}

func sortedMapKeys(m reflect.Value) []reflect.Value {
	keys := m.MapKeys()
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j].String() < keys[j-1].String(); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// sameDeep compares two values of any type as the file sees them: an
// empty list or map is an absent one (a config copied through Marshal and
// Parse has `rules: []` where the file had nothing).
func sameDeep(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameDeep(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameDeep(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameDeep(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !sameDeep(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	case reflect.String:
		return a.String() == b.String()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int64, reflect.Int32:
		return a.Int() == b.Int()
	case reflect.Float64, reflect.Float32:
		return a.Float() == b.Float()
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// encode is a value's node as yaml.v3 writes it (a string that would read
// as a number is double-quoted).
func encode(v reflect.Value) *yaml.Node {
	if k := v.Kind(); k == reflect.Float64 || k == reflect.Float32 {
		return floatNode(v.Float())
	}
	var n yaml.Node
	if err := n.Encode(v.Interface()); err != nil {
		// The config's own types all encode (Marshal relies on it).
		panic("config: encoding " + v.Type().String() + ": " + err.Error())
	}
	return &n
}

// valueOf is the value node of key in mapping m, or nil (also when m is
// nil or no mapping).
func valueOf(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setKey sets key in mapping m to n. An existing scalar is changed in place,
// keeping its comments and its quotes; a new key goes where the schema (t)
// puts it among the keys present, or last.
func setKey(m *yaml.Node, t reflect.Type, key string, n *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		old := m.Content[i+1]
		if old.Kind == yaml.ScalarNode && n.Kind == yaml.ScalarNode {
			style := n.Style
			if n.Tag == "!!str" && old.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				style = old.Style
			}
			old.Value, old.Tag, old.Style = n.Value, n.Tag, style
			return
		}
		if old.Kind == n.Kind && n.Kind == yaml.SequenceNode {
			keepStyle(old, n)
		}
		n.HeadComment, n.LineComment, n.FootComment = old.HeadComment, old.LineComment, old.FootComment
		m.Content[i+1] = n
		return
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	pos := len(m.Content)
	if at := fieldIndex(t, key); at >= 0 {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if fieldIndex(t, m.Content[i].Value) > at {
				pos = i
				break
			}
		}
	}
	m.Content = append(m.Content[:pos], append([]*yaml.Node{k, n}, m.Content[pos:]...)...)
}

// keepStyle gives the new list n the look of the list old it replaces: a
// flow list (["/api/*"]) stays one, and its strings keep their quotes.
func keepStyle(old, n *yaml.Node) {
	n.Style |= old.Style & yaml.FlowStyle
	quote := yaml.Style(0)
	for _, item := range old.Content {
		if item.Kind == yaml.ScalarNode && item.Tag == "!!str" {
			quote = item.Style & (yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle)
		}
	}
	for _, item := range n.Content {
		if item.Kind == yaml.ScalarNode && item.Tag == "!!str" && quote != 0 {
			item.Style = quote
		}
	}
}

// deleteKey removes key and its value from mapping m.
func deleteKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// fieldIndex is the position of key among t's keys, or -1.
func fieldIndex(t reflect.Type, key string) int {
	if t == nil {
		return -1
	}
	n := 0
	for i := range t.NumField() {
		k := keyOf(t.Field(i))
		if k == "" {
			continue
		}
		if k == key {
			return n
		}
		n++
	}
	return -1
}
