// Package yamlfile reads the small YAML files users write (pipelines,
// queues): bounded, strict (unknown keys and wrong types are errors with
// yaml's line), and with the document tree kept so that the semantic
// checks after decoding can name the line of the key they refuse.
package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxBytes bounds a file: these are pages of YAML, anything larger is not
// one.
const MaxBytes = 1 << 20

// Decode reads r (named name in errors; what is the kind of file, e.g.
// "pipeline") strictly into v and returns the document's root node.
func Decode(name, what string, r io.Reader, v any) (*yaml.Node, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(body) > MaxBytes {
		return nil, fmt.Errorf("%s: larger than 1 MiB: is this a %s file?", name, what)
	}
	if i := bytes.IndexByte(body, 0); i >= 0 {
		return nil, fmt.Errorf("%s: a NUL byte at offset %d: this is not a YAML %s file", name, i, what)
	}
	dec := yaml.NewDecoder(bytes.NewReader(body))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty %s file", name, what)
		}
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(body, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &root, nil
}

// Find follows a key path (map keys as strings, sequence indexes as ints)
// from root: the line of the deepest key or item found, and whether the
// whole path exists.
func Find(root *yaml.Node, path ...any) (line int, ok bool) {
	n := root
	if n == nil {
		return 0, false
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line = n.Line
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						line, next = n.Content[i].Line, n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k >= 0 && k < len(n.Content) {
				next = n.Content[k]
				line = next.Line
			}
		}
		if next == nil {
			return line, false
		}
		n = next
	}
	return line, true
}

// Line is Find's line (0 for a nil root).
func Line(root *yaml.Node, path ...any) int {
	l, _ := Find(root, path...)
	return l
}
