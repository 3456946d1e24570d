package dialect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// Postgres is the dialect for PostgreSQL through pgx.
type Postgres struct{}

// Name implements Dialect.
func (Postgres) Name() string { return "postgres" }

// Validate implements Dialect.
func (Postgres) Validate(dsn string) error {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return err // pgconn redacts the password from its message
	}
	if cfg.Database == "" {
		return errors.New("postgres URL names no database")
	}
	return nil
}

// LogsDSN implements Dialect: request logs live in their own tables of the
// data database.
func (Postgres) LogsDSN(string) string { return "" }

// Transient implements Dialect: network failures (refused, reset, timed
// out, a host name not resolvable yet) and the server's "starting up" or
// "shutting down" answers.
func (Postgres) Transient(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// cannot_connect_now, admin_shutdown, crash_shutdown,
		// too_many_connections.
		return pe.Code == "57P03" || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "53300"
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded)
}

// Open implements Dialect.
func (Postgres) Open(dsn string, opts Options) (Handles, error) {
	params := url.Values{"application_name": {"hatchgrid"}}
	if opts.StatementTimeout > 0 {
		// Sent as a run-time parameter, so every pooled connection has it.
		params.Set("statement_timeout", fmt.Sprint(opts.StatementTimeout.Milliseconds()))
	}
	full, err := withParams(dsn, params)
	if err != nil {
		return Handles{}, fmt.Errorf("postgres: invalid URL: %w", redactURLError(err))
	}
	db, err := gorm.Open(postgres.Open(full), gormConfig(opts))
	if err != nil {
		return Handles{}, fmt.Errorf("postgres: %w", err)
	}
	conns := opts.MaxOpenConns
	if conns <= 0 {
		conns = max(10, 4*runtime.GOMAXPROCS(0))
	}
	idle := opts.MaxIdleConns
	if idle <= 0 || idle > conns {
		idle = conns
	}
	lifetime := opts.ConnMaxLifetime
	if lifetime <= 0 {
		lifetime = 30 * time.Minute
	}
	setPool(db, conns, idle, lifetime)
	role := opts.ViewRole
	if role == "" {
		role = DefaultViewRole
	}
	return Handles{Write: db, Read: db, Views: &pgViews{role: role, pool: db}}, nil
}

// ColumnType implements Dialect.
func (Postgres) ColumnType(k Kind) string {
	switch k {
	case Bool:
		return "BOOLEAN DEFAULT FALSE NOT NULL"
	case Number:
		return "DOUBLE PRECISION DEFAULT 0 NOT NULL"
	case Integer:
		return "BIGINT DEFAULT 0 NOT NULL"
	case JSON:
		return "JSONB DEFAULT NULL"
	default:
		return "TEXT DEFAULT '' NOT NULL"
	}
}

// IndexColumn implements Dialect.
func (Postgres) IndexColumn(column string, nocase bool) string {
	if nocase {
		return "(LOWER(" + QuoteIdent(column) + "))"
	}
	return QuoteIdent(column)
}

// JSONArrayOf implements Dialect.
func (Postgres) JSONArrayOf(column string) string {
	c := QuoteIdent(column)
	return fmt.Sprintf("CASE WHEN %s = '' THEN '[]' ELSE jsonb_build_array(%s)::text END", c, c)
}

// JSONArrayLast implements Dialect.
func (Postgres) JSONArrayLast(column string) string {
	c := QuoteIdent(column)
	return fmt.Sprintf("CASE WHEN %s LIKE '[%%' THEN COALESCE((%s::jsonb)->>-1, '') ELSE %s END", c, c, c)
}

// ForUpdate implements Dialect.
func (Postgres) ForUpdate() string { return " FOR UPDATE" }

// Like implements Dialect.
func (Postgres) Like(expr, pattern string) string {
	return expr + " ILIKE " + pattern + ` ESCAPE '\'`
}

// CastText implements Dialect.
func (Postgres) CastText(expr string) string { return "(" + expr + ")::text" }

// NullSafeEq implements Dialect.
func (Postgres) NullSafeEq(a, b string, negate bool) string {
	if negate {
		return a + " IS DISTINCT FROM " + b
	}
	return a + " IS NOT DISTINCT FROM " + b
}

func pgArray(column string) string {
	return fmt.Sprintf("(CASE WHEN %s LIKE '[%%' THEN (%s)::jsonb ELSE '[]'::jsonb END)", column, column)
}

// JSONArrayLength implements Dialect.
func (Postgres) JSONArrayLength(column string) string {
	return "jsonb_array_length(" + pgArray(column) + ")"
}

// JSONEach implements Dialect.
func (Postgres) JSONEach(column, alias string) (string, string) {
	return "jsonb_array_elements_text(" + pgArray(column) + ") AS " + alias + "(value)", alias + ".value"
}

// JSONExtract implements Dialect.
func (Postgres) JSONExtract(column string, keys []string) (string, bool) {
	return fmt.Sprintf("(%s #>> '{%s}')", column, strings.Join(keys, ",")), true
}

// RowID implements Dialect.
func (Postgres) RowID(table string) string { return table + ".ctid" }

// Explain implements Dialect.
func (Postgres) Explain(query string) string { return "EXPLAIN " + query }

// IsUniqueViolation implements Dialect.
func (Postgres) IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// redactURLError drops the URL (and so any password in it) from a parse error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Scrub implements Dialect.
func (Postgres) Scrub(_ *gorm.DB, rewrite func() error) error { return rewrite() }
