package ebproject

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// jsonNode parses a JSON document into the yaml.Node tree the YAML files
// give, with lines computed from the decoder's offsets, so that one walk
// reads both (duplicate keys included, which encoding/json would merge).
func jsonNode(data []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	line := func() int { return bytes.Count(data[:dec.InputOffset()], []byte("\n")) + 1 }
	var value func(tok json.Token) (*yaml.Node, error)
	value = func(tok json.Token) (*yaml.Node, error) {
		l := line()
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: l}
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return nil, err
					}
					k, ok := kt.(string)
					if !ok {
						return nil, fmt.Errorf("line %d: object key %v is not a string", line(), kt)
					}
					kn := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k, Line: line()}
					vt, err := dec.Token()
					if err != nil {
						return nil, err
					}
					vn, err := value(vt)
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, kn, vn)
				}
				_, err := dec.Token()
				return n, err
			case '[':
				n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: l}
				for dec.More() {
					vt, err := dec.Token()
					if err != nil {
						return nil, err
					}
					vn, err := value(vt)
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, vn)
				}
				_, err := dec.Token()
				return n, err
			}
			return nil, fmt.Errorf("line %d: unexpected %v", l, t)
		case string:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t, Line: l}, nil
		case json.Number:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: t.String(), Line: l}, nil
		case bool:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t), Line: l}, nil
		case nil:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "", Line: l}, nil
		}
		return nil, fmt.Errorf("line %d: unexpected token %v", l, tok)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(data, err)
	}
	n, err := value(tok)
	if err != nil {
		return nil, jsonErr(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("line %d: text after the JSON document", line())
	}
	return n, nil
}

// jsonErr names the line of a syntax error.
func jsonErr(data []byte, err error) error {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Errorf("line %d: %w", bytes.Count(data[:se.Offset], []byte("\n"))+1, err)
	}
	return err
}
