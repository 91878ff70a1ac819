package kubetest

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestExpand follows the kubelet's rules for $(VAR) in commands and args
// (https://kubernetes.io/docs/tasks/inject-data-application/define-interdependent-environment-variables/).
func TestExpand(t *testing.T) {
	vars := map[string]string{"NS": "reckon", "EMPTY": ""}
	for in, want := range map[string]string{
		"--namespace=$(NS)": "--namespace=reckon",
		"$(NS)/$(NS)":       "reckon/reckon",
		"$(MISSING)":        "$(MISSING)",
		"$$(NS)":            "$(NS)",
		"$(EMPTY)x":         "x",
		"$(NS":              "$(NS",
		"plain $ sign":      "plain $ sign",
	} {
		if got := expand(in, vars); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRemap(t *testing.T) {
	a := &Agent{root: "/agent"}
	vms := []corev1.VolumeMount{{Name: "jobs", MountPath: "/var/lib/reckon/jobs"}, {Name: "lib", MountPath: "/var/lib"}, {Name: "tmp", MountPath: "/tmp"}}
	dirs := map[string]string{"jobs": "/agent/pvc-jobs", "lib": "/agent/pvc-lib"} // tmp: an emptyDir, the host's own
	for in, want := range map[string]string{
		"/var/lib/reckon/jobs":             "/agent/pvc-jobs",
		"/var/lib/reckon/jobs/x/p.yaml":    "/agent/pvc-jobs/x/p.yaml",
		"--job-dir=/var/lib/reckon/jobs":   "--job-dir=/agent/pvc-jobs",
		"/var/lib/other":                   "/agent/pvc-lib/other",
		"/var/library":                     "/var/library",
		"/tmp/x":                           "/tmp/x",
		"/agent/pvc-jobs/already":          "/agent/pvc-jobs/already",
		"reckon-jobs:/var/lib/reckon/jobs": "reckon-jobs:/var/lib/reckon/jobs",
	} {
		if got := a.remap(in, vms, dirs); got != want {
			t.Errorf("remap(%q) = %q, want %q", in, got, want)
		}
	}
}
