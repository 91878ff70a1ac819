package kube

import (
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/sched"
)

func TestKueueObjects(t *testing.T) {
	q, err := sched.LoadQueues("../sched/testdata/queues.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Kueue(q, map[string]Flavor{"h100": {NodeSelector: map[string]string{"gpu": "h100"}}}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{
		"kind: ResourceFlavor\nmetadata:\n  labels:\n    app.kubernetes.io/managed-by: reckon\n  name: h100\nspec:\n  nodeLabels:\n    gpu: h100\n",
		"name: reckon-reentry",
		"- borrowingLimit: \"28\"\n        name: nvidia.com/gpu\n        nominalQuota: \"14\"",
		"- lendingLimit: \"6\"\n        name: nvidia.com/gpu\n        nominalQuota: \"14\"",
		"- name: cpu\n        nominalQuota: 112000m",
		"name: memory\n        nominalQuota: 921600Mi",
		"weight: \"2\"",
		"kind: LocalQueue\nmetadata:\n  labels:\n    app.kubernetes.io/managed-by: reckon\n  name: vision\n  namespace: reckon\nspec:\n  clusterQueue: reckon-vision\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n---\n"); n != 1+4+4-1 {
		t.Errorf("%d documents, want 9 (1 flavor, 4 cluster queues, 4 local queues)", n+1)
	}
	if strings.Contains(out, "borrowingLimit: 112") || strings.Contains(out, "Inf") {
		t.Errorf("an unlimited resource was written as a limit:\n%s", out)
	}
}
