package pipeline

import (
	"strings"
	"testing"
)

func TestCheckpointRequestCheck(t *testing.T) {
	for _, c := range []struct {
		req  CheckpointRequest
		name string // the checkpoint after Check
		err  string
	}{
		{CheckpointRequest{Model: "m", RunID: "r", Checkpoint: "30"}, "checkpoint/epoch-0030", ""},
		{CheckpointRequest{Model: "m", RunID: "r", Checkpoint: "checkpoint/epoch-0007"}, "checkpoint/epoch-0007", ""},
		{CheckpointRequest{Model: "m", RunID: "r", Checkpoint: "30", Alias: "champion", Why: "before it overfit"}, "checkpoint/epoch-0030", ""},
		{CheckpointRequest{Model: "m", RunID: "r", Checkpoint: "30", Alias: "champion", Why: " "}, "", "reason"},
		{CheckpointRequest{Model: "m", Checkpoint: "30"}, "", "required"},
		{CheckpointRequest{RunID: "r", Checkpoint: "30"}, "", "required"},
	} {
		r := c.req
		err := r.Check()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: %v, want %q", c.req, err, c.err)
			}
			continue
		}
		if err != nil || r.Checkpoint != c.name {
			t.Errorf("%+v: %q, %v", c.req, r.Checkpoint, err)
		}
	}
}
