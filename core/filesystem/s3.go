package filesystem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config locates a bucket of an S3-compatible service (AWS, MinIO,
// Cloudflare R2, ...), as PocketBase's s3 settings describe it.
type S3Config struct {
	// Endpoint is the service's URL, e.g. "https://s3.eu-west-1.amazonaws.com"
	// or "http://127.0.0.1:9000"; http means no TLS. A bare host is taken
	// as https.
	Endpoint  string
	Bucket    string
	Region    string
	AccessKey string
	Secret    string
	// ForcePathStyle addresses the bucket in the path ("host/bucket/key")
	// rather than in the host name ("bucket.host/key"), as MinIO and most
	// self-hosted services need.
	ForcePathStyle bool
	// Dialer, when set, makes the connections to the service, e.g. one
	// whose Control checks where they go; no proxy from the environment
	// is used then, as the proxy would make them instead.
	Dialer *net.Dialer
}

// S3 is a Store in a bucket of an S3-compatible service. Keys are object
// names at the bucket's root, so the layout is the local store's (and
// PocketBase's): "<collectionId>/<recordId>/<filename>", thumbnails under
// "<collectionId>/<recordId>/thumbs_<filename>/".
type S3 struct {
	client    *minio.Client
	transport *http.Transport
	bucket    string
}

var _ Store = (*S3)(nil)

// s3PartSize is the part size of uploads whose size is unknown: they are
// sent in parts of this size, one buffered at a time. Uploads of a known
// size up to this are sent in a single PUT.
const s3PartSize = 16 << 20

// s3MaxRetries bounds the retries of a failed request: the client's
// default of 10, with backoff, would keep a request waiting for many
// seconds on an unreachable endpoint.
const s3MaxRetries = 3

// NewS3 returns a Store on cfg's bucket. It sends no request: a wrong
// endpoint, bucket or credentials show on the first operation.
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3: no bucket")
	}
	host, secure, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	transport, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	if cfg.Dialer != nil {
		transport.DialContext = cfg.Dialer.DialContext
		transport.Proxy = nil
	}
	lookup := minio.BucketLookupDNS
	if cfg.ForcePathStyle || !hasDNSName(host) {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.Secret, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    transport,
		MaxRetries:   s3MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	return &S3{client: client, transport: transport, bucket: cfg.Bucket}, nil
}

// parseEndpoint splits an endpoint URL into the host[:port] the client
// takes and whether it speaks TLS.
func parseEndpoint(raw string) (host string, secure bool, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, fmt.Errorf("s3: invalid endpoint: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", false, fmt.Errorf("s3: endpoint scheme must be http or https, not %q", u.Scheme)
	case u.Host == "":
		return "", false, errors.New("s3: endpoint has no host")
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "":
		return "", false, errors.New("s3: endpoint must be a bare URL, without path or query")
	}
	return u.Host, u.Scheme == "https", nil
}

// hasDNSName reports whether host[:port] is a domain name under which a
// bucket can have its own name (bucket.host): an IP address or localhost
// cannot, so those always get path-style requests.
func hasDNSName(hostport string) bool {
	h := hostport
	if name, _, err := net.SplitHostPort(hostport); err == nil {
		h = name
	}
	h = strings.Trim(h, "[]")
	return net.ParseIP(h) == nil && h != "localhost"
}

// Upload puts r's content at key in one PUT when its size is known (a
// reader with Len or Seek, as uploads and thumbnails are) or it is no
// larger than a part, in parts of s3PartSize otherwise. S3 replaces an
// object atomically.
func (s *S3) Upload(ctx context.Context, key string, r io.Reader) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	size, err := readerSize(r)
	if err != nil {
		return err
	}
	if size < 0 {
		// Read up to a part: what fits goes up in one PUT, like a
		// reader of known size, rather than as a one-part upload.
		var head bytes.Buffer
		n, err := io.CopyN(&head, r, s3PartSize+1)
		switch {
		case errors.Is(err, io.EOF):
			r, size = &head, n
		case err != nil:
			return err
		default:
			r = io.MultiReader(&head, r)
		}
	}
	_, err = s.client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{PartSize: s3PartSize})
	return s3Error(err)
}

// readerSize returns how many bytes r has left to read, or -1 when that
// cannot be known without reading.
func readerSize(r io.Reader) (int64, error) {
	switch x := r.(type) {
	case interface{ Len() int }:
		return int64(x.Len()), nil
	case io.Seeker:
		cur, err := x.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1, nil
		}
		end, err := x.Seek(0, io.SeekEnd)
		if err != nil {
			return -1, err
		}
		if _, err := x.Seek(cur, io.SeekStart); err != nil {
			return -1, err
		}
		return end - cur, nil
	}
	return -1, nil
}

// Open gets the object at key. The returned Object reads it lazily and
// seeks with ranged requests.
func (s *S3) Open(ctx context.Context, key string) (*Object, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s3Error(err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, s3Error(err)
	}
	return &Object{ReadSeekCloser: obj, Key: key, Size: info.Size, ModTime: info.LastModified}, nil
}

// Delete removes the object at key. S3 deletes missing objects without
// complaint, so Delete asks first, to report ErrNotFound as every Store
// does.
func (s *S3) Delete(ctx context.Context, key string) error {
	ok, err := s.Exists(ctx, key)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	return s3Error(s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}))
}

// Exists reports whether an object is stored at key.
func (s *S3) Exists(ctx context.Context, key string) (bool, error) {
	if err := ValidateKey(key); err != nil {
		return false, err
	}
	_, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	switch err = s3Error(err); {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// List returns the keys of the objects that start with prefix, sorted.
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine on an early return
	var keys []string
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, s3Error(obj.Err)
		}
		// Folder markers that other tools leave are not files.
		if !strings.HasSuffix(obj.Key, "/") {
			keys = append(keys, obj.Key)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// deletePrefix deletes the objects under prefix with batched delete
// requests (up to 1,000 keys each) rather than one request per key.
func (s *S3) deletePrefix(ctx context.Context, prefix string) error {
	keys, err := s.List(ctx, prefix)
	if err != nil || len(keys) == 0 {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objects := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		objects <- minio.ObjectInfo{Key: k}
	}
	close(objects)
	var errs []error
	for e := range s.client.RemoveObjects(ctx, s.bucket, objects, minio.RemoveObjectsOptions{}) {
		if err := s3Error(e.Err); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("%s: %w", e.ObjectName, err))
		}
	}
	return errors.Join(errs...)
}

// Check uploads, lists and deletes a small object under a random prefix:
// it proves that the endpoint answers, that the bucket exists and that
// the credentials may write, list and delete in it.
func (s *S3) Check(ctx context.Context, prefix string) error {
	key := prefix + "/test.txt"
	if err := s.Upload(ctx, key, strings.NewReader("test")); err != nil {
		return fmt.Errorf("failed to upload a test file: %w", err)
	}
	keys, err := s.List(ctx, prefix+"/")
	if err != nil {
		return fmt.Errorf("failed to list the test file: %w", err)
	}
	if !slices.Contains(keys, key) {
		return errors.New("failed to list the test file: not listed after its upload")
	}
	if err := s.deletePrefix(ctx, prefix+"/"); err != nil {
		return fmt.Errorf("failed to delete the test file: %w", err)
	}
	return nil
}

// Close drops the idle connections to the service. Operations still
// running finish.
func (s *S3) Close() error {
	s.transport.CloseIdleConnections()
	return nil
}

// s3Error maps a missing object to ErrNotFound and keeps the service's
// message otherwise.
func s3Error(err error) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket":
		return ErrNotFound
	case resp.Code != "":
		return fmt.Errorf("s3: %s: %w", resp.Code, err)
	}
	return fmt.Errorf("s3: %w", err)
}
