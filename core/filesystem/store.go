package filesystem

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// Errors of every Store.
var (
	// ErrNotFound is returned for a key that holds no file.
	ErrNotFound = errors.New("filesystem: file not found")
	// ErrInvalidKey is returned for a key that is empty, absolute, or has
	// empty, "." or ".." segments, backslashes or NUL bytes: keys never
	// leave the store's root.
	ErrInvalidKey = errors.New("filesystem: invalid key")
)

// maxKeyLength bounds keys; S3 allows 1,024 bytes.
const maxKeyLength = 1024

// Store keeps files under slash-separated keys such as
// "<collectionId>/<recordId>/<filename>". Implementations are safe for
// concurrent use.
type Store interface {
	// Upload writes r's content under key, replacing any file there. A
	// reader of key sees the old content or the new, never a part.
	Upload(ctx context.Context, key string, r io.Reader) error
	// Open returns the file at key; the caller closes it. A missing file
	// is ErrNotFound.
	Open(ctx context.Context, key string) (*Object, error)
	// Delete removes the file at key; a missing file is ErrNotFound.
	Delete(ctx context.Context, key string) error
	// Exists reports whether a file is stored at key.
	Exists(ctx context.Context, key string) (bool, error)
	// List returns, sorted, the keys of every file whose key starts with
	// prefix ("a/b/" for a folder, "a/b/x_" for names).
	List(ctx context.Context, prefix string) ([]string, error)
	// Close releases the store.
	Close() error
}

// Object is an open stored file.
type Object struct {
	io.ReadSeekCloser
	Key     string
	Size    int64
	ModTime time.Time
}

// ValidateKey returns ErrInvalidKey unless key is a clean relative path
// of non-empty segments.
func ValidateKey(key string) error {
	if key == "" || len(key) > maxKeyLength || strings.ContainsAny(key, "\\\x00") || strings.HasPrefix(key, "/") {
		return ErrInvalidKey
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return ErrInvalidKey
		}
	}
	return nil
}

// validatePrefix accepts "" (everything) and any prefix of a valid key.
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	// "a/b/" is the prefix of the valid key "a/b/x".
	return ValidateKey(strings.TrimSuffix(prefix, "/") + "/x")
}

// prefixDeleter is a Store that deletes many keys at once (S3's batch
// delete), which DeletePrefix prefers to one Delete per key.
type prefixDeleter interface {
	deletePrefix(ctx context.Context, prefix string) error
}

// DeletePrefix deletes every file whose key starts with prefix. Files that
// vanish meanwhile are not errors; it returns the other failures joined.
// An empty prefix is refused: it would empty the store.
func DeletePrefix(ctx context.Context, s Store, prefix string) error {
	if prefix == "" {
		return ErrInvalidKey
	}
	if b, ok := s.(prefixDeleter); ok {
		return b.deletePrefix(ctx, prefix)
	}
	keys, err := s.List(ctx, prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		if err := s.Delete(ctx, k); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
