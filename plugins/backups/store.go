package backups

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/filesystem"
)

// s3Store is the S3 store of backups and the settings it was built from.
type s3Store struct {
	cfg   core.S3Settings
	store *filesystem.S3
}

// store returns where backups are kept under the current settings, and
// the key prefix there: the bucket of settings.backups.s3 while it is
// enabled, <data_dir>/backups otherwise. Settings are read on every call,
// so a change applies to the next request.
func (p *Plugin) store() (filesystem.Store, string, error) {
	cfg := p.app.Settings().Backups.S3
	p.mu.Lock()
	defer p.mu.Unlock()
	if cfg.Enabled {
		if p.s3 != nil && p.s3.cfg == cfg {
			return p.s3.store, s3Prefix, nil
		}
		s, err := p.app.NewS3Store(cfg)
		if err != nil {
			return nil, "", core.Wrap(err, core.CodeInvalid, "Failed to load backups filesystem.")
		}
		if p.s3 != nil {
			_ = p.s3.store.Close()
		}
		p.s3 = &s3Store{cfg: cfg, store: s}
		return s, s3Prefix, nil
	}
	if p.local == nil {
		l, err := filesystem.NewLocal(filepath.Join(p.app.Config().DataDir, localDirName))
		if err != nil {
			return nil, "", err
		}
		p.local = l
	}
	return p.local, "", nil
}

func (p *Plugin) closeStores() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.local != nil {
		_ = p.local.Close()
		p.local = nil
	}
	if p.s3 != nil {
		_ = p.s3.store.Close()
		p.s3 = nil
	}
}

// exists reports whether the backup key is stored.
func (p *Plugin) exists(ctx context.Context, key string) (bool, error) {
	store, prefix, err := p.store()
	if err != nil {
		return false, err
	}
	return store.Exists(ctx, prefix+key)
}

// open opens the stored backup key; a missing one is a 404 error.
func (p *Plugin) open(ctx context.Context, key string) (*filesystem.Object, error) {
	if !validKey(key) {
		return nil, core.Errorf(core.CodeInvalid, "Invalid backup key.")
	}
	store, prefix, err := p.store()
	if err != nil {
		return nil, err
	}
	obj, err := store.Open(ctx, prefix+key)
	if errors.Is(err, filesystem.ErrNotFound) || errors.Is(err, filesystem.ErrInvalidKey) {
		return nil, core.Errorf(core.CodeNotFound, "The requested backup wasn't found.")
	}
	return obj, err
}

// uploadFile stores the local file path under key.
func uploadFile(ctx context.Context, store filesystem.Store, key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return store.Upload(ctx, key, f)
}

// uploadReader stores r under key.
func uploadReader(ctx context.Context, store filesystem.Store, key string, r io.Reader) error {
	return store.Upload(ctx, key, r)
}

// tempDir creates a fresh folder named prefix plus random characters in
// the data directory, so that renames from it into place stay on one
// file system.
func (p *Plugin) tempDir(prefix string) (string, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	dir := filepath.Join(p.app.Config().DataDir, prefix+hex.EncodeToString(b))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

func removeAll(dir string) { _ = os.RemoveAll(dir) }
