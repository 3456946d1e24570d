package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hatchgrid/hatchgrid/core/datadir"
	"github.com/hatchgrid/hatchgrid/core/dialect"
)

// connectAttemptTimeout bounds one attempt to reach the database.
const connectAttemptTimeout = 10 * time.Second

// connect pings the data database until it answers. A server that is not
// ready yet (refused, silent, starting up) gets further attempts, with
// backoff, for database.connect_timeout; ctx (a signal) ends the wait at
// any moment.
func (a *App) connect(ctx context.Context, d dialect.Dialect) error {
	sqlDB, err := a.data.Write.DB()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(a.cfg.Database.ConnectTimeout)
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pingCtx, cancel := context.WithTimeout(ctx, connectAttemptTimeout)
		err = sqlDB.PingContext(pingCtx)
		cancel()
		if err == nil {
			if attempt > 1 {
				a.logger.Info("database reached", "dialect", d.Name(), "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.Transient(err) || time.Now().Add(backoff).After(deadline) {
			return err
		}
		a.logger.Warn("waiting for the database", "dialect", d.Name(), "attempt", attempt,
			"error", err.Error(), "gives_up_in", time.Until(deadline).Round(time.Second).String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// checkDataDirDatabase compares the database about to be opened with the
// one the data dir was first used with (its marker, datadir.Database).
// With another dialect and no database of this one yet, opening would
// start a new, empty database beside the data, as a CLI command run
// without the server's HG_DATABASE_URL once did: it refuses, before
// anything is created for SQLite and, for PostgreSQL, in the returned
// check that runs once connected. That check also writes the marker of a
// data dir that has none, new or from an older version.
func (a *App) checkDataDirDatabase(d dialect.Dialect, dsn string) (func(context.Context) error, error) {
	dir := a.cfg.DataDir
	marker, known, err := datadir.ReadDatabase(dir)
	if err != nil {
		return nil, fmt.Errorf("read the data dir's database marker: %w", err)
	}
	url, _ := dialect.RedactURL(dsn, "REDACTED")
	if !known {
		return func(context.Context) error {
			err := datadir.WriteDatabase(dir, datadir.Database{Dialect: d.Name(), URL: url, Since: time.Now().UTC()})
			if err != nil {
				a.logger.Warn("could not write the data dir's database marker", "error", err.Error())
			}
			return nil
		}, nil
	}
	if marker.Dialect == d.Name() {
		return func(context.Context) error { return nil }, nil
	}
	refuse := func() error {
		return &otherDatabaseError{dir: dir, was: marker, dialect: d.Name(), url: url}
	}
	if sq, ok := d.(dialect.SQLite); ok {
		if _, err := os.Stat(sq.Path(dsn)); errors.Is(err, os.ErrNotExist) {
			return nil, refuse()
		}
		return func(context.Context) error { return nil }, nil
	}
	return func(ctx context.Context) error {
		// A database Hatchgrid never migrated is a new one.
		if a.data.Write.WithContext(ctx).Migrator().HasTable("_migrations") {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return refuse()
	}, nil
}

// otherDatabaseError is checkDataDirDatabase's refusal.
type otherDatabaseError struct {
	dir     string
	was     datadir.Database
	dialect string
	url     string
}

func (e *otherDatabaseError) Error() string {
	marker := filepath.Join(e.dir, datadir.DatabaseFileName)
	was := dialectTitle(e.was.Dialect)
	if e.was.URL != "" {
		was += " (" + e.was.URL + ")"
	}
	fix := "run it with the server's database URL (HG_DATABASE_URL, or database.url in a --config file)"
	if e.was.Dialect == "sqlite" {
		fix = "run it without a PostgreSQL database URL to use the SQLite data"
	}
	return fmt.Sprintf("data dir %s was used with %s: this command would create a new, empty %s database (%s) beside that data; %s, or delete %s to use this data dir with %s from now on",
		e.dir, was, dialectTitle(e.dialect), e.url, fix, marker, dialectTitle(e.dialect))
}

func dialectTitle(name string) string {
	switch name {
	case "sqlite":
		return "SQLite"
	case "postgres":
		return "PostgreSQL"
	}
	return name
}
