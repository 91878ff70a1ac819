package kubetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// Config connects to the test control plane $KUBECONFIG names
// (scripts/kube-testenv up). Without one the test is skipped, saying how
// to start it, unless $RECKON_REQUIRE_KUBE says it must run.
func Config(t testing.TB) *rest.Config {
	t.Helper()
	kc := os.Getenv("KUBECONFIG")
	if kc == "" {
		if os.Getenv("RECKON_REQUIRE_KUBE") != "" {
			t.Fatal("RECKON_REQUIRE_KUBE is set but KUBECONFIG is not: start the control plane with scripts/kube-testenv up")
		}
		t.Skip("no KUBECONFIG: start a control plane with eval \"$(scripts/kube-testenv up)\"")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	// client-go's default of 5 requests a second would make the node agent,
	// four requests a pod, the slowest part of a scale test.
	rc.QPS, rc.Burst = 500, 1000
	return rc
}

// Clientset is a client of the test control plane, ensuring namespace
// exists.
func Clientset(t testing.TB, namespace string) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(Config(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return cs
}

// Kueue skips the test unless the test control plane runs Kueue's
// controller manager (scripts/kube-testenv up exports KUBE_TESTENV_KUEUE),
// failing instead when $RECKON_REQUIRE_KUBE says it must run.
func Kueue(t testing.TB) {
	t.Helper()
	Config(t)
	if os.Getenv("KUBE_TESTENV_KUEUE") == "" {
		if os.Getenv("RECKON_REQUIRE_KUBE") != "" {
			t.Fatal("RECKON_REQUIRE_KUBE is set but Kueue is not running: see scripts/kube-testenv up's log")
		}
		t.Skip("Kueue is not running on the test control plane (scripts/kube-testenv up starts it)")
	}
}

// Apply creates the Kueue objects reckon queues export --kueue writes;
// the cluster-scoped ClusterQueues are removed when the test ends (the
// ResourceFlavors, shared by name, stay).
func Apply(t testing.TB, objects []byte) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(Config(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, doc := range bytes.Split(objects, []byte("---\n")) {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			t.Fatal(err)
		}
		gvr := schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: strings.ToLower(u.GetKind()) + "s"}
		var r dynamic.ResourceInterface = dyn.Resource(gvr)
		if ns := u.GetNamespace(); ns != "" {
			r = dyn.Resource(gvr).Namespace(ns)
		}
		if _, err := r.Create(ctx, &u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		if u.GetKind() == "ClusterQueue" {
			name := u.GetName()
			t.Cleanup(func() { r.Delete(context.Background(), name, metav1.DeleteOptions{}) })
		}
	}
}

// Namespace is a fresh namespace on the test control plane (removed when
// the test ends) holding the store Secret reckon-store with secret as its
// data, and a node agent that runs its pods' reckon as binary with env.
func Namespace(t testing.TB, prefix string, secret map[string]string, binary string, env []string) (kubernetes.Interface, string) {
	t.Helper()
	ns := fmt.Sprintf("%s-%s-%d", prefix, time.Now().Format("150405"), seq.Add(1))
	cs := Clientset(t, ns)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	_, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "reckon-store"}, StringData: secret}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(ctx, cs, "node-"+ns, ns, map[string]string{"reckon": binary}, env); err != nil {
		t.Fatal(err)
	}
	return cs, ns
}

var seq atomic.Int64
