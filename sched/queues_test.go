package sched

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestLoadQueues(t *testing.T) {
	q, err := LoadQueues("testdata/queues.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Teams) != 4 || q.HalfLife != 168*time.Hour || q.Capacity()["h100"].GPUs != 56 || q.PriorityClasses["urgent"] != 1000 {
		t.Errorf("queues %+v", q)
	}
	pt := q.PolicyTeams()
	if b := pt[0].Borrowing["h100"]; b.GPUs != 28 || !math.IsInf(b.CPU, 1) || !math.IsInf(b.MemoryGB, 1) || pt[2].weight() != 2 || pt[3].weight() != 1 {
		t.Errorf("policy teams %+v (a borrowing limit limits only what it names)", pt)
	}
	if l := pt[1].Lending["h100"]; l.GPUs != 6 || !math.IsInf(l.CPU, 1) {
		t.Errorf("tumor lends %+v, want 6 GPUs and any CPU", l)
	}
}

// TestQueuesErrors: each mistake is named with file:line.
func TestQueuesErrors(t *testing.T) {
	base := "flavors: [h100]\nteams:\n  - name: a\n    nominal: {h100: {gpus: 8}}\n"
	for _, c := range []struct {
		yaml, want string
	}{
		{"", "empty queues file"},
		{"flavors: [h100]\nteams:\n  - name: a\n    nominal: {h100: {gpus: 8}}\n    wieght: 2\n", "line 5"},
		{"flavors: [h100]\nteams:\n  - name: a\n    nominal: {a100: {gpus: 8}}\n", `q.yaml:4: team a: nominal: unknown flavor "a100" (flavors: h100)`},
		{base + "  - name: a\n    nominal: {h100: {gpus: 8}}\n", `q.yaml:5: team "a" again`},
		{"flavors: [h100]\nteams:\n  - name: a\n    weight: -1\n    nominal: {h100: {gpus: 8}}\n", "q.yaml:4: team a: weight"},
		{"flavors: [h100]\nteams:\n  - name: a\n    nominal: {h100: {gpus: -8}}\n", "q.yaml:4: team a: nominal.h100: negative"},
		{"teams:\n  - name: a\n    nominal: {h100: {gpus: 8}}\n", "flavors"},
		{base + "    lending: {h100: {gpus: 9}}\n", "q.yaml:5: team a: lending.h100: a team lends at most its nominal quota"},
		{"flavors: [h100]\nhalf_life: soon\n" + base[len("flavors: [h100]\n"):], "q.yaml"},
	} {
		_, err := DecodeQueues("q.yaml", strings.NewReader(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
	}
}

func TestDefaultQueues(t *testing.T) {
	q := DefaultQueues()
	if len(q.Teams) != 1 || q.Teams[0].Name != "default" || q.Capacity()["cpu"].CPU < 1 {
		t.Errorf("default queues %+v", q)
	}
}

func TestDefaultQueuesForTeams(t *testing.T) {
	q := &Queues{Flavors: []string{"cpu", "gpu"}, Teams: []QueueTeam{{Name: "default",
		Nominal: map[string]Resources{"cpu": {CPU: 8, MemoryGB: 32}, "gpu": {GPUs: 5}}}}}
	got := q.ForTeams([]string{"tumor", "reentry", "tumor"})
	if len(got.Teams) != 2 || got.Teams[0].Name != "reentry" || got.Teams[1].Name != "tumor" {
		t.Fatalf("teams %+v", got.Teams)
	}
	if c := got.Capacity(); c["cpu"].CPU != 8 || c["gpu"].GPUs != 5 || c["cpu"].MemoryGB != 32 {
		t.Errorf("capacity %+v, want the machine's", c)
	}
	if a, b := got.Teams[0].Nominal["gpu"].GPUs, got.Teams[1].Nominal["gpu"].GPUs; a != 3 || b != 2 {
		t.Errorf("GPUs split %d/%d, want 3/2", a, b)
	}
	file := &Queues{File: "q.yaml", Teams: q.Teams}
	if file.ForTeams([]string{"tumor"}) != file {
		t.Error("a queues file was rewritten")
	}
}
