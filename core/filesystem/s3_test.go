package filesystem_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/filesystem"
)

func newS3(t *testing.T) (*filesystem.S3, *coretest.S3Server) {
	t.Helper()
	srv := coretest.NewS3Server(t)
	s, err := filesystem.NewS3(s3Config(srv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, srv
}

func s3Config(srv *coretest.S3Server) filesystem.S3Config {
	return filesystem.S3Config{
		Endpoint: srv.URL, Bucket: srv.Bucket, Region: srv.Region,
		AccessKey: srv.AccessKey, Secret: srv.Secret, ForcePathStyle: true,
	}
}

func TestS3RoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, srv := newS3(t)
	start := time.Now().Add(-time.Minute)
	upload(t, s, "c1/r1/a.txt", "hello")
	upload(t, s, "c1/r1/a.txt", "hello again") // replaces
	upload(t, s, "c1/r1/thumbs_a.png/100x100_a.png", "t")
	upload(t, s, "c1/r2/b.txt", "b")
	// A reader of unknown size goes up in parts.
	if err := s.Upload(ctx, "c1/r3/c.txt", io.MultiReader(strings.NewReader("multi"), strings.NewReader("part"))); err != nil {
		t.Fatal(err)
	}
	if got := srv.Keys(t, "c1/"); !slices.Equal(got, []string{"c1/r1/a.txt", "c1/r1/thumbs_a.png/100x100_a.png", "c1/r2/b.txt", "c1/r3/c.txt"}) {
		t.Fatalf("bucket holds %v", got)
	}

	obj, err := s.Open(ctx, "c1/r1/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj)
	if string(got) != "hello again" || obj.Size != 11 || obj.ModTime.Before(start) {
		t.Fatalf("open = %q size %d mod %v", got, obj.Size, obj.ModTime)
	}
	// Downloads seek (http.ServeContent, sniffing): ranged reads.
	if _, err := obj.Seek(6, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(obj); string(rest) != "again" {
		t.Fatalf("after seek: %q", rest)
	}
	obj.Close()
	if obj, err := s.Open(ctx, "c1/r3/c.txt"); err != nil {
		t.Fatal(err)
	} else if b, _ := io.ReadAll(obj); string(b) != "multipart" {
		t.Fatalf("multipart upload = %q", b)
	} else {
		obj.Close()
	}

	for prefix, want := range map[string][]string{
		"":        {"c1/r1/a.txt", "c1/r1/thumbs_a.png/100x100_a.png", "c1/r2/b.txt", "c1/r3/c.txt"},
		"c1/r1/":  {"c1/r1/a.txt", "c1/r1/thumbs_a.png/100x100_a.png"},
		"c1/r1/a": {"c1/r1/a.txt"},
		"c2/":     nil,
	} {
		keys, err := s.List(ctx, prefix)
		if err != nil || !slices.Equal(keys, want) {
			t.Errorf("List(%q) = %v, %v; want %v", prefix, keys, err, want)
		}
	}

	if ok, err := s.Exists(ctx, "c1/r2/b.txt"); !ok || err != nil {
		t.Fatalf("Exists = %v %v", ok, err)
	}
	if ok, err := s.Exists(ctx, "c1/r2"); ok || err != nil {
		t.Fatalf("a prefix is not a file: %v %v", ok, err)
	}
	if err := s.Delete(ctx, "c1/r2/b.txt"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "c1/r2/b.txt"); !errors.Is(err, filesystem.ErrNotFound) {
		t.Fatalf("second delete = %v", err)
	}
	if _, err := s.Open(ctx, "c1/r2/b.txt"); !errors.Is(err, filesystem.ErrNotFound) {
		t.Fatalf("open deleted = %v", err)
	}
	if err := filesystem.DeletePrefix(ctx, s, "c1/r1/"); err != nil {
		t.Fatal(err)
	}
	if keys := srv.Keys(t, ""); !slices.Equal(keys, []string{"c1/r3/c.txt"}) {
		t.Fatalf("left after DeletePrefix: %v", keys)
	}
	if err := filesystem.DeletePrefix(ctx, s, ""); !errors.Is(err, filesystem.ErrInvalidKey) {
		t.Fatalf("DeletePrefix(\"\") = %v", err)
	}
}

func TestS3RefusesInvalidKeysWithoutAsking(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, srv := newS3(t)
	for _, key := range []string{"../secret.txt", "a/../../x", "/abs", `a\b`, ""} {
		if _, err := s.Open(ctx, key); !errors.Is(err, filesystem.ErrInvalidKey) {
			t.Errorf("Open(%q) = %v", key, err)
		}
		if err := s.Upload(ctx, key, strings.NewReader("x")); !errors.Is(err, filesystem.ErrInvalidKey) {
			t.Errorf("Upload(%q) = %v", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, filesystem.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v", key, err)
		}
	}
	if _, err := s.List(ctx, "../"); !errors.Is(err, filesystem.ErrInvalidKey) {
		t.Errorf("List(../) = %v", err)
	}
	if n, _ := srv.Requests(); n != 0 {
		t.Fatalf("%d requests reached the service", n)
	}
}

func TestS3Thumbs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, srv := newS3(t)
	if err := s.Upload(ctx, "c/r/img.png", bytes.NewReader(pngBytes(t, 200, 100))); err != nil {
		t.Fatal(err)
	}
	dst := "c/r/thumbs_img.png/50x50f_img.png"
	if err := filesystem.NewThumbnailer(2).Ensure(ctx, s, "c/r/img.png", dst, "50x50f"); err != nil {
		t.Fatal(err)
	}
	obj, err := s.Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	cfg, format, err := image.DecodeConfig(obj)
	if err != nil || format != "png" || cfg.Width != 50 || cfg.Height != 25 {
		t.Fatalf("thumb %dx%d %s %v", cfg.Width, cfg.Height, format, err)
	}
	if keys := srv.Keys(t, "c/r/"); !slices.Equal(keys, []string{"c/r/img.png", dst}) {
		t.Fatalf("bucket = %v", keys)
	}
}

func TestS3Check(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, srv := newS3(t)
	if err := s.Check(ctx, "hg_check"); err != nil {
		t.Fatal(err)
	}
	if keys := srv.Keys(t, ""); len(keys) != 0 {
		t.Fatalf("the check left %v", keys)
	}

	for name, change := range map[string]func(*filesystem.S3Config){
		"wrong secret":     func(c *filesystem.S3Config) { c.Secret += "x" },
		"wrong access key": func(c *filesystem.S3Config) { c.AccessKey = "AKIAWRONG" },
		"missing bucket":   func(c *filesystem.S3Config) { c.Bucket = "no-such-bucket" },
	} {
		cfg := s3Config(srv)
		change(&cfg)
		bad, err := filesystem.NewS3(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = bad.Check(ctx, "hg_check")
		bad.Close()
		if err == nil || !strings.Contains(err.Error(), "failed to upload a test file") {
			t.Errorf("%s: Check = %v", name, err)
		}
	}
	if _, denied := srv.Requests(); denied < 2 {
		t.Fatalf("the server refused %d requests, want the two with wrong credentials", denied)
	}
}

func TestNewS3Endpoint(t *testing.T) {
	t.Parallel()
	for _, endpoint := range []string{"ftp://example.com", "https://example.com/prefix", "https://", "http://a b"} {
		if _, err := filesystem.NewS3(filesystem.S3Config{Endpoint: endpoint, Bucket: "b", Region: "r"}); err == nil {
			t.Errorf("NewS3(%q) accepted", endpoint)
		}
	}
	for _, endpoint := range []string{"", "https://s3.eu-west-1.amazonaws.com", "s3.example.com", "http://127.0.0.1:9000/", "https://account.r2.cloudflarestorage.com"} {
		s, err := filesystem.NewS3(filesystem.S3Config{Endpoint: endpoint, Bucket: "b", Region: "r"})
		if err != nil {
			t.Errorf("NewS3(%q) = %v", endpoint, err)
			continue
		}
		s.Close()
	}
	if _, err := filesystem.NewS3(filesystem.S3Config{Endpoint: "https://example.com"}); err == nil {
		t.Error("NewS3 without a bucket accepted")
	}
}
