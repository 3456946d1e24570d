package filesystem

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// Local is a Store on the local disk, rooted at one directory. It works
// through os.Root, so no key, symbolic link included, reaches outside it.
type Local struct {
	root *os.Root
	dir  string
}

var _ Store = (*Local)(nil)

// tmpPrefix starts the names of files being written. Stored names never
// start with a dot, so List skips these.
const tmpPrefix = ".upload-"

// NewLocal opens (creating it if needed) the directory dir as a Store.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &Local{root: root, dir: dir}, nil
}

// Dir returns the directory the store is rooted at.
func (l *Local) Dir() string { return l.dir }

// Upload writes to a temporary file beside key and renames it into place,
// so that readers never see a partial file.
func (l *Local) Upload(ctx context.Context, key string, r io.Reader) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := path.Dir(key)
	tmp := path.Join(dir, tmpPrefix+randomHex())
	var f *os.File
	var err error
	// A concurrent Delete may prune the folder between MkdirAll and
	// OpenFile; one retry covers that race.
	for range 2 {
		if err = l.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		f, err = l.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.root.Rename(tmp, key)
	}
	if err != nil {
		_ = l.root.Remove(tmp)
	}
	return err
}

// Open opens the file at key.
func (l *Local) Open(ctx context.Context, key string) (*Object, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := l.root.Open(key)
	if err != nil {
		return nil, notFound(err)
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = ErrNotFound
		}
		return nil, err
	}
	return &Object{ReadSeekCloser: f, Key: key, Size: info.Size(), ModTime: info.ModTime()}, nil
}

// Delete removes the file at key, then the folders it leaves empty.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if info, err := l.root.Lstat(key); err != nil {
		return notFound(err)
	} else if info.IsDir() {
		return ErrNotFound
	}
	if err := l.root.Remove(key); err != nil {
		return notFound(err)
	}
	// Removing a folder that is not empty fails, which ends the pruning.
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		if l.root.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// Exists reports whether a regular file is stored at key.
func (l *Local) Exists(ctx context.Context, key string) (bool, error) {
	if err := ValidateKey(key); err != nil {
		return false, err
	}
	info, err := l.root.Stat(key)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	}
	return info.Mode().IsRegular(), nil
}

// List walks the folder of prefix and returns the keys that start with it.
func (l *Local) List(ctx context.Context, prefix string) ([]string, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	start := "."
	if i := strings.LastIndex(prefix, "/"); i > 0 {
		start = prefix[:i]
	}
	var keys []string
	err := fs.WalkDir(l.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(d.Name(), ".") && p != ".":
			if d.IsDir() {
				return fs.SkipDir
			}
		case d.IsDir():
			// Skip folders that cannot hold a matching key.
			if p != "." && !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
		case d.Type().IsRegular() && strings.HasPrefix(p, prefix):
			keys = append(keys, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(keys)
	return keys, nil
}

// Close releases the root directory.
func (l *Local) Close() error { return l.root.Close() }

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	return err
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ctxReader stops a copy once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
