package backups

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/filesystem"
)

// Name prefixes: backups made by the API and by the cron schedule. Only
// auto backups are pruned.
const (
	ManualPrefix = "hg_backup_"
	AutoPrefix   = "@auto_hg_backup_"
)

// s3Prefix is where backups are kept in the backups bucket, so that the
// bucket may be shared with record files.
const s3Prefix = "backups/"

// localDirName is the folder of local backups inside the data directory.
const localDirName = "backups"

// Plugin serves the backups API and runs scheduled backups. The zero value
// is ready to use.
type Plugin struct {
	// PollInterval is how often the settings are checked for a changed
	// cron schedule (default 5s).
	PollInterval time.Duration
	// Restart is called once a restore has shut the app down and put the
	// restored files in place. Nil uses the serve command's
	// (ServeEvent.Restart, which keeps the listening socket open across
	// the restart) or, without one, replaces the process with a fresh run
	// of the same binary and arguments (syscall.Exec); tests set their own.
	Restart func() error

	app *core.App

	mu     sync.Mutex
	active string // the backup being created or restored, "" when idle
	local  *filesystem.Local
	s3     *s3Store

	sched scheduler
	serve serveState
}

// Name implements core.Plugin.
func (p *Plugin) Name() string { return "backups" }

// Register implements core.Plugin: it watches the backup schedule from
// bootstrap to termination and takes part in restarts after a restore.
func (p *Plugin) Register(app *core.App) error {
	p.app = app
	// A backup is the whole database, token keys and secrets included:
	// no policy may hand it to someone who is not a superuser.
	if err := app.AddSuperuserOnlyResource(Resource); err != nil {
		return err
	}
	app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		if !p.isSQLite() {
			return nil
		}
		p.cleanupRestoreDirs()
		p.startScheduler()
		return nil
	})
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		p.stopScheduler()
		p.closeStores()
		return e.Next()
	})
	app.OnServe().BindFunc(p.onServe)
	return nil
}

// Resource names the backups among the admin resources. It is
// superuser-only (core.App.AddSuperuserOnlyResource): GET /api/hg/access
// reports it, and no policy can grant it.
const Resource = "admin:backups"

// isSQLite reports whether the data database is SQLite: the only dialect
// whose data the plugin can back up.
func (p *Plugin) isSQLite() bool {
	return p.app.Dialect() != nil && p.app.Dialect().Name() == "sqlite"
}

// errPostgres is every endpoint's answer on PostgreSQL.
func errPostgres() error {
	return core.Errorf(core.CodeInvalid, "Backups are not supported on PostgreSQL: back up the database with pg_dump and restore it with pg_restore.")
}

func errBusy() error {
	return core.Errorf(core.CodeInvalid, "Try again later - another backup/restore process has already been started.")
}

// namePattern is what a backup name given to create must match, as in
// PocketBase.
var namePattern = regexp.MustCompile(`^[a-z0-9_-]+\.zip$`)

// keyPattern is what any stored backup key matches: a plain file name
// (auto backups start with "@"). Anything else, a path above all, is a bad
// key.
var keyPattern = regexp.MustCompile(`^@?[A-Za-z0-9_][A-Za-z0-9_.-]*\.zip$`)

// validKey reports whether key may name a backup.
func validKey(key string) bool {
	return len(key) <= 150 && keyPattern.MatchString(key) && !strings.Contains(key, "..")
}

// newName returns a fresh backup name with prefix and the time t.
func newName(prefix string, t time.Time) string {
	return prefix + t.UTC().Format("20060102150405") + ".zip"
}

// acquire marks key as the active operation; false means another one runs.
func (p *Plugin) acquire(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active != "" {
		return false
	}
	p.active = key
	return true
}

func (p *Plugin) release() {
	p.mu.Lock()
	p.active = ""
	p.mu.Unlock()
}

func (p *Plugin) activeKey() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.active
}

// Info describes one stored backup as GET /api/backups lists it.
type Info struct {
	Key      string `json:"key"`
	Size     int64  `json:"size"`
	Modified string `json:"modified"`

	modTime time.Time
}

// List returns the stored backups, newest first.
func (p *Plugin) List(ctx context.Context) ([]Info, error) {
	store, prefix, err := p.store()
	if err != nil {
		return nil, err
	}
	keys, err := store.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(keys))
	for _, k := range keys {
		name := strings.TrimPrefix(k, prefix)
		if strings.Contains(name, "/") || !strings.HasSuffix(name, ".zip") {
			continue
		}
		obj, err := store.Open(ctx, k)
		if errors.Is(err, filesystem.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		_ = obj.Close()
		out = append(out, Info{Key: name, Size: obj.Size, Modified: core.FormatTime(obj.ModTime), modTime: obj.ModTime})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].modTime.Equal(out[j].modTime) {
			return out[i].modTime.After(out[j].modTime)
		}
		return out[i].Key > out[j].Key
	})
	return out, nil
}

// Create makes a backup named name ("" for a generated one), which must
// match ^[a-z0-9_-]+\.zip$. It fails with a 400 error while another
// backup or restore runs.
func (p *Plugin) Create(ctx context.Context, name string) error {
	if !p.isSQLite() {
		return errPostgres()
	}
	if name == "" {
		name = newName(ManualPrefix, p.app.Now())
	} else if !namePattern.MatchString(name) || len(name) > 150 {
		return core.Errorf(core.CodeInvalid, "Invalid backup name.")
	}
	if !p.acquire(name) {
		return errBusy()
	}
	defer p.release()
	return p.makeBackup(ctx, name)
}

func (p *Plugin) makeBackup(ctx context.Context, name string) error {
	store, prefix, err := p.store()
	if err != nil {
		return err
	}
	tmp, err := p.tempDir(".hg_backup_")
	if err != nil {
		return err
	}
	defer removeAll(tmp)
	archive := filepath.Join(tmp, "backup.zip")
	if err := p.writeArchive(ctx, tmp, archive); err != nil {
		return fmt.Errorf("backups: create %s: %w", name, err)
	}
	if err := uploadFile(ctx, store, prefix+name, archive); err != nil {
		return fmt.Errorf("backups: store %s: %w", name, err)
	}
	p.app.Logger().Info("backup created", "component", "backups", "key", name)
	return nil
}

// Delete removes the backup key. The backup in use by a running restore
// cannot be deleted.
func (p *Plugin) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return core.Errorf(core.CodeInvalid, "Invalid backup key.")
	}
	if p.activeKey() == key {
		return core.Errorf(core.CodeInvalid, "The backup is currently being used and cannot be deleted.")
	}
	store, prefix, err := p.store()
	if err != nil {
		return err
	}
	err = store.Delete(ctx, prefix+key)
	if errors.Is(err, filesystem.ErrNotFound) {
		return core.Errorf(core.CodeInvalid, "Invalid or already deleted backup file.")
	}
	return err
}
