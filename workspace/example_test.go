package workspace_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/reckon-ml/reckon/workspace"
)

// The embedded default: a SQLite file and a blob directory under one home.
func ExampleOpen() {
	home, err := os.MkdirTemp("", "reckon-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(home)
	ws, err := workspace.Open(context.Background(), workspace.Config{
		Store: filepath.Join(home, "reckon.db"),
		Blobs: filepath.Join(home, "blobs"),
	})
	if err != nil {
		panic(err)
	}
	defer ws.Close()
	ref, err := ws.Blobs.Put(context.Background(), []byte("hello"))
	if err != nil {
		panic(err)
	}
	models, err := ws.ListModels(context.Background())
	fmt.Println(ref.Key[:10], len(models), err)
	// Output:
	// sha256/2c/ 0 <nil>
}
