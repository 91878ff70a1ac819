package yamlfile

import (
	"strings"
	"testing"
)

func TestDecodeAndFind(t *testing.T) {
	var v struct {
		Name  string `yaml:"name"`
		Items []struct {
			Kind string `yaml:"kind"`
		} `yaml:"items"`
	}
	root, err := Decode("f.yaml", "test", strings.NewReader("name: x\nitems:\n  - kind: a\n  - kind: b\n"), &v)
	if err != nil || v.Name != "x" || len(v.Items) != 2 {
		t.Fatalf("%+v %v", v, err)
	}
	for _, c := range []struct {
		path []any
		line int
		ok   bool
	}{
		{nil, 1, true},
		{[]any{"name"}, 1, true},
		{[]any{"items", 1, "kind"}, 4, true},
		{[]any{"items", 1, "colour"}, 4, false},
		{[]any{"items", 5}, 2, false},
		{[]any{"nope"}, 1, false},
	} {
		if line, ok := Find(root, c.path...); line != c.line || ok != c.ok {
			t.Errorf("Find(%v) = %d, %v; want %d, %v", c.path, line, ok, c.line, c.ok)
		}
	}
	for in, want := range map[string]string{
		"":                              "f.yaml: empty test file",
		"name: x\ncolour: 1":            "line 2",
		"a\x00":                         "a NUL byte at offset 1",
		strings.Repeat("#", MaxBytes+1): "larger than 1 MiB",
	} {
		if _, err := Decode("f.yaml", "test", strings.NewReader(in), &v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.20q: %v, want %q", in, err, want)
		}
	}
}
