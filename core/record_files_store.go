package core

import (
	"context"
	"io"
	"time"

	"github.com/hatchgrid/hatchgrid/core/filesystem"
	"github.com/hatchgrid/hatchgrid/core/security"
)

// s3Store is the S3 store of record files and the settings it was built
// from.
type s3Store struct {
	cfg   S3Settings
	store filesystem.Store
}

// fileStore returns the store of record files under the current
// settings: S3 while settings.s3 is enabled, the local store otherwise. It
// reads the settings on every call, so a change (saved here, or loaded
// after another instance saved it) moves uploads, downloads, thumbnails
// and deletes at once; files already stored stay where they are.
func (a *App) fileStore() filesystem.Store {
	cfg := a.s3Settings()
	if !cfg.Enabled {
		return a.files.local
	}
	if cur := a.files.s3.Load(); cur != nil && cur.cfg == cfg {
		return cur.store
	}
	a.files.mu.Lock()
	defer a.files.mu.Unlock()
	if cur := a.files.s3.Load(); cur != nil && cur.cfg == cfg {
		return cur.store
	}
	var store filesystem.Store
	s, err := a.NewS3Store(cfg)
	if err != nil {
		a.logger.Error("S3 file storage is misconfigured; file operations fail until the settings are fixed", "error", err)
		store = failedStore{err}
	} else {
		store = s
	}
	if old := a.files.s3.Swap(&s3Store{cfg: cfg, store: store}); old != nil {
		// Only idle connections close: operations in flight finish.
		_ = old.store.Close()
	}
	return store
}

// s3Settings returns the current settings.s3 without copying the rest.
func (a *App) s3Settings() S3Settings {
	if s := a.settings.current.Load(); s != nil {
		return s.S3
	}
	return S3Settings{}
}

// NewS3Store returns a store on the bucket of cfg (settings.s3 or
// settings.backups.s3) whose connections pass the destination policy of
// OutboundService.
func (a *App) NewS3Store(cfg S3Settings) (*filesystem.S3, error) {
	return filesystem.NewS3(filesystem.S3Config{
		Endpoint:       cfg.Endpoint,
		Bucket:         cfg.Bucket,
		Region:         cfg.Region,
		AccessKey:      cfg.AccessKey,
		Secret:         cfg.Secret,
		ForcePathStyle: cfg.ForcePathStyle,
		Dialer:         a.OutboundPolicy(OutboundService).Dialer(30 * time.Second),
	})
}

// s3TestTimeout bounds TestS3, retries included.
const s3TestTimeout = 30 * time.Second

// TestS3 checks S3 settings (settings.s3 or settings.backups.s3) as
// PocketBase's POST /api/settings/test/s3 does: it uploads a small file
// under a random "hg_settings_test_" prefix, lists it and deletes it. A
// failure is an invalid Error. Settings that are off or malformed say so;
// what the endpoint answered (or why it could not be reached) is logged,
// not returned: the raw text of a remote service chosen by whoever edits
// the settings would make this a probe of the internal network.
func (a *App) TestS3(ctx context.Context, cfg S3Settings) error {
	const failed = "Failed to test the S3 filesystem."
	if !cfg.Enabled {
		return &Error{Code: CodeInvalid, Message: failed + " Raw error: \nS3 storage filesystem is not enabled."}
	}
	s, err := a.NewS3Store(cfg)
	if err != nil {
		return &Error{Code: CodeInvalid, Message: failed + " Raw error: \nfailed to initialize the S3 filesystem: " + err.Error() + ".", Err: err}
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(ctx, s3TestTimeout)
	defer cancel()
	if err := s.Check(ctx, "hg_settings_test_"+security.RandomString(5, security.IDAlphabet)); err != nil {
		a.logger.WarnContext(ctx, "S3 settings test failed", "endpoint", cfg.Endpoint, "bucket", cfg.Bucket, "error", err.Error())
		return &Error{Code: CodeInvalid, Message: failed, Err: err}
	}
	return nil
}

// failedStore stands in for a store that could not be built: every
// operation fails with its error.
type failedStore struct{ err error }

func (f failedStore) Upload(context.Context, string, io.Reader) error { return f.err }
func (f failedStore) Open(context.Context, string) (*filesystem.Object, error) {
	return nil, f.err
}
func (f failedStore) Delete(context.Context, string) error           { return f.err }
func (f failedStore) Exists(context.Context, string) (bool, error)   { return false, f.err }
func (f failedStore) List(context.Context, string) ([]string, error) { return nil, f.err }
func (f failedStore) Close() error                                   { return nil }
