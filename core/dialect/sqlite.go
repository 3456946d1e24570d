package dialect

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// SQLite is the default dialect: a cgo SQLite in WAL mode with foreign keys
// on, one writer connection and a pool of read-only ones.
type SQLite struct{}

// Name implements Dialect.
func (SQLite) Name() string { return "sqlite" }

// Path returns the file path of a SQLite URL.
func (SQLite) Path(dsn string) string {
	for _, prefix := range []string{"sqlite3://", "sqlite://", "sqlite3:", "sqlite:", "file:"} {
		if strings.HasPrefix(strings.ToLower(dsn), prefix) {
			dsn = dsn[len(prefix):]
			break
		}
	}
	path, _, _ := strings.Cut(dsn, "?")
	return path
}

// Validate implements Dialect.
func (d SQLite) Validate(dsn string) error {
	if d.Path(dsn) == "" {
		return errors.New("sqlite URL has no file path")
	}
	return nil
}

// LogsDSN implements Dialect: logs live in auxiliary.db beside the data file,
// so that heavy log writes never wait for the data writer.
func (d SQLite) LogsDSN(dsn string) string {
	return "sqlite://" + filepath.Join(filepath.Dir(d.Path(dsn)), "auxiliary.db")
}

// Transient implements Dialect: a file that cannot be opened now will not
// open by waiting.
func (SQLite) Transient(error) bool { return false }

// Open implements Dialect.
func (d SQLite) Open(dsn string, opts Options) (Handles, error) {
	path := d.Path(dsn)
	if path == "" {
		return Handles{}, errors.New("sqlite: empty database path")
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	params := url.Values{
		"_journal_mode": {"WAL"},
		"_synchronous":  {"NORMAL"},
		"_foreign_keys": {"on"},
		"_busy_timeout": {fmt.Sprint(busy.Milliseconds())},
		"_cache_size":   {"-16000"},
		// Each connection keeps its recent statements prepared: a list
		// request no longer parses and plans its SQL every time.
		"_stmt_cache_size": {"64"},
	}

	writeParams := cloneValues(params)
	// IMMEDIATE takes the write lock at BEGIN, so a transaction never fails
	// half-way when it upgrades from reading to writing.
	writeParams.Set("_txlock", "immediate")
	views := &sqliteViews{}
	write, err := d.open(path, writeParams, opts, views.connected)
	if err != nil {
		return Handles{}, err
	}
	setPool(write, 1, 1, opts.ConnMaxLifetime)

	readParams := cloneValues(params)
	readParams.Set("_query_only", "1")
	read, err := d.open(path, readParams, opts, nil)
	if err != nil {
		_ = Handles{Write: write}.Close()
		return Handles{}, err
	}
	readers := opts.MaxOpenConns
	if readers <= 0 {
		readers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	idle := opts.MaxIdleConns
	if idle <= 0 || idle > readers {
		idle = readers
	}
	setPool(read, readers, idle, opts.ConnMaxLifetime)

	return Handles{Write: write, Read: read, Views: views}, nil
}

// open opens a pool on path; hook, if set, sees every new connection.
func (SQLite) open(path string, params url.Values, opts Options, hook func(*sqlite3.SQLiteConn) error) (*gorm.DB, error) {
	dsn := "file:" + path + "?" + params.Encode()
	pool := sql.OpenDB(sqliteConnector{dsn: dsn, drv: &sqlite3.SQLiteDriver{ConnectHook: hook}})
	db, err := gorm.Open(sqlite.New(sqlite.Config{DSN: dsn, Conn: pool}), gormConfig(opts))
	if err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// The write connection is opened first and creates the file, so WAL mode
	// is set before any reader connects.
	if err := db.Exec("SELECT 1").Error; err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// ColumnType implements Dialect.
func (SQLite) ColumnType(k Kind) string {
	switch k {
	case Bool:
		return "BOOLEAN DEFAULT FALSE NOT NULL"
	case Number:
		return "NUMERIC DEFAULT 0 NOT NULL"
	case Integer:
		return "INTEGER DEFAULT 0 NOT NULL"
	case JSON:
		return "JSON DEFAULT NULL"
	default:
		return "TEXT DEFAULT '' NOT NULL"
	}
}

// IndexColumn implements Dialect.
func (SQLite) IndexColumn(column string, nocase bool) string {
	if nocase {
		return QuoteIdent(column) + " COLLATE NOCASE"
	}
	return QuoteIdent(column)
}

// JSONArrayOf implements Dialect.
func (SQLite) JSONArrayOf(column string) string {
	c := QuoteIdent(column)
	return fmt.Sprintf("CASE WHEN %s = '' THEN '[]' ELSE json_array(%s) END", c, c)
}

// JSONArrayLast implements Dialect.
func (SQLite) JSONArrayLast(column string) string {
	c := QuoteIdent(column)
	return fmt.Sprintf("CASE WHEN json_valid(%s) AND json_type(%s) = 'array' THEN COALESCE(json_extract(%s, '$[#-1]'), '') ELSE %s END", c, c, c, c)
}

// ForUpdate implements Dialect: write transactions are IMMEDIATE and hold
// the database's write lock already.
func (SQLite) ForUpdate() string { return "" }

// Like implements Dialect: SQLite's LIKE ignores ASCII case.
func (SQLite) Like(expr, pattern string) string {
	return expr + " LIKE " + pattern + ` ESCAPE '\'`
}

// CastText implements Dialect.
func (SQLite) CastText(expr string) string { return "CAST(" + expr + " AS TEXT)" }

// NullSafeEq implements Dialect.
func (SQLite) NullSafeEq(a, b string, negate bool) string {
	if negate {
		return a + " IS NOT " + b
	}
	return a + " IS " + b
}

func sqliteArray(column string) string {
	return fmt.Sprintf("CASE WHEN json_valid(%s) THEN %s ELSE '[]' END", column, column)
}

// JSONArrayLength implements Dialect.
func (SQLite) JSONArrayLength(column string) string {
	return "json_array_length(" + sqliteArray(column) + ")"
}

// JSONEach implements Dialect.
func (SQLite) JSONEach(column, alias string) (string, string) {
	return "json_each(" + sqliteArray(column) + ") " + alias, alias + ".value"
}

// JSONExtract implements Dialect.
func (SQLite) JSONExtract(column string, keys []string) (string, bool) {
	var path strings.Builder
	path.WriteString("$")
	for _, k := range keys {
		if _, err := strconv.Atoi(k); err == nil {
			path.WriteString("[" + k + "]")
		} else {
			path.WriteString("." + k)
		}
	}
	return fmt.Sprintf("json_extract(%s, '%s')", column, path.String()), false
}

// RowID implements Dialect.
func (SQLite) RowID(table string) string { return table + "._rowid_" }

// Explain implements Dialect.
func (SQLite) Explain(query string) string { return "EXPLAIN QUERY PLAN " + query }

// IsUniqueViolation implements Dialect.
func (SQLite) IsUniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique ||
			se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	return false
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Scrub implements Dialect: secure_delete makes SQLite zero the content
// that rewrite frees (old versions of rows, freed overflow pages), on the
// write handle's single connection, and a TRUNCATE checkpoint then copies
// the rewritten pages over the old ones in the database file and empties
// the WAL, which held them too. A checkpoint that readers keep from
// finishing is an error; the rewrite itself stands.
func (SQLite) Scrub(db *gorm.DB, rewrite func() error) error {
	var was int
	if err := db.Raw("PRAGMA secure_delete").Row().Scan(&was); err != nil {
		return err
	}
	if err := db.Exec("PRAGMA secure_delete = ON").Error; err != nil {
		return err
	}
	err := rewrite()
	if restore := db.Exec(fmt.Sprintf("PRAGMA secure_delete = %d", was)).Error; err == nil {
		err = restore
	}
	if err != nil {
		return err
	}
	var busy, frames, done int
	if err := db.Raw("PRAGMA wal_checkpoint(TRUNCATE)").Row().Scan(&busy, &frames, &done); err != nil {
		return err
	}
	if busy != 0 {
		return errors.New("sqlite: the WAL checkpoint was blocked by readers; it completes later")
	}
	return nil
}
