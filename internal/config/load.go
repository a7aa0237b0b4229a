package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads, decodes and validates the config file at path. On failure the
// error is Errors: every problem, each with file, line, key, value and what
// is allowed.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse is Load for bytes already read; file names them in errors.
func Parse(file string, data []byte) (*Config, error) { return parse(file, data, false) }

// LoadOverlay reads an elbow.yaml that sits beside an Elastic Beanstalk
// project: the project names the app (its Procfile or platform), so the
// file may leave out instances' command, sample_app and targets; everything
// else is validated as Load does. The result is a base for the project's
// settings (ebproject's Apply), not an environment by itself.
func LoadOverlay(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	return ParseOverlay(path, data)
}

// ParseOverlay is LoadOverlay for bytes already read.
func ParseOverlay(file string, data []byte) (*Config, error) { return parse(file, data, true) }

func parse(file string, data []byte, overlay bool) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{yamlSyntaxError(file, data, err)}
	}
	if len(root.Content) == 0 {
		return nil, Errors{{File: file, Msg: "the file is empty: it needs at least instances (see elbow.yaml in the README)"}}
	}
	doc := root.Content[0]
	lines := map[string]int{}
	var errs Errors
	// Unknown keys are reported together with the validation errors of the
	// rest, so that one run of `elbow validate` shows everything.
	walkKeys(doc, reflect.TypeOf(Config{}), "", lines, &errs, file)

	c := &Config{File: file, overlay: overlay}
	c.preset()
	if err := doc.Decode(c); err != nil {
		return nil, append(errs, decodeErrors(file, err, lines)...)
	}
	c.File = file
	c.applyDefaults()
	if err := c.finish(); err != nil {
		var es Errors
		errors.As(err, &es)
		for _, e := range es {
			e.File = file
			e.Line = lineOf(e.Key, lines)
		}
		errs = append(errs, es...)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return c, nil
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

// yamlSyntaxError names the line of a syntax error. yaml.v3 reports the line
// where the construct around the problem began (its "context mark") when it
// has one, and for parser errors counts it from 0, so that a tab on line 4
// after a value on line 3 is reported on line 3, and a key at a wrong
// indentation one line early (gopkg.in/yaml.v3 decode.go, parser.fail;
// https://github.com/go-yaml/yaml/issues/205). The
// problem's own line is not exposed, so it is found as the first line at
// which the file, cut there, already fails with the same problem.
func yamlSyntaxError(file string, data []byte, err error) *FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.Replace(msg, m[0], "", 1)
	}
	if l := problemLine(data, msg); l > 0 {
		line = l
	}
	if strings.Contains(msg, "tab character") {
		msg += " (YAML indents with spaces, not tabs)"
	}
	return &FieldError{File: file, Line: line, Msg: "not valid YAML: " + msg}
}

// problemLine returns the smallest n such that the first n lines of data fail
// to parse with problem, or 0.
func problemLine(data []byte, problem string) int {
	end := 0
	for n := 1; end < len(data); n++ {
		i := bytes.IndexByte(data[end:], '\n')
		if i < 0 {
			end = len(data)
		} else {
			end += i + 1
		}
		var root yaml.Node
		err := yaml.Unmarshal(data[:end], &root)
		if err == nil {
			continue
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			msg = strings.Replace(msg, m[0], "", 1)
		}
		if msg == problem {
			return n
		}
	}
	return 0
}

var unmarshalMsg = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+) `(.*)` into (.+)$")

// decodeErrors rewrites yaml's type errors to name the key and what is expected.
func decodeErrors(file string, err error, lines map[string]int) Errors {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return Errors{{File: file, Msg: err.Error()}}
	}
	keyAt := map[int]string{}
	for k, l := range lines {
		if cur, ok := keyAt[l]; !ok || len(k) > len(cur) {
			keyAt[l] = k
		}
	}
	var es Errors
	for _, m := range te.Errors {
		fe := &FieldError{File: file, Msg: m}
		if p := unmarshalMsg.FindStringSubmatch(m); p != nil {
			fe.Line, _ = strconv.Atoi(p[1])
			fe.Key = keyAt[fe.Line]
			fe.Msg = fmt.Sprintf("%q is a %s: want %s", p[3], yamlKind(p[2]), goKind(p[4]))
		} else if l := yamlLine.FindStringSubmatch(m); l != nil {
			fe.Line, _ = strconv.Atoi(l[1])
			fe.Key = keyAt[fe.Line]
			fe.Msg = strings.Replace(m, l[0], "", 1)
		}
		es = append(es, fe)
	}
	return es
}

func yamlKind(tag string) string {
	switch tag {
	case "str":
		return "string"
	case "int":
		return "number"
	case "seq":
		return "list"
	case "map":
		return "mapping"
	}
	return tag
}

func goKind(t string) string {
	switch {
	case strings.HasPrefix(t, "int"):
		return "a whole number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map"):
		return "a mapping"
	}
	return "a " + t
}

// walkKeys records the line of every key and reports keys the schema does not
// have, with the keys it does.
func walkKeys(n *yaml.Node, t reflect.Type, path string, lines map[string]int, errs *Errors, file string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case t == reflect.TypeOf(Command{}):
		return
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if path != "" {
				key = path + "." + k.Value
			}
			lines[key] = k.Line
			ft, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, &FieldError{File: file, Line: k.Line, Key: key,
					Msg: fmt.Sprintf("unknown key %q; allowed here: %s", k.Value, strings.Join(sortedKeys(fields), ", "))})
				continue
			}
			walkKeys(v, ft, key, lines, errs, file)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			key := fmt.Sprintf("%s[%d]", path, i)
			lines[key] = item.Line
			walkKeys(item, t.Elem(), key, lines, errs, file)
		}
	}
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// lineOf finds the line of key, or of its nearest ancestor present in the file.
func lineOf(key string, lines map[string]int) int {
	for key != "" {
		if l, ok := lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// Marshal renders c as YAML (for `elbow validate --print`).
func Marshal(c *Config) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
