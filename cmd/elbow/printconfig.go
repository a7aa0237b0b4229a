package main

import (
	"bytes"
	"fmt"

	"github.com/elbow-lb/elbow/internal/ebproject"

	"github.com/elbow-lb/elbow/internal/config"
	"gopkg.in/yaml.v3"
)

// printableConfig renders c as a user would write it: every value in
// force, defaults included, and no key left unset (null, "", [] or {}),
// each of which loads the same as the key left out. What it prints loads
// back to the same config.
func printableConfig(c *config.Config) ([]byte, error) { return printableWithSources(c, nil) }

// printableWithSources prints c with, beside each value a Beanstalk
// project set or defaulted, where it came from (file:line, or the
// default's name) as a comment.
func printableWithSources(c *config.Config, prov ebproject.Provenance) ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(c); err != nil {
		return nil, fmt.Errorf("printing the config: %w", err)
	}
	dropUnset(&doc)
	if prov != nil {
		annotate(&doc, "", prov)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("printing the config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("printing the config: %w", err)
	}
	return b.Bytes(), nil
}

// dropUnset removes, depth first, the mapping entries whose value is unset,
// so that a block left empty by the removal goes too.
func dropUnset(n *yaml.Node) {
	for _, c := range n.Content {
		dropUnset(c)
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !unset(n.Content[i+1]) {
			kept = append(kept, n.Content[i], n.Content[i+1])
		}
	}
	n.Content = kept
}

func unset(v *yaml.Node) bool {
	switch v.Kind {
	case yaml.ScalarNode:
		return v.Tag == "!!null" || (v.Tag == "!!str" && v.Value == "")
	case yaml.SequenceNode, yaml.MappingNode:
		return len(v.Content) == 0
	}
	return false
}

// annotate puts each key's source, when prov has one, in its line comment.
func annotate(n *yaml.Node, path string, prov ebproject.Provenance) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if src, ok := prov[p]; ok {
				if v.Kind == yaml.ScalarNode {
					v.LineComment = "# " + src.String()
				} else {
					k.LineComment = "# " + src.String()
				}
			}
			annotate(v, p, prov)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			annotate(c, fmt.Sprintf("%s[%d]", path, i), prov)
		}
	}
}
