package kube

import (
	"net/http"
	"net/url"
	"testing"
)

func TestVerb(t *testing.T) {
	for _, c := range []struct{ method, url, want string }{
		{"GET", "/api/v1/namespaces/ns/pods?labelSelector=x", "list"},
		{"GET", "/apis/batch/v1/namespaces/ns/jobs", "list"},
		{"GET", "/apis/batch/v1/namespaces/ns/jobs?watch=true", "watch"},
		{"GET", "/apis/batch/v1/namespaces/ns/jobs/reckon-j1-a1", "get"},
		{"GET", "/api/v1/namespaces/ns/secrets/reckon-store", "get"},
		{"GET", "/api/v1/namespaces/ns/pods/p1/log", "logs"},
		{"GET", "/api/v1/nodes", "list"},
		{"POST", "/apis/batch/v1/namespaces/ns/jobs", "create"},
		{"DELETE", "/apis/batch/v1/namespaces/ns/jobs/reckon-j1-a1", "delete"},
	} {
		u, _ := url.Parse(c.url)
		if got := verb(&http.Request{Method: c.method, URL: u}); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.method, c.url, got, c.want)
		}
	}
}
