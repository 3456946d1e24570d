package dialect

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Kind is a portable column type; each Dialect maps it to its own type.
type Kind int

// The portable column kinds.
const (
	Text    Kind = iota // UTF-8 text
	Bool                // true/false
	Number              // 64-bit float
	Integer             // 64-bit integer
	JSON                // a JSON document
)

// Options configure how a database is opened and pooled.
type Options struct {
	// MaxOpenConns caps the pool (readers on SQLite; the whole pool on
	// PostgreSQL). Zero picks a default suited to the dialect.
	MaxOpenConns int
	// MaxIdleConns caps idle connections kept in the pool.
	MaxIdleConns int
	// ConnMaxLifetime recycles connections older than this; zero keeps them.
	ConnMaxLifetime time.Duration
	// StatementTimeout aborts statements running longer than this
	// (PostgreSQL); zero disables it.
	StatementTimeout time.Duration
	// BusyTimeout is how long SQLite waits for a lock before failing.
	BusyTimeout time.Duration
	// GORM is the GORM configuration shared by every handle.
	GORM *gorm.Config
	// ViewRole is the PostgreSQL role that owns restricted views (see
	// ViewGuard); "" means hatchgrid_views.
	ViewRole string
}

// Handles are the connection pools of one database. On SQLite, Write has a
// single connection (SQLite allows one writer at a time) and Read several
// read-only ones; on PostgreSQL both are the same pool.
type Handles struct {
	Write *gorm.DB
	Read  *gorm.DB
	// Views checks restricted views (see ViewGuard).
	Views ViewGuard
}

// Close closes every pool of h.
func (h Handles) Close() error {
	var first error
	seen := map[*gorm.DB]bool{}
	for _, db := range []*gorm.DB{h.Write, h.Read} {
		if db == nil || seen[db] {
			continue
		}
		seen[db] = true
		sqlDB, err := db.DB()
		if err == nil {
			err = sqlDB.Close()
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Dialect is one SQL database engine.
type Dialect interface {
	// Name is "sqlite" or "postgres".
	Name() string

	// Validate checks a database URL of this dialect without connecting.
	Validate(dsn string) error

	// Open connects to the database at dsn (a URL of the dialect's scheme).
	Open(dsn string, opts Options) (Handles, error)

	// LogsDSN returns where request logs are kept for the data database at
	// dsn, or "" when they share the data database.
	LogsDSN(dsn string) string

	// Transient reports whether a failure to connect may pass by itself:
	// the server refused the connection, did not answer in time or said
	// it is starting. Wrong credentials or a missing database do not.
	Transient(err error) bool

	// ColumnType maps a portable kind to a column type with its NOT NULL
	// constraint and zero-value default.
	ColumnType(k Kind) string

	// IndexColumn is an index key on column; nocase makes it
	// case-insensitive (SQLite's COLLATE NOCASE, LOWER() on PostgreSQL).
	IndexColumn(column string, nocase bool) string

	// JSONArrayOf is an expression wrapping the text column in a one-element
	// JSON array ('[]' for an empty string), as text.
	JSONArrayOf(column string) string

	// JSONArrayLast is an expression for the last element of the JSON
	// array in the text column, as text ('' for none).
	JSONArrayLast(column string) string

	// ForUpdate is the clause that locks the rows a SELECT reads until the
	// transaction ends ("" where the transaction already holds the lock).
	ForUpdate() string

	// Like is a case-insensitive LIKE with \ as the escape character.
	Like(expr, pattern string) string

	// CastText converts an expression to text.
	CastText(expr string) string

	// NullSafeEq compares two expressions treating NULLs as values.
	NullSafeEq(a, b string, negate bool) string

	// JSONArrayLength is the length of the JSON array in a text column
	// (0 for anything that is not an array).
	JSONArrayLength(column string) string

	// JSONEach is a FROM item listing the elements of the JSON array in a
	// text column as text, aliased alias, and the expression of an element.
	JSONEach(column, alias string) (from, value string)

	// JSONExtract extracts a key path (keys are \w+, digits index arrays)
	// from a JSON column; asText reports that the result is always text.
	JSONExtract(column string, keys []string) (expr string, asText bool)

	// RowID orders a table's rows by insertion: SQLite's rowid, the
	// physical position on PostgreSQL.
	RowID(table string) string

	// Explain wraps a query so that it returns the query plan.
	Explain(query string) string

	// IsUniqueViolation reports whether err is a unique constraint failure.
	IsUniqueViolation(err error) bool

	// Scrub runs rewrite, which overwrites or deletes rows through db (the
	// write handle), so that the old content does not stay readable in
	// the database's files: SQLite zeroes the space rewrite frees and then
	// folds its WAL into the database file and truncates it. PostgreSQL
	// runs rewrite as it is: a dump holds live rows only, and VACUUM
	// reclaims the old row versions.
	Scrub(db *gorm.DB, rewrite func() error) error
}

// FromURL picks the dialect for a database URL: sqlite://, sqlite:, file:
// or a bare path for SQLite; postgres:// or postgresql:// for PostgreSQL.
func FromURL(raw string) (Dialect, error) {
	scheme, _, found := strings.Cut(raw, ":")
	if !found || len(scheme) == 1 { // a Windows drive letter, or a bare path
		return SQLite{}, nil
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3", "file":
		return SQLite{}, nil
	case "postgres", "postgresql":
		return Postgres{}, nil
	}
	return nil, fmt.Errorf("unsupported database scheme %q (want sqlite:// or postgres://)", scheme)
}

// QuoteIdent quotes a table or column name. Both dialects accept ANSI double
// quotes; embedded quotes are doubled.
func QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// withParams returns raw with the query parameters in add set, unless the
// URL already sets them: what an operator wrote wins over our defaults.
func withParams(raw string, add url.Values) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, vs := range add {
		if !q.Has(k) {
			q[k] = vs
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// RedactURL returns the database URL raw with its password (in the user
// information or a password/sslpassword parameter) replaced by
// placeholder, which must be letters, digits and underscores, and whether
// it had one. A URL that does not parse gives "" and true: it may hold
// anything.
func RedactURL(raw, placeholder string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", true
	}
	redacted := false
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), placeholder)
			redacted = true
		}
	}
	q := u.Query()
	for _, k := range []string{"password", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, placeholder)
			redacted = true
		}
	}
	if !redacted {
		return raw, false
	}
	if u.RawQuery != "" {
		u.RawQuery = q.Encode()
	}
	return u.String(), true
}
