package blobs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// s3Store speaks the five S3 requests reckon needs (PUT, GET and a
// ListObjectsV2 page of objects, signed with AWS Signature Version 4) over
// net/http. The AWS SDK behind gocloud.dev did the same and also brought
// STS, SSO, IMDS, OpenTelemetry and gRPC along: about 20 MB of a 58 MB
// binary. What it did that this does not: credentials from instance
// metadata, SSO or web identity (give the pods AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, optionally AWS_SESSION_TOKEN, or a shared
// credentials file), and multipart uploads (reckon's blobs are in memory
// and far below S3's 5 GB single-PUT limit).
type s3Store struct {
	endpoint  *url.URL // scheme and host requests go to
	bucket    string
	pathStyle bool // bucket in the path (endpoint/bucket/key), not the host
	region    string
	creds     s3Credentials
	http      *http.Client
	now       func() time.Time
}

type s3Credentials struct{ access, secret, token string }

// s3Params are the URL parameters Open takes, named as gocloud.dev's
// s3blob named them so that existing URLs keep working.
var s3Params = []string{"endpoint", "region", "use_path_style", "disable_https"}

func openS3(u *url.URL) (*s3Store, error) {
	if u.Host == "" {
		return nil, errors.New("no bucket: write s3://BUCKET?region=REGION")
	}
	q := u.Query()
	for k := range q {
		if !slices.Contains(s3Params, k) {
			return nil, fmt.Errorf("unknown parameter %q (known: %s)", k, strings.Join(s3Params, ", "))
		}
	}
	s := &s3Store{bucket: u.Host, region: q.Get("region"), http: &http.Client{}, now: time.Now}
	if s.region == "" {
		s.region = firstEnv("AWS_REGION", "AWS_DEFAULT_REGION")
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	boolParam := func(name string, def bool) (bool, error) {
		v := q.Get(name)
		if v == "" {
			return def, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("parameter %s=%q: want true or false", name, v)
		}
		return b, nil
	}
	plain, err := boolParam("disable_https", false)
	if err != nil {
		return nil, err
	}
	ep := q.Get("endpoint")
	// Servers of one's own (MinIO, versitygw, Ceph) address buckets by
	// path; AWS by host name.
	s.pathStyle, err = boolParam("use_path_style", ep != "")
	if err != nil {
		return nil, err
	}
	if ep == "" {
		ep = "s3." + s.region + ".amazonaws.com"
	}
	if !strings.Contains(ep, "://") {
		scheme := "https://"
		if plain {
			scheme = "http://"
		}
		ep = scheme + ep
	}
	s.endpoint, err = url.Parse(ep)
	if err != nil || s.endpoint.Host == "" || (s.endpoint.Scheme != "http" && s.endpoint.Scheme != "https") {
		return nil, fmt.Errorf("endpoint %q: want http://HOST:PORT or https://HOST", q.Get("endpoint"))
	}
	if s.creds, err = s3Creds(); err != nil {
		return nil, err
	}
	return s, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// s3Creds reads the credentials from the environment, else from the
// shared credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
// the profile AWS_PROFILE names or default).
func s3Creds() (s3Credentials, error) {
	c := s3Credentials{os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")}
	if c.access != "" && c.secret != "" {
		return c, nil
	}
	file := os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
	if file == "" {
		if home, err := os.UserHomeDir(); err == nil {
			file = filepath.Join(home, ".aws", "credentials")
		}
	}
	profile := firstEnv("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	if f, err := os.Open(file); err == nil {
		defer f.Close()
		c, err := parseCredentials(f, profile)
		if err != nil {
			return c, fmt.Errorf("%s: %w", file, err)
		}
		if c.access != "" && c.secret != "" {
			return c, nil
		}
	}
	return c, errors.New("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or write them in ~/.aws/credentials")
}

// parseCredentials reads one profile of an AWS shared credentials file
// (INI: [profile] then key = value lines).
func parseCredentials(r io.Reader, profile string) (s3Credentials, error) {
	var c s3Credentials
	sc := bufio.NewScanner(r)
	in := false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return c, fmt.Errorf("line %d: %q: a section header ends with ]", n, line)
			}
			in = strings.TrimSpace(line[1:len(line)-1]) == profile
		case in:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return c, fmt.Errorf("line %d: want key = value", n)
			}
			switch strings.TrimSpace(k) {
			case "aws_access_key_id":
				c.access = strings.TrimSpace(v)
			case "aws_secret_access_key":
				c.secret = strings.TrimSpace(v)
			case "aws_session_token":
				c.token = strings.TrimSpace(v)
			}
		}
	}
	return c, sc.Err()
}

// s3Error is the body of an S3 error response.
type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
	status  int
}

func (e *s3Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.status)
	}
	return fmt.Sprintf("%s: %s (HTTP %d)", e.Code, e.Message, e.status)
}

// notFound says whether err is S3's answer for a missing object.
func notFound(err error) bool {
	var se *s3Error
	return errors.As(err, &se) && (se.Code == "NoSuchKey" || (se.Code == "" && se.status == http.StatusNotFound))
}

func (s *s3Store) put(ctx context.Context, key string, data []byte) error {
	_, err := s.do(ctx, http.MethodPut, key, nil, data)
	return err
}

func (s *s3Store) get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.do(ctx, http.MethodGet, key, nil, nil)
	if notFound(err) {
		return nil, ErrMissing
	}
	return b, err
}

func (s *s3Store) list(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	q := url.Values{"list-type": {"2"}, "prefix": {prefix}}
	for {
		b, err := s.do(ctx, http.MethodGet, "", q, nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Contents []struct {
				Key string `xml:"Key"`
			} `xml:"Contents"`
			IsTruncated           bool   `xml:"IsTruncated"`
			NextContinuationToken string `xml:"NextContinuationToken"`
		}
		if err := xml.Unmarshal(b, &page); err != nil {
			return nil, fmt.Errorf("reading a ListObjectsV2 answer: %w", err)
		}
		for _, c := range page.Contents {
			keys = append(keys, c.Key)
		}
		if !page.IsTruncated || page.NextContinuationToken == "" {
			sort.Strings(keys)
			return keys, nil
		}
		q.Set("continuation-token", page.NextContinuationToken)
	}
}

// do sends one request, retrying what may pass (a 5xx, a broken
// connection) a few times with backoff: every request reckon makes is
// idempotent.
func (s *s3Store) do(ctx context.Context, method, key string, q url.Values, body []byte) ([]byte, error) {
	var err error
	for try := 0; try < 4; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(100<<try) * time.Millisecond):
			}
		}
		var b []byte
		var retry bool
		b, retry, err = s.once(ctx, method, key, q, body)
		if err == nil || !retry || ctx.Err() != nil {
			return b, err
		}
	}
	return nil, err
}

func (s *s3Store) once(ctx context.Context, method, key string, q url.Values, body []byte) ([]byte, bool, error) {
	req, err := s.request(ctx, method, key, q, body)
	if err != nil {
		return nil, false, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, true, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, true, err
	}
	if resp.StatusCode/100 != 2 {
		se := &s3Error{status: resp.StatusCode}
		xml.Unmarshal(b, se) // a HEAD or a proxy's answer may have no XML body
		return nil, resp.StatusCode >= 500, se
	}
	return b, false, nil
}

// request builds a signed request for key (none: the bucket itself).
func (s *s3Store) request(ctx context.Context, method, key string, q url.Values, body []byte) (*http.Request, error) {
	host, path := s.endpoint.Host, "/"+key
	if s.pathStyle {
		path = "/" + s.bucket + path
	} else {
		host = s.bucket + "." + host
	}
	if s.endpoint.Path != "" && s.endpoint.Path != "/" {
		path = strings.TrimSuffix(s.endpoint.Path, "/") + path
	}
	uri := s.endpoint.Scheme + "://" + host + encodePath(path)
	if len(q) > 0 {
		uri += "?" + canonicalQuery(q)
	}
	req, err := http.NewRequestWithContext(ctx, method, uri, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.ContentLength = int64(len(body))
	sign(req, host, encodePath(path), q, body, s.creds, s.region, s.now().UTC())
	return req, nil
}

// sign adds AWS Signature Version 4 headers to req
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
// The payload is hashed, not sent UNSIGNED, so a server can tell a
// damaged upload.
func sign(req *http.Request, host, path string, q url.Values, body []byte, c s3Credentials, region string, t time.Time) {
	amzDate := t.Format("20060102T150405Z")
	day := amzDate[:8]
	payload := sha256.Sum256(body)
	hash := hex.EncodeToString(payload[:])
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if c.token != "" {
		req.Header.Set("X-Amz-Security-Token", c.token)
	}
	headers := map[string]string{"host": host}
	for k, v := range req.Header {
		if lk := strings.ToLower(k); lk == "range" || strings.HasPrefix(lk, "x-amz-") || lk == "content-type" || lk == "content-md5" {
			headers[lk] = strings.TrimSpace(strings.Join(v, ","))
		}
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var canon strings.Builder
	for _, k := range names {
		canon.WriteString(k + ":" + headers[k] + "\n")
	}
	signed := strings.Join(names, ";")
	creq := strings.Join([]string{req.Method, path, canonicalQuery(q), canon.String(), signed, hash}, "\n")
	scope := day + "/" + region + "/s3/aws4_request"
	crh := sha256.Sum256([]byte(creq))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crh[:])
	key := hmacSHA256([]byte("AWS4"+c.secret), day)
	for _, part := range []string{region, "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+c.access+"/"+scope+", SignedHeaders="+signed+
		", Signature="+hex.EncodeToString(hmacSHA256(key, toSign)))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// uriEncode percent-encodes all but S3's unreserved characters, and "/"
// too unless keepSlash.
func uriEncode(s string, keepSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func encodePath(p string) string { return uriEncode(p, true) }

// canonicalQuery is q sorted by name, names and values encoded.
func canonicalQuery(q url.Values) string {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, uriEncode(k, false)+"="+uriEncode(v, false))
		}
	}
	return strings.Join(parts, "&")
}
