package datadir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DatabaseFileName is the marker file that records which database a data
// directory was first used with.
const DatabaseFileName = "hatchgrid.database"

// Database is what a data directory's marker records.
type Database struct {
	// Dialect is "sqlite" or "postgres".
	Dialect string `json:"dialect"`
	// URL is the database's URL without its password, for messages.
	URL   string    `json:"url,omitempty"`
	Since time.Time `json:"since"`
}

// ReadDatabase returns the marker of dir; ok is false when there is none:
// a new data directory, or one from a version that wrote no marker. A
// marker cut short by a crash reads as none.
func ReadDatabase(dir string) (db Database, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, DatabaseFileName))
	if errors.Is(err, os.ErrNotExist) {
		return Database{}, false, nil
	}
	if err != nil {
		return Database{}, false, err
	}
	if json.Unmarshal(data, &db) != nil || db.Dialect == "" {
		return Database{}, false, nil
	}
	return db, true, nil
}

// WriteDatabase records db as dir's database. The marker appears whole
// or not at all, and an existing one is replaced only when it did not
// read (ReadDatabase said none).
func WriteDatabase(dir string, db Database) error {
	data, err := json.Marshal(db)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+DatabaseFileName+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	path := filepath.Join(dir, DatabaseFileName)
	if _, ok, err := ReadDatabase(dir); err != nil || ok {
		return err // another process wrote it first
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
