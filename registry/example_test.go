package registry_test

import (
	"fmt"

	"github.com/reckon-ml/reckon/registry"
)

// Every front end reads a --model argument the same way: a model file, or
// a reference to a registered version.
func ExampleParseRef() {
	for _, s := range []string{"tumor", "tumor@champion", "reentry:3"} {
		r, err := registry.ParseRef(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-15s name %s, alias %q, version %d\n", r, r.Name, r.Alias, r.Version)
	}
	_, err := registry.ParseRef("reentry:latest")
	fmt.Println(err)
	// Output:
	// tumor           name tumor, alias "", version 0
	// tumor@champion  name tumor, alias "champion", version 0
	// reentry:3       name reentry, alias "", version 3
	// "reentry:latest": want NAME:VERSION with a version number >= 1
}
