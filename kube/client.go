package kube

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// client speaks to the two API groups the executor uses, core/v1 and
// batch/v1, through REST clients of a scheme holding only those. The
// generated clientset (k8s.io/client-go/kubernetes) and its informer
// factory would do the same, but link every API group Kubernetes has:
// about 25 MB of reckon's binary, for Secrets, ConfigMaps, Pods and Jobs.
type client struct {
	core, batch *rest.RESTClient
}

var (
	scheme = runtime.NewScheme()
	codecs = serializer.NewCodecFactory(scheme)
	params = runtime.NewParameterCodec(scheme)
)

func init() {
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, batchv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
}

func newClient(rc *rest.Config) (*client, error) {
	restFor := func(gv schema.GroupVersion, apiPath string) (*rest.RESTClient, error) {
		c := rest.CopyConfig(rc)
		c.GroupVersion, c.APIPath = &gv, apiPath
		c.NegotiatedSerializer = codecs.WithoutConversion()
		if c.UserAgent == "" {
			c.UserAgent = rest.DefaultKubernetesUserAgent()
		}
		return rest.RESTClientFor(c)
	}
	core, err := restFor(corev1.SchemeGroupVersion, "/api")
	if err != nil {
		return nil, err
	}
	batch, err := restFor(batchv1.SchemeGroupVersion, "/apis")
	if err != nil {
		return nil, err
	}
	return &client{core: core, batch: batch}, nil
}

// rc is the REST client of a resource: jobs are batch/v1, the rest core/v1.
func (c *client) rc(resource string) *rest.RESTClient {
	if resource == "jobs" {
		return c.batch
	}
	return c.core
}

func (c *client) get(ctx context.Context, ns, resource, name string, into runtime.Object) error {
	return c.rc(resource).Get().Namespace(ns).Resource(resource).Name(name).Do(ctx).Into(into)
}

func (c *client) create(ctx context.Context, ns, resource string, obj, into runtime.Object) error {
	return c.rc(resource).Post().Namespace(ns).Resource(resource).Body(obj).Do(ctx).Into(into)
}

func (c *client) delete(ctx context.Context, ns, resource, name string, opts metav1.DeleteOptions) error {
	return c.rc(resource).Delete().Namespace(ns).Resource(resource).Name(name).Body(&opts).Do(ctx).Error()
}

// podLog is a container's log, as kubectl logs reads it.
func (c *client) podLog(ctx context.Context, ns, pod, container string) ([]byte, error) {
	return c.core.Get().Namespace(ns).Resource("pods").Name(pod).SubResource("log").
		VersionedParams(&corev1.PodLogOptions{Container: container}, params).DoRaw(ctx)
}

// informer watches one resource of a namespace, the objects labelled
// selector only, into an indexer a lister reads.
func (c *client) informer(ns, resource, selector string, obj runtime.Object, list func() runtime.Object) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			into := list()
			err := c.rc(resource).Get().Namespace(ns).Resource(resource).VersionedParams(&o, params).Do(ctx).Into(into)
			return into, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector, o.Watch = selector, true
			return c.rc(resource).Get().Namespace(ns).Resource(resource).VersionedParams(&o, params).Watch(ctx)
		},
	}
	return cache.NewSharedIndexInformer(lw, obj, 0, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}

// OwnImage is the image of the container named container (else the first)
// of pod in namespace: reckon scheduler, running in a pod, gives its Jobs
// the image it runs itself, so an overlay that changes the image changes
// both.
func OwnImage(ctx context.Context, rc *rest.Config, namespace, pod, container string) (string, error) {
	c, err := newClient(rc)
	if err != nil {
		return "", err
	}
	var p corev1.Pod
	if err := c.get(ctx, namespace, "pods", pod, &p); err != nil {
		return "", err
	}
	for _, ct := range p.Spec.Containers {
		if ct.Name == container {
			return ct.Image, nil
		}
	}
	if len(p.Spec.Containers) == 0 {
		return "", fmt.Errorf("pod %s/%s has no containers", namespace, pod)
	}
	return p.Spec.Containers[0].Image, nil
}
