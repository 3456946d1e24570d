package backups

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/dialect"
	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver of the VACUUM INTO connections
)

// The names of an archive's entries.
const (
	dataDBName   = "data.db"
	auxDBName    = "auxiliary.db"
	storageDir   = "storage"
	sqliteHeader = "SQLite format 3\x00"
)

// dbPaths returns the files of the data and logs databases.
func (p *Plugin) dbPaths() (data, aux string) {
	var d dialect.SQLite
	dsn := p.app.Config().DatabaseURL()
	return d.Path(dsn), d.Path(d.LogsDSN(dsn))
}

// storagePath is the local file storage folder.
func (p *Plugin) storagePath() string {
	return filepath.Join(p.app.Config().DataDir, storageDir)
}

// writeArchive copies the databases into tmp with VACUUM INTO (a
// consistent snapshot while the app keeps writing) and zips them with the
// local file storage into archive. Only these go in: never the backups
// folder, temporary folders or other local state.
func (p *Plugin) writeArchive(ctx context.Context, tmp, archive string) error {
	dataPath, auxPath := p.dbPaths()
	dataCopy := filepath.Join(tmp, dataDBName)
	if err := vacuumInto(ctx, dataPath, dataCopy); err != nil {
		return fmt.Errorf("copy %s: %w", dataDBName, err)
	}
	auxCopy := ""
	if _, err := os.Stat(auxPath); err == nil {
		auxCopy = filepath.Join(tmp, auxDBName)
		if err := vacuumInto(ctx, auxPath, auxCopy); err != nil {
			return fmt.Errorf("copy %s: %w", auxDBName, err)
		}
	}

	f, err := os.OpenFile(archive, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	err = addFile(zw, dataDBName, dataCopy)
	if err == nil && auxCopy != "" {
		err = addFile(zw, auxDBName, auxCopy)
	}
	if err == nil {
		err = addStorage(ctx, zw, p.storagePath())
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// vacuumInto writes a compacted, consistent copy of the SQLite database
// src to dst on a connection of its own, which reads a snapshot and so
// never blocks the app's writer.
func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite3", "file:"+src+"?"+url.Values{"_busy_timeout": {"10000"}}.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", dst)
	return err
}

func addFile(zw *zip.Writer, name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	h, err := zip.FileInfoHeader(info)
	if err != nil {
		return err
	}
	h.Name, h.Method = name, zip.Deflate
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, f)
	return err
}

// addStorage adds the regular files under dir as storage/<path>,
// skipping dot files (uploads in progress) and symbolic links.
func addStorage(ctx context.Context, zw *zip.Writer, dir string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return addFile(zw, storageDir+"/"+filepath.ToSlash(rel), p)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// errInvalidArchive is the cause of every rejected archive.
var errInvalidArchive = errors.New("invalid backup archive")

// entryTarget returns where an archive entry goes, relative to the data
// directory, or "" for an entry that a restore ignores. Unsafe names are
// errors.
func entryTarget(name string) (string, error) {
	clean := path.Clean(name)
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") ||
		clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(name, "\x00") {
		return "", fmt.Errorf("%w: unsafe entry name %q", errInvalidArchive, name)
	}
	switch {
	case clean == dataDBName || clean == auxDBName:
		return clean, nil
	case strings.HasPrefix(clean, storageDir+"/"):
		return clean, nil
	}
	return "", nil
}

// checkArchive validates the zip archive at path: safe entry names and a
// data.db that starts as a SQLite database does.
func checkArchive(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("%w: not a zip archive", errInvalidArchive)
	}
	defer zr.Close()
	return checkZip(&zr.Reader)
}

// checkZip validates an open archive, as checkArchive.
func checkZip(zr *zip.Reader) error {
	found := false
	for _, f := range zr.File {
		target, err := entryTarget(f.Name)
		if err != nil {
			return err
		}
		if target != dataDBName || f.FileInfo().IsDir() {
			continue
		}
		found = true
		if err := checkSQLiteHeader(f); err != nil {
			return err
		}
	}
	if !found {
		return fmt.Errorf("%w: no %s in it", errInvalidArchive, dataDBName)
	}
	return nil
}

func checkSQLiteHeader(f *zip.File) error {
	r, err := f.Open()
	if err != nil {
		return fmt.Errorf("%w: %v", errInvalidArchive, err)
	}
	defer r.Close()
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, []byte(sqliteHeader)) {
		return fmt.Errorf("%w: %s is not a SQLite database", errInvalidArchive, dataDBName)
	}
	return nil
}

// extractArchive checks the archive at src and unpacks the entries a
// restore uses into dst, then checks the unpacked data.db with SQLite's
// quick_check.
func extractArchive(ctx context.Context, src, dst string) error {
	if err := checkArchive(src); err != nil {
		return err
	}
	zr, err := zip.OpenReader(src)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		target, err := entryTarget(f.Name)
		if err != nil {
			return err
		}
		if target == "" || f.FileInfo().IsDir() || !f.Mode().IsRegular() {
			continue
		}
		if err := extractFile(f, filepath.Join(dst, filepath.FromSlash(target))); err != nil {
			return err
		}
	}
	return checkDatabase(ctx, filepath.Join(dst, dataDBName))
}

func extractFile(f *zip.File, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	r, err := f.Open()
	if err != nil {
		return fmt.Errorf("%w: %v", errInvalidArchive, err)
	}
	defer r.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", errInvalidArchive, f.Name, err)
	}
	return nil
}

// checkDatabase opens the SQLite file read-only and runs quick_check; it
// must also hold Hatchgrid's _collections table.
func checkDatabase(ctx context.Context, file string) error {
	db, err := sql.Open("sqlite3", "file:"+file+"?mode=ro&immutable=1")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
		return fmt.Errorf("%w: %s: %v", errInvalidArchive, dataDBName, err)
	}
	if res != "ok" {
		return fmt.Errorf("%w: %s fails its integrity check: %s", errInvalidArchive, dataDBName, res)
	}
	var n int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_collections'").Scan(&n)
	if err != nil || n == 0 {
		return fmt.Errorf("%w: %s is not a Hatchgrid database", errInvalidArchive, dataDBName)
	}
	return nil
}
