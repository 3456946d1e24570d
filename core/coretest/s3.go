package coretest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/security"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3Server is an S3 API served in the test process: gofakes3 on an
// in-memory backend, with one bucket, behind a check of every request's
// AWS Signature Version 4 against its one access key and secret, so that
// wrong credentials are refused (403 SignatureDoesNotMatch or
// InvalidAccessKeyId) as by a real service. Several Apps of one test may
// share it.
type S3Server struct {
	URL       string
	Bucket    string
	Region    string
	AccessKey string
	Secret    string

	backend  *s3mem.Backend
	requests atomic.Int64
	denied   atomic.Int64
}

// NewS3Server starts an S3Server for t, stopped when the test ends.
func NewS3Server(t testing.TB) *S3Server {
	t.Helper()
	s := &S3Server{
		Bucket:    "hg-test-" + security.RandomString(8, security.IDAlphabet),
		Region:    "us-east-1",
		AccessKey: "AKIA" + strings.ToUpper(security.RandomString(16, security.IDAlphabet)),
		Secret:    security.RandomString(40, security.IDAlphabet),
		backend:   s3mem.New(),
	}
	if err := s.backend.CreateBucket(s.Bucket); err != nil {
		t.Fatalf("coretest: create bucket: %v", err)
	}
	fake := gofakes3.New(s.backend)
	srv := httptest.NewServer(s.authenticate(fake.Server()))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Settings returns enabled S3 settings for the server's bucket, path
// style (the server knows no bucket host names).
func (s *S3Server) Settings() core.S3Settings {
	return core.S3Settings{
		Enabled:        true,
		Bucket:         s.Bucket,
		Region:         s.Region,
		Endpoint:       s.URL,
		AccessKey:      s.AccessKey,
		Secret:         s.Secret,
		ForcePathStyle: true,
	}
}

// Use saves settings that store app's files in the server's bucket.
func (s *S3Server) Use(t testing.TB, app *core.App) {
	t.Helper()
	settings := app.Settings()
	settings.S3 = s.Settings()
	if err := app.SaveSettings(context.Background(), settings); err != nil {
		t.Fatalf("coretest: enable S3: %v", err)
	}
}

// Keys returns the sorted keys of the bucket's objects that start with
// prefix, read from the backend (not through the S3 API).
func (s *S3Server) Keys(t testing.TB, prefix string) []string {
	t.Helper()
	p := gofakes3.NewPrefix(&prefix, nil)
	list, err := s.backend.ListBucket(s.Bucket, &p, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatalf("coretest: list bucket: %v", err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	slices.Sort(keys)
	return keys
}

// Requests returns how many requests the server got, and how many of
// them it refused for their credentials.
func (s *S3Server) Requests() (total, denied int64) {
	return s.requests.Load(), s.denied.Load()
}

// authenticate refuses requests whose SigV4 signature is not the one the
// server's secret gives.
func (s *S3Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if code := s.verify(r); code != "" {
			s.denied.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>Access denied by the test server (%s).</Message><Resource>%s</Resource></Error>`,
				code, code, r.URL.Path)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// verify checks r's Authorization header (AWS4-HMAC-SHA256) and returns
// an S3 error code, or "" when the signature is right.
func (s *S3Server) verify(r *http.Request) string {
	const algorithm = "AWS4-HMAC-SHA256"
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), algorithm+" ")
	if !ok {
		return "AccessDenied"
	}
	fields := map[string]string{}
	for _, part := range strings.Split(auth, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return "AuthorizationHeaderMalformed"
	}
	if scope[0] != s.AccessKey {
		return "InvalidAccessKeyId"
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	var headers strings.Builder
	for _, h := range signed {
		v := r.Header.Values(h)
		if h == "host" {
			v = []string{r.Host}
		}
		for i := range v {
			v[i] = strings.Join(strings.Fields(v[i]), " ")
		}
		headers.WriteString(h + ":" + strings.Join(v, ",") + "\n")
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = "UNSIGNED-PAYLOAD"
	}
	path := r.URL.EscapedPath()
	canonical := strings.Join([]string{r.Method, path, canonicalQuery(r.URL.Query()), headers.String(), fields["SignedHeaders"], payload}, "\n")
	date := r.Header.Get("X-Amz-Date")
	if t, err := time.Parse("20060102T150405Z", date); err != nil || time.Since(t).Abs() > 15*time.Minute {
		return "RequestTimeTooSkewed"
	}
	sum := sha256.Sum256([]byte(canonical))
	toSign := algorithm + "\n" + date + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + s.Secret)
	for _, part := range scope[1:] {
		key = hmacSHA256(key, part)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return "SignatureDoesNotMatch"
	}
	return ""
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalQuery encodes q as SigV4 wants it: keys sorted, then values,
// every byte but unreserved ones percent-encoded.
func canonicalQuery(q url.Values) string {
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, awsEscape(k)+"="+awsEscape(v))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

func awsEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
