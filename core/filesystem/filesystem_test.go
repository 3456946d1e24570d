package filesystem_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/filesystem"
)

func newLocal(t *testing.T) (*filesystem.Local, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "storage")
	s, err := filesystem.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func upload(t *testing.T, s filesystem.Store, key, content string) {
	t.Helper()
	if err := s.Upload(context.Background(), key, strings.NewReader(content)); err != nil {
		t.Fatalf("upload %s: %v", key, err)
	}
}

func TestValidateKey(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"a", "col/rec/file.txt", "a/b/thumbs_x.png/100x100_x.png", "..a/b..", "a/.hidden"} {
		if err := filesystem.ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", key, err)
		}
	}
	for _, key := range []string{"", "/etc/passwd", "../x", "a/../../x", "a/..", "a/./b", "a//b", "a/", `a\..\b`, "a\x00b", strings.Repeat("x", 1025)} {
		if err := filesystem.ValidateKey(key); !errors.Is(err, filesystem.ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
}

func TestLocalRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, dir := newLocal(t)
	upload(t, s, "c1/r1/a.txt", "hello")
	upload(t, s, "c1/r1/a.txt", "hello again") // replaces
	upload(t, s, "c1/r1/thumbs_a.png/100x100_a.png", "t")
	upload(t, s, "c1/r2/b.txt", "b")

	obj, err := s.Open(ctx, "c1/r1/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj)
	obj.Close()
	if string(got) != "hello again" || obj.Size != 11 || obj.ModTime.IsZero() {
		t.Fatalf("open = %q size %d mod %v", got, obj.Size, obj.ModTime)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "c1", "r1", "a.txt")); err != nil || string(b) != "hello again" {
		t.Fatalf("not on disk under the root: %q %v", b, err)
	}

	for prefix, want := range map[string][]string{
		"":        {"c1/r1/a.txt", "c1/r1/thumbs_a.png/100x100_a.png", "c1/r2/b.txt"},
		"c1/r1/":  {"c1/r1/a.txt", "c1/r1/thumbs_a.png/100x100_a.png"},
		"c1/r1/a": {"c1/r1/a.txt"},
		"c1/r":    {"c1/r1/a.txt", "c1/r1/thumbs_a.png/100x100_a.png", "c1/r2/b.txt"},
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
	if ok, _ := s.Exists(ctx, "c1/r2"); ok {
		t.Fatal("a folder is not a file")
	}
	if err := s.Delete(ctx, "c1/r2/b.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "c1", "r2")); !os.IsNotExist(err) {
		t.Fatalf("empty folder kept: %v", err)
	}
	if err := s.Delete(ctx, "c1/r2/b.txt"); !errors.Is(err, filesystem.ErrNotFound) {
		t.Fatalf("second delete = %v", err)
	}
	if _, err := s.Open(ctx, "c1/r2/b.txt"); !errors.Is(err, filesystem.ErrNotFound) {
		t.Fatalf("open deleted = %v", err)
	}
	if _, err := s.Open(ctx, "c1/r1"); !errors.Is(err, filesystem.ErrNotFound) {
		t.Fatalf("open folder = %v", err)
	}

	if err := filesystem.DeletePrefix(ctx, s, "c1/r1/"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.List(ctx, ""); len(keys) != 0 {
		t.Fatalf("left after DeletePrefix: %v", keys)
	}
	if err := filesystem.DeletePrefix(ctx, s, ""); !errors.Is(err, filesystem.ErrInvalidKey) {
		t.Fatalf("DeletePrefix(\"\") = %v", err)
	}
}

func TestLocalRefusesTraversal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, dir := newLocal(t)
	outside := filepath.Dir(dir)
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../secret.txt", "a/../../secret.txt", "/" + filepath.ToSlash(filepath.Join(outside, "secret.txt")), `..\secret.txt`} {
		if _, err := s.Open(ctx, key); !errors.Is(err, filesystem.ErrInvalidKey) {
			t.Errorf("Open(%q) = %v", key, err)
		}
		if err := s.Upload(ctx, key, strings.NewReader("x")); !errors.Is(err, filesystem.ErrInvalidKey) {
			t.Errorf("Upload(%q) = %v", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, filesystem.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v", key, err)
		}
		if _, err := s.Exists(ctx, key); !errors.Is(err, filesystem.ErrInvalidKey) {
			t.Errorf("Exists(%q) = %v", key, err)
		}
	}
	if _, err := s.List(ctx, "../"); !errors.Is(err, filesystem.ErrInvalidKey) {
		t.Errorf("List(../) = %v", err)
	}
	// A symbolic link inside the root cannot lead out of it either.
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Skip("no symlinks:", err)
	}
	if obj, err := s.Open(ctx, "link/secret.txt"); err == nil {
		obj.Close()
		t.Fatal("opened a file outside the root through a symlink")
	}
	if err := s.Upload(ctx, "link/planted.txt", strings.NewReader("x")); err == nil {
		t.Fatal("wrote outside the root through a symlink")
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.txt")); string(b) != "secret" {
		t.Fatal("file outside the root changed")
	}
}

func TestLocalUploadIsAtomicAndCancelable(t *testing.T) {
	t.Parallel()
	s, _ := newLocal(t)
	upload(t, s, "c/r/f.txt", "old")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Upload(ctx, "c/r/f.txt", strings.NewReader("new")); err == nil {
		t.Fatal("canceled upload succeeded")
	}
	failing := io.MultiReader(strings.NewReader("partial"), errReader{})
	if err := s.Upload(context.Background(), "c/r/f.txt", failing); err == nil {
		t.Fatal("failed read succeeded")
	}
	obj, err := s.Open(context.Background(), "c/r/f.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if b, _ := io.ReadAll(obj); string(b) != "old" {
		t.Fatalf("content = %q, want the old one", b)
	}
	if keys, _ := s.List(context.Background(), ""); !slices.Equal(keys, []string{"c/r/f.txt"}) {
		t.Fatalf("temporary files left: %v", keys)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	random := `_[a-z0-9]{10}`
	for original, pattern := range map[string]string{
		"My Report.bin":                   `^my_report` + random + `\.bin$`,
		"myReport.TXT":                    `^my_report` + random + `\.txt$`,
		"photo.JPG":                       `^photo` + random + `\.jpg$`,
		"backup.tar.gz":                   `^backup` + random + `\.tar\.gz$`,
		"Résumé final.pdf":                `^r_sum_final` + random + `\.pdf$`,
		"x.png":                           `^x[a-z0-9]{10}` + random + `\.png$`,
		"../../etc/passwd":                `^[a-z0-9]{10}` + random + `\.\.etcpasswd$`, // no slash survives
		"a b/c\\d.e v$il.html":            `^[a-z0-9_]+` + random + `\.ev[i]?l\.html$`,
		"noext":                           `^noext` + random + `$`,
		strings.Repeat("a", 150) + ".txt": `^a{100}` + random + `\.txt$`,
	} {
		got := filesystem.NormalizeName(original, nil)
		if !regexp.MustCompile(pattern).MatchString(got) {
			t.Errorf("NormalizeName(%q) = %q, want /%s/", original, got, pattern)
		}
		if err := filesystem.ValidateKey("c/r/" + got); err != nil || strings.HasPrefix(got, ".") {
			t.Errorf("NormalizeName(%q) = %q is not a safe file name", original, got)
		}
	}
	if a, b := filesystem.NormalizeName("a.txt", nil), filesystem.NormalizeName("a.txt", nil); a == b {
		t.Error("two uploads got the same name")
	}
	f := filesystem.NewFileFromBytes(pngBytes(t, 4, 4), "picture")
	if !regexp.MustCompile(`^picture` + random + `\.png$`).MatchString(f.Name) {
		t.Errorf("extension not detected from content: %q", f.Name)
	}
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.NRGBA{R: uint8(x), G: uint8(y), B: 200, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSniff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, content, want string
		inline, image       bool
	}{
		{"a.png", string(pngBytes(t, 2, 2)), "image/png", true, true},
		{"a.html", "<html><body>x</body></html>", "text/html; charset=utf-8", false, false},
		{"a.svg", `<svg xmlns="http://www.w3.org/2000/svg"></svg>`, "image/svg+xml", false, false},
		{"a.bin", "\x00\x01\x02", "application/octet-stream", false, false},
		{"a.pdf", "%PDF-1.4\n", "application/pdf", true, false},
	} {
		r := strings.NewReader(tc.content)
		info, err := filesystem.Sniff(r, tc.name)
		if err != nil || info.Type != tc.want || info.Inline != tc.inline || info.Image != tc.image {
			t.Errorf("Sniff(%s) = %+v, %v", tc.name, info, err)
		}
		if pos, _ := r.Seek(0, io.SeekCurrent); pos != 0 {
			t.Errorf("Sniff(%s) did not rewind", tc.name)
		}
	}
}

func TestThumbs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newLocal(t)
	if err := s.Upload(ctx, "c/r/img.png", bytes.NewReader(pngBytes(t, 200, 100))); err != nil {
		t.Fatal(err)
	}
	for size, want := range map[string][2]int{
		"50x50": {50, 50}, "50x50t": {50, 50}, "50x50b": {50, 50},
		"50x50f": {50, 25}, "0x50": {100, 50}, "40x0": {40, 20},
	} {
		dst := "c/r/thumbs_img.png/" + size + "_img.png"
		if err := filesystem.CreateThumb(ctx, s, "c/r/img.png", dst, size); err != nil {
			t.Fatalf("%s: %v", size, err)
		}
		obj, err := s.Open(ctx, dst)
		if err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(obj)
		obj.Close()
		if err != nil || format != "png" || cfg.Width != want[0] || cfg.Height != want[1] {
			t.Errorf("%s: %dx%d %s %v, want %v", size, cfg.Width, cfg.Height, format, err, want)
		}
	}
	for _, bad := range []string{"0x0", "10", "axb", "10x10x", "99999x1"} {
		if _, err := filesystem.ParseThumb(bad); err == nil {
			t.Errorf("ParseThumb(%q) accepted", bad)
		}
	}
	upload(t, s, "c/r/not.png", "not an image")
	if err := filesystem.CreateThumb(ctx, s, "c/r/not.png", "c/r/thumbs_not.png/50x50_not.png", "50x50"); err == nil {
		t.Error("made a thumbnail of a text file")
	}
}

func TestThumbnailerSharesRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newLocal(t)
	if err := s.Upload(ctx, "c/r/i.png", bytes.NewReader(pngBytes(t, 30, 30))); err != nil {
		t.Fatal(err)
	}
	th := filesystem.NewThumbnailer(2)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- th.Ensure(ctx, s, "c/r/i.png", "c/r/thumbs_i.png/10x10_i.png", "10x10") })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if keys, _ := s.List(ctx, "c/r/thumbs_i.png/"); len(keys) != 1 {
		t.Fatalf("thumbs = %v", keys)
	}
}
