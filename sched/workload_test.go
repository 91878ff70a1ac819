package sched

import (
	"strings"
	"testing"
)

func TestLoadWorkload(t *testing.T) {
	w, q, err := LoadWorkload("testdata/workload.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Streams) != 5 || w.Streams[0].Flavor != "h100" || w.Period.Hours() != 720 || len(w.Teams) != 4 || q.File != "testdata/queues.yaml" {
		t.Fatalf("workload %+v", w)
	}
	res, err := Simulate(w)
	if err != nil {
		t.Fatal(err)
	}
	// 9 submissions a month of each team's pipeline (every 84 h), all run.
	for _, ts := range res.Teams {
		if ts.Jobs < 9 {
			t.Errorf("%s finished %d jobs", ts.Team, ts.Jobs)
		}
	}
}

func TestWorkloadErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"period: 1h\nstreams: []\n", "w.yaml:1: queues: name the queues file"},
		{"queues: nope.yaml\nperiod: 1h\n", "w.yaml:1: queues: open testdata/nope.yaml"},
		{"queues: queues.yaml\nperiod: 1h\nstreams:\n  - {team: x, gpus: 1, duration: 1h, every: 1h}\n", `w.yaml:4: streams[0]: team "x" has no queue`},
		{"queues: queues.yaml\nperiod: 1h\nstreams:\n  - {team: tumor, gpus: 57, duration: 1h, every: 1h}\n", "streams[0]: gpus must be in [1, 56]"},
		{"queues: queues.yaml\nperiod: 1h\nstreams:\n  - {team: tumor, gpus: 1, duration: 1h, every: 0s}\n", "streams[0]: every must be > 0"},
		{"queues: queues.yaml\nstreams:\n  - {team: tumor, gpus: 1, duration: 1h, every: 1h}\n", "period: give the simulated time"},
		{"queues: queues.yaml\nperiod: 1h\nstream: []\n", "field stream not found"},
	} {
		_, _, err := DecodeWorkload("w.yaml", strings.NewReader(tc.yaml), "testdata")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
