package deploy_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/reckon-ml/reckon/blobs/blobstest"
	"github.com/reckon-ml/reckon/client"
	"github.com/reckon-ml/reckon/examples"
	"github.com/reckon-ml/reckon/kube/kubetest"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/store/postgres/pgtest"
)

// TestDeploySmoke deploys the trial overlay on the test control plane and
// uses it as a team would. The node agent (kubetest) plays the kubelet:
// it runs every pod the controllers make (the server's Deployment, the
// scheduler's, the Jobs the scheduler creates) as a local process of the
// release binary, volumes as local directories. PostgreSQL and S3 are
// CI's real servers (their in-cluster StatefulSet and Deployment are left
// out: the agent cannot run their images). The tumor team's CronJob is
// run once by hand (kubectl create job --from=cronjob/...): it submits
// the team's pipeline through the server's API; the scheduler runs it as
// a Kueue-admitted Job; its champion then answers an online prediction.
func TestDeploySmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys the manifests and runs a pipeline: run without -short (.ci/run does)")
	}
	kubetest.Kueue(t)
	pg := pgtest.Fresh(t)
	s3, _ := blobstest.S3(t)
	bin := releaseBinary(t)
	c := connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	ns := "reckon-smoke-" + time.Now().Format("150405")
	objs := render(t, "overlays/trial")
	retarget(objs, ns)
	var keep []*unstructured.Unstructured
	for _, o := range objs {
		if strings.HasPrefix(o.GetName(), "reckon-postgres") || strings.HasPrefix(o.GetName(), "reckon-s3") && o.GetKind() != "NetworkPolicy" {
			continue // CI's own servers stand in
		}
		// Cluster-wide queues and flavors of names of this test's, so that
		// other tests' of the same team or flavor are not touched.
		switch o.GetKind() {
		case "ResourceFlavor":
			o.SetName(ns + "-" + o.GetName())
		case "ClusterQueue":
			o.SetName(ns + "-" + o.GetName())
			unstructured.SetNestedField(o.Object, ns, "spec", "cohortName")
			groups, _, _ := unstructured.NestedSlice(o.Object, "spec", "resourceGroups")
			for _, g := range groups {
				for _, f := range g.(map[string]any)["flavors"].([]any) {
					f.(map[string]any)["name"] = ns + "-" + f.(map[string]any)["name"].(string)
				}
			}
			unstructured.SetNestedSlice(o.Object, groups, "spec", "resourceGroups")
		case "LocalQueue":
			cq, _, _ := unstructured.NestedString(o.Object, "spec", "clusterQueue")
			unstructured.SetNestedField(o.Object, ns+"-"+cq, "spec", "clusterQueue")
		}
		keep = append(keep, o)
	}
	for _, o := range keep {
		if o.GetKind() == "Namespace" {
			if err := c.apply(ctx, o, false); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		}
	}

	// The Secrets the README has an operator create.
	token := createToken(t, bin, pg, "tumor")
	for name, data := range map[string]map[string]string{
		"reckon-store":      {"RECKON_STORE": pg, "RECKON_BLOBS": s3, "AWS_ACCESS_KEY_ID": os.Getenv("AWS_ACCESS_KEY_ID"), "AWS_SECRET_ACCESS_KEY": os.Getenv("AWS_SECRET_ACCESS_KEY")},
		"reckon-team-tumor": {"token": token},
	} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
		if _, err := c.cs.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	addr := freeAddr(t)
	agentCtx, stopAgent := context.WithCancel(context.Background())
	t.Cleanup(stopAgent)
	_, err := kubetest.StartWith(agentCtx, c.cs, "node-"+ns, ns, kubetest.Options{
		Binary: map[string]string{"reckon": bin},
		Images: map[string]string{"ghcr.io/reckon-ml/reckon": bin},
		// The server listens on a port of this machine, and the submitter
		// finds it there instead of at the Service's name.
		Override: []string{"RECKON_ADDR=" + addr, "RECKON_SERVER=http://" + addr},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range keep {
		if o.GetKind() == "Namespace" {
			continue
		}
		if err := c.apply(ctx, o, false); err != nil {
			t.Fatalf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	for _, o := range keep {
		if gvr, ok := map[string]schema.GroupVersionResource{"ClusterQueue": clusterQueues, "ResourceFlavor": resourceFlavors}[o.GetKind()]; ok {
			name := o.GetName()
			t.Cleanup(func() { c.dyn.Resource(gvr).Delete(context.Background(), name, metav1.DeleteOptions{}) })
		}
	}
	defer func() {
		if t.Failed() {
			dumpLogs(t, c, ns)
		}
	}()

	api, err := client.New("http://"+addr, token)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the server to answer", func() (bool, error) {
		_, err := api.Usage(ctx)
		return err == nil, nil
	})

	// kubectl create job --from=cronjob/reckon-submit-tumor
	cj, err := c.cs.BatchV1().CronJobs(ns).Get(ctx, "reckon-submit-tumor", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	manual := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "reckon-submit-tumor-manual", Namespace: ns,
		Annotations: map[string]string{"cronjob.kubernetes.io/instantiate": "manual"}, Labels: cj.Spec.JobTemplate.Labels},
		Spec: cj.Spec.JobTemplate.Spec}
	if _, err := c.cs.BatchV1().Jobs(ns).Create(ctx, manual, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the CronJob's submission to complete", func() (bool, error) {
		j, err := c.cs.BatchV1().Jobs(ns).Get(ctx, manual.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if j.Status.Failed > 0 {
			return false, fmt.Errorf("the submitting Job failed")
		}
		return j.Status.Succeeded > 0, nil
	})

	var job sched.Record
	seen := ""
	waitFor(t, ctx, "the tumor pipeline's job to succeed", func() (bool, error) {
		jobs, err := api.ListJobs(ctx, sched.JobQuery{Team: "tumor"})
		if err != nil || len(jobs) == 0 {
			return false, err
		}
		var states []string
		for _, j := range jobs {
			states = append(states, j.ID+" "+string(j.State))
		}
		if st := strings.Join(states, ", "); st != seen {
			t.Logf("jobs: %s", st)
			seen = st
		}
		job = jobs[0]
		switch job.State {
		case sched.Failed, sched.Cancelled:
			return false, fmt.Errorf("job %s %s", job.ID, job.State)
		}
		return job.State == sched.Succeeded, nil
	})
	// It ran as a Job of this namespace, admitted by Kueue.
	jobs, err := c.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: "reckon.dev/job=" + job.ID})
	if err != nil || len(jobs.Items) == 0 {
		t.Fatalf("no Kubernetes Job for reckon job %s: %v", job.ID, err)
	}
	if jobs.Items[0].Labels["kueue.x-k8s.io/queue-name"] != "tumor" {
		t.Errorf("Job %s is not in the tumor LocalQueue: %v", jobs.Items[0].Name, jobs.Items[0].Labels)
	}

	// The champion answers online.
	body := csvRows(t, 3)
	b, err := predictCSV(ctx, api, "tumor@champion", body)
	if err != nil {
		t.Fatal(err)
	}
	var pred struct {
		Version     int               `json:"version"`
		Predictions []json.RawMessage `json:"predictions"`
	}
	if err := json.Unmarshal(b, &pred); err != nil || len(pred.Predictions) != 3 {
		t.Fatalf("prediction answer %s (%v): want 3 predictions", b, err)
	}
	t.Logf("tumor@champion answered: %s", b)
}

var (
	clusterQueues   = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "clusterqueues"}
	resourceFlavors = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "resourceflavors"}
)

// releaseBinary is reckon as scripts/build-release makes it for the image.
func releaseBinary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "reckon")
	cmd := exec.Command("../scripts/build-release", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build-release: %v\n%s", err, b)
	}
	return out
}

func createToken(t *testing.T, bin, store, team string) string {
	t.Helper()
	out, err := exec.Command(bin, "--store", store, "--blobs", t.TempDir(), "tokens", "create", "--user", "ci-"+team, "--team", team, "--role", "trainer", "--json").Output()
	if err != nil {
		t.Fatalf("tokens create: %v", err)
	}
	var tok struct{ Secret string }
	if err := json.Unmarshal(out, &tok); err != nil || tok.Secret == "" {
		t.Fatalf("tokens create printed %s (%v)", out, err)
	}
	return tok.Secret
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitFor(t *testing.T, ctx context.Context, what string, done func() (bool, error)) {
	t.Helper()
	for {
		ok, err := done()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// csvRows are the first n rows of the tumor table without its target.
func csvRows(t *testing.T, n int) []byte {
	recs, err := csv.NewReader(bytes.NewReader(examples.TumorCSV)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	target := slices.Index(recs[0], "diagnosis")
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, r := range recs[:n+1] {
		w.Write(slices.Delete(r, target, target+1))
	}
	w.Flush()
	return buf.Bytes()
}

// predictCSV asks the server for predictions of a CSV table, as curl in
// the README does (the client package predicts through its own model
// loading, not this route).
func predictCSV(ctx context.Context, c *client.Client, ref string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+"/api/v1/models/"+ref+"/predict", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("predict %s: HTTP %d: %s", ref, resp.StatusCode, b)
	}
	return b, nil
}

// dumpLogs logs every pod of the namespace with its status and log, for a
// failed run.
func dumpLogs(t *testing.T, c *cluster, ns string) {
	pods, err := c.cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Logf("listing pods: %v", err)
		return
	}
	for _, p := range pods.Items {
		b, _ := c.cs.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(context.Background())
		var why []string
		for _, cs := range p.Status.ContainerStatuses {
			if tm := cs.State.Terminated; tm != nil {
				why = append(why, fmt.Sprintf("exit %d %s %s", tm.ExitCode, tm.Reason, tm.Message))
			}
		}
		t.Logf("pod %s (%s %s):\n%s", p.Name, p.Status.Phase, strings.Join(why, "; "), b)
	}
	ev, _ := c.cs.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	for _, e := range ev.Items {
		t.Logf("event %s %s: %s %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
	}
}
