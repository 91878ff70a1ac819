package store_test

import (
	"fmt"

	"github.com/reckon-ml/reckon/store"
)

func ExampleDiff() {
	a := store.Run{ID: "a", Name: "train/gbdt", Params: map[string]string{"depth": "6"}, Last: map[string]float64{"roc_auc": 0.991}}
	b := store.Run{ID: "b", Name: "train/gbdt", Params: map[string]string{"depth": "8"}, Last: map[string]float64{"roc_auc": 0.993}}
	for _, r := range store.Diff(a, b).Rows {
		if r.Differs {
			fmt.Printf("%s: %s -> %s\n", r.Key, r.A, r.B)
		}
	}
	// Output:
	// param depth: 6 -> 8
	// metric roc_auc: 0.991 -> 0.993
}
