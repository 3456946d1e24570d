package backups

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hatchgrid/hatchgrid/core"
)

// Temporary folders in the data directory: a restore's staging area (the
// unpacked archive, then the replaced files) and a backup's scratch space.
// Bootstrap removes those left behind, once the data it found is usable.
const (
	restoreDirPrefix = ".hg_restore_"
	backupDirPrefix  = ".hg_backup_"
)

// serveState is what a restore needs of the running server: the server to
// stop, the way to restart the process, and the serve hook to hold until
// the process is replaced.
type serveState struct {
	mu         sync.Mutex
	server     *http.Server
	restart    func() error // ServeEvent.Restart; nil when serve offers none
	restarting bool
	stopped    bool // the server stopped: a restore may no longer begin its restart
	failed     chan error
}

// onServe remembers the server and, when it stops for a restore, keeps
// the serve command from returning (and the process from exiting) until
// the restore has put its files in place and replaced the process, or
// failed, or given way to a SIGINT/SIGTERM.
func (p *Plugin) onServe(e *core.ServeEvent) error {
	p.serve.mu.Lock()
	p.serve.server = e.Server
	p.serve.restart = e.Restart
	if p.serve.failed == nil {
		p.serve.failed = make(chan error, 1)
	}
	failed := p.serve.failed
	p.serve.mu.Unlock()

	err := e.Next()

	p.serve.mu.Lock()
	restarting := p.serve.restarting
	p.serve.stopped = true
	p.serve.mu.Unlock()
	if restarting {
		rerr := <-failed
		if errors.Is(rerr, core.ErrRestartCancelled) {
			p.app.Logger().Info("backup restored; the server stops as asked and serves the restored data when started again",
				"component", "backups")
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("restore: %w", rerr)
		}
	}
	return err
}

// Restore checks the backup key, unpacks it into a staging folder and
// then, in the background, stops the server and the app, puts the
// restored files in place and restarts. Errors found before the restart
// are returned; a bad archive is a 400.
func (p *Plugin) Restore(ctx context.Context, key string) error {
	if !p.isSQLite() {
		return errPostgres()
	}
	if !validKey(key) {
		return core.Errorf(core.CodeInvalid, "Invalid backup key.")
	}
	if !p.acquire(key) {
		return errBusy()
	}
	staging, err := p.stage(ctx, key)
	if err != nil {
		p.release()
		return err
	}
	// Marked in the request, which the server's shutdown waits for: a
	// serve hook that returns after this waits for the restart, and one
	// that returned before makes the restore give up, so that the process
	// never exits half-way through putting the files in place.
	p.serve.mu.Lock()
	stopped := p.serve.stopped
	if p.serve.server != nil && !stopped {
		p.serve.restarting = true
	}
	p.serve.mu.Unlock()
	if stopped {
		removeAll(staging)
		p.release()
		return core.Errorf(core.CodeInvalid, "Try again later - the server is stopping.")
	}
	go p.restart(staging)
	return nil
}

// stage downloads and unpacks the backup key into a new staging folder,
// returned when the archive is valid.
func (p *Plugin) stage(ctx context.Context, key string) (string, error) {
	obj, err := p.open(ctx, key)
	if core.ErrorCodeOf(err) == core.CodeNotFound {
		return "", core.Errorf(core.CodeInvalid, "Missing or invalid backup file.")
	}
	if err != nil {
		return "", err
	}
	defer obj.Close()
	staging, err := p.tempDir(restoreDirPrefix)
	if err != nil {
		return "", err
	}
	archive := filepath.Join(staging, "backup.zip")
	if err := copyTo(archive, obj); err != nil {
		removeAll(staging)
		return "", err
	}
	err = extractArchive(ctx, archive, filepath.Join(staging, "new"))
	_ = os.Remove(archive)
	if err != nil {
		removeAll(staging)
		if errors.Is(err, errInvalidArchive) {
			return "", core.Wrap(err, core.CodeInvalid, "Invalid backup file: "+strings.TrimPrefix(err.Error(), errInvalidArchive.Error()+": ")+".")
		}
		return "", err
	}
	return staging, nil
}

func copyTo(dst string, r io.Reader) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// restart stops the server (letting requests in flight, the restore's
// own 204 among them, finish), shuts the app down so that no connection
// holds the databases, swaps the restored files in and restarts.
func (p *Plugin) restart(staging string) {
	log := p.app.Logger().With("component", "backups")
	p.serve.mu.Lock()
	srv, failed, serveRestart := p.serve.server, p.serve.failed, p.serve.restart
	p.serve.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), p.app.Config().Server.ShutdownTimeout)
	defer cancel()
	log.Info("restoring a backup: stopping the server")
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("restore: server shutdown", "error", err)
		}
	}
	if err := p.app.Shutdown(ctx); err != nil {
		log.Warn("restore: app shutdown", "error", err)
	}
	// A failed swap has put the old files back: restarting on them beats
	// leaving the process without a server.
	if err := p.swap(staging); err != nil {
		log.Error("restore failed: restarting on the data as it was", "error", err)
	} else {
		log.Info("backup restored: restarting")
	}
	restart := p.Restart
	if restart == nil {
		restart = serveRestart
	}
	if restart == nil {
		restart = execSelf
	}
	err := restart()
	if err != nil && !errors.Is(err, core.ErrRestartCancelled) {
		log.Error("restart after a restore failed", "error", err)
	}
	p.release()
	if srv != nil {
		failed <- err
	}
}

// swap moves the current databases (with their WAL and shared-memory
// files) and storage folder into staging/old, then the restored ones from
// staging/new into place. A failure moves back what was moved. staging/old
// stays until the next bootstrap succeeds.
func (p *Plugin) swap(staging string) error {
	dataPath, auxPath := p.dbPaths()
	storage := p.storagePath()
	newDir, oldDir := filepath.Join(staging, "new"), filepath.Join(staging, "old")
	if err := os.MkdirAll(oldDir, 0o700); err != nil {
		return err
	}
	type move struct{ from, to string }
	var done []move
	mv := func(from, to string) error {
		if _, err := os.Lstat(from); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err := os.Rename(from, to); err != nil {
			return err
		}
		done = append(done, move{from, to})
		return nil
	}
	var aside []string
	for _, db := range []string{dataPath, auxPath} {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			aside = append(aside, db+suffix)
		}
	}
	aside = append(aside, storage)
	var err error
	for i, f := range aside {
		if err = mv(f, filepath.Join(oldDir, fmt.Sprintf("%02d_%s", i, filepath.Base(f)))); err != nil {
			break
		}
	}
	if err == nil {
		for src, dst := range map[string]string{dataDBName: dataPath, auxDBName: auxPath, storageDir: storage} {
			if err = mv(filepath.Join(newDir, src), dst); err != nil {
				break
			}
		}
	}
	if err != nil {
		for i := len(done) - 1; i >= 0; i-- {
			_ = os.Rename(done[i].to, done[i].from)
		}
		return fmt.Errorf("put the restored files in place: %w", err)
	}
	return nil
}

// cleanupRestoreDirs removes staging and scratch folders that an earlier
// run left in the data directory: the data in place booted, so the files
// a restore replaced are no longer needed.
func (p *Plugin) cleanupRestoreDirs() {
	dir := p.app.Config().DataDir
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() && (strings.HasPrefix(e.Name(), restoreDirPrefix) || strings.HasPrefix(e.Name(), backupDirPrefix)) {
			removeAll(filepath.Join(dir, e.Name()))
		}
	}
}
