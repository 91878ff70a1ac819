package batch_test

import (
	"fmt"

	"github.com/reckon-ml/reckon/batch"
)

// Inside a Kubernetes Indexed Job each pod takes the shard its index names.
func ExampleChooseShard() {
	env := func(k string) (string, bool) {
		if k == "JOB_COMPLETION_INDEX" {
			return "2", true
		}
		return "", false
	}
	s, err := batch.ChooseShard("", 8, env)
	fmt.Println(s, err)
	s, err = batch.ChooseShard("1/4", 0, env)
	fmt.Println(s, err)
	_, err = batch.ChooseShard("1/4", 8, env)
	fmt.Println(err)
	// Output:
	// 2/8 <nil>
	// 1/4 <nil>
	// give --shard i/n or --shards n (with $JOB_COMPLETION_INDEX), not both
}
