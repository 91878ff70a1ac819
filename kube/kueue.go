package kube

import (
	"fmt"
	"math"
	"strconv"

	"sigs.k8s.io/yaml"

	"github.com/reckon-ml/reckon/sched"
)

// KueueAPI is the Kueue API version the objects are written for.
const KueueAPI = "kueue.x-k8s.io/v1beta2"

// Kueue writes queues.yaml as Kueue objects, one YAML document each: a
// ResourceFlavor per flavor (with its node labels from flavors), a
// ClusterQueue per team in one cohort (nominal quota, borrowing and
// lending limits per resource and flavor, its fair-sharing weight) and a
// LocalQueue per team in namespace, named after the team, for the Jobs'
// kueue.x-k8s.io/queue-name label.
func Kueue(q *sched.Queues, flavors map[string]Flavor, namespace, cohort string) ([]byte, error) {
	if namespace == "" {
		namespace = "reckon"
	}
	if cohort == "" {
		cohort = "reckon"
	}
	var docs []any
	for _, f := range q.Flavors {
		spec := map[string]any{}
		if fl, ok := flavors[f]; ok && len(fl.NodeSelector) > 0 {
			spec["nodeLabels"] = fl.NodeSelector
		}
		docs = append(docs, object("ResourceFlavor", f, "", spec))
	}
	gpuName := func(f string) string {
		if fl, ok := flavors[f]; ok && fl.GPUResource != "" {
			return fl.GPUResource
		}
		return "nvidia.com/gpu"
	}
	for _, t := range q.Teams {
		// Kueue wants every flavor of a resource group to list the same
		// resources, so each lists cpu, memory and the GPUs.
		covered := []string{"cpu", "memory", gpuName(q.Flavors[0])}
		var fls []any
		for _, f := range q.Flavors {
			if gpuName(f) != covered[2] {
				return nil, fmt.Errorf("kueue: flavors name different GPU resources (%s, %s): one resource group cannot cover both", covered[2], gpuName(f))
			}
			n := t.Nominal[f]
			b, hasB := t.Borrowing[f]
			l, hasL := t.Lending[f]
			var res []any
			for _, r := range []struct {
				name    string
				n, b, l float64
				qty     func(float64) string
			}{
				{"cpu", n.CPU, b.CPU, l.CPU, cpuQty},
				{"memory", n.MemoryGB, b.MemoryGB, l.MemoryGB, memQty},
				{covered[2], float64(n.GPUs), gpuLimit(b.GPUs), gpuLimit(l.GPUs), intQty},
			} {
				e := map[string]any{"name": r.name, "nominalQuota": r.qty(r.n)}
				if hasB && !math.IsInf(r.b, 1) {
					e["borrowingLimit"] = r.qty(r.b)
				}
				if hasL && !math.IsInf(r.l, 1) {
					e["lendingLimit"] = r.qty(r.l)
				}
				res = append(res, e)
			}
			fls = append(fls, map[string]any{"name": f, "resources": res})
		}
		weight := t.Weight
		if weight == 0 {
			weight = 1
		}
		spec := map[string]any{
			"cohortName":        cohort,
			"namespaceSelector": map[string]any{},
			"fairSharing":       map[string]any{"weight": strconv.FormatFloat(weight, 'g', -1, 64)},
			"resourceGroups":    []any{map[string]any{"coveredResources": covered, "flavors": fls}},
			"preemption":        map[string]any{"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"},
		}
		docs = append(docs, object("ClusterQueue", cohort+"-"+t.Name, "", spec))
	}
	for _, t := range q.Teams {
		docs = append(docs, object("LocalQueue", t.Name, namespace, map[string]any{"clusterQueue": cohort + "-" + t.Name}))
	}
	var out []byte
	for i, d := range docs {
		b, err := yaml.Marshal(d)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out = append(out, "---\n"...)
		}
		out = append(out, b...)
	}
	return out, nil
}

func object(kind, name, namespace string, spec map[string]any) map[string]any {
	meta := map[string]any{"name": name, "labels": map[string]any{LabelManaged: "reckon"}}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	return map[string]any{"apiVersion": KueueAPI, "kind": kind, "metadata": meta, "spec": spec}
}

func gpuLimit(n int) float64 {
	if n >= math.MaxInt32 {
		return math.Inf(1)
	}
	return float64(n)
}

func cpuQty(v float64) string { return strconv.FormatInt(int64(math.Round(v*1000)), 10) + "m" }
func memQty(v float64) string { return strconv.FormatInt(int64(math.Round(v*1024)), 10) + "Mi" }
func intQty(v float64) string { return strconv.FormatInt(int64(v), 10) }
