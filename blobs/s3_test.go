package blobs

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSignV4Examples checks the signer against the worked examples of
// AWS's "Signature Calculations for the Authorization Header" page
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html),
// whose signatures AWS computed: an independent check of every step.
func TestSignV4Examples(t *testing.T) {
	creds := s3Credentials{access: "AKIAIOSFODNN7EXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, path, rng, signed, sig string
		q                            url.Values
	}{
		{"GET object", "/test.txt", "bytes=0-9", "host;range;x-amz-content-sha256;x-amz-date",
			"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", nil},
		{"list objects", "/", "", "host;x-amz-content-sha256;x-amz-date",
			"34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", url.Values{"max-keys": {"2"}, "prefix": {"J"}}},
	} {
		req, _ := http.NewRequest(http.MethodGet, "https://examplebucket.s3.amazonaws.com"+c.path, nil)
		if c.rng != "" {
			req.Header.Set("Range", c.rng)
		}
		sign(req, "examplebucket.s3.amazonaws.com", c.path, c.q, nil, creds, "us-east-1", at)
		want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=" + c.signed + ", Signature=" + c.sig
		if got := req.Header.Get("Authorization"); got != want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, want)
		}
	}
}

func TestS3URLs(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	for _, c := range []struct{ url, want, err string }{
		{"s3://models", "https://models.s3.us-east-1.amazonaws.com/k", ""},
		{"s3://models?region=eu-west-1", "https://models.s3.eu-west-1.amazonaws.com/k", ""},
		{"s3://models?endpoint=http://127.0.0.1:9000", "http://127.0.0.1:9000/models/k", ""},
		{"s3://models?endpoint=minio:9000&disable_https=true", "http://minio:9000/models/k", ""},
		{"s3://models?endpoint=https://s3.example.com&use_path_style=false", "https://models.s3.example.com/k", ""},
		{"s3://models?endpont=x", "", `unknown parameter "endpont"`},
		{"s3://models?use_path_style=yes", "", "want true or false"},
		{"s3://?region=x", "", "no bucket"},
		{"gs://models", "", `unknown scheme "gs"`},
	} {
		b, err := Open(context.Background(), c.url)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.url, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		req, err := b.s.(*s3Store).request(context.Background(), http.MethodGet, "k", nil, nil)
		if err != nil || req.URL.String() != c.want {
			t.Errorf("%s: request to %v (%v), want %s", c.url, req.URL, err, c.want)
		}
	}
}

func TestS3Credentials(t *testing.T) {
	file := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(file, []byte("[default]\naws_access_key_id = AK1\naws_secret_access_key=SK1\n\n# other\n[ci]\naws_access_key_id=AK2\naws_secret_access_key = SK2\naws_session_token = T2\n"), 0o600)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	for _, c := range []struct {
		profile, env string
		want         s3Credentials
	}{
		{"", "", s3Credentials{"AK1", "SK1", ""}},
		{"ci", "", s3Credentials{"AK2", "SK2", "T2"}},
		{"ci", "AKENV", s3Credentials{"AKENV", "SKENV", ""}},
	} {
		t.Setenv("AWS_PROFILE", c.profile)
		t.Setenv("AWS_ACCESS_KEY_ID", c.env)
		t.Setenv("AWS_SECRET_ACCESS_KEY", strings.Replace(c.env, "AK", "SK", 1))
		got, err := s3Creds()
		if err != nil || got != c.want {
			t.Errorf("profile %q env %q: %+v %v, want %+v", c.profile, c.env, got, err, c.want)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_PROFILE", "nobody")
	if _, err := s3Creds(); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("no credentials: %v", err)
	}
}

// TestKeys: names that would leave a directory bucket, or mean the same
// file two ways, are refused before anything is read or written.
func TestKeys(t *testing.T) {
	dir := t.TempDir()
	b, _ := Open(context.Background(), filepath.Join(dir, "blobs"))
	for _, k := range []string{"../escape", "/abs", "a/../../b", "a//b", "a/./b", "", "a/"} {
		if err := b.PutAt(context.Background(), k, []byte("x")); err == nil {
			t.Errorf("PutAt(%q) accepted", k)
		}
		if _, err := b.Get(context.Background(), k); err == nil || errors.Is(err, ErrMissing) {
			t.Errorf("Get(%q): %v, want a refusal", k, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "escape")); err == nil {
		t.Error("a file was written outside the bucket")
	}
}

// TestList: keys in order under a prefix, not other prefixes' and not a
// write's temporary file.
func TestList(t *testing.T) {
	dir := t.TempDir()
	b, _ := Open(context.Background(), dir)
	ctx := context.Background()
	for _, k := range []string{"jobs/2/out/b.csv", "jobs/2/out/a.csv", "jobs/21/x", "jobs/3/y"} {
		if err := b.PutAt(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	b.Put(ctx, []byte("content"))
	os.WriteFile(filepath.Join(dir, "jobs", "2", "out", ".c.csv.tmp-123"), nil, 0o600)
	got, err := b.List(ctx, "jobs/2/")
	if err != nil || strings.Join(got, " ") != "jobs/2/out/a.csv jobs/2/out/b.csv" {
		t.Errorf("List(jobs/2/) = %v %v", got, err)
	}
	if got, _ := b.List(ctx, "jobs/2"); len(got) != 3 {
		t.Errorf("List(jobs/2) = %v, want jobs/2 and jobs/21's", got)
	}
}
