package migrations

import (
	"context"
	"fmt"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/dialect"
	"gorm.io/gorm"
)

// Target is the database a migration applies to.
type Target int

const (
	// Data is the main database: collections, records, settings.
	Data Target = iota
	// Logs is the request-log database: auxiliary.db on SQLite, the data
	// database itself on PostgreSQL.
	Logs
)

func (t Target) String() string {
	if t == Logs {
		return "logs"
	}
	return "data"
}

// Migration is one versioned change. Up and Down run inside a transaction
// that the runner commits together with the row recording the migration.
type Migration struct {
	// Name is the file name without extension; names sort in apply order.
	Name   string
	Target Target
	Up     func(tx *Tx) error
	// Down reverts Up; nil marks the migration irreversible.
	Down func(tx *Tx) error
}

// Tx is the context a migration runs in.
type Tx struct {
	DB      *gorm.DB
	Dialect dialect.Dialect
	// Context carries the migration's transaction for data migrations: App
	// services called with it (app.Collections(), app.DB(ctx)) join the
	// transaction, so their changes commit or roll back with the migration.
	Context context.Context
}

// Exec runs one statement.
func (tx *Tx) Exec(sql string, args ...any) error {
	return tx.DB.Exec(sql, args...).Error
}

// Column is one column of CreateTable.
type Column struct {
	Name string
	// Kind is the portable type; Type, when set, is used verbatim instead.
	Kind dialect.Kind
	Type string
}

// CreateTable creates table with columns, the first of which is the TEXT
// primary key.
func (tx *Tx) CreateTable(table string, columns ...Column) error {
	defs := make([]string, 0, len(columns))
	for i, c := range columns {
		typ := c.Type
		if typ == "" {
			typ = tx.Dialect.ColumnType(c.Kind)
		}
		if i == 0 {
			typ = "TEXT PRIMARY KEY NOT NULL"
		}
		defs = append(defs, dialect.QuoteIdent(c.Name)+" "+typ)
	}
	return tx.Exec(fmt.Sprintf("CREATE TABLE %s (%s)", dialect.QuoteIdent(table), strings.Join(defs, ", ")))
}

// DropTable drops table if it exists.
func (tx *Tx) DropTable(table string) error {
	return tx.Exec("DROP TABLE IF EXISTS " + dialect.QuoteIdent(table))
}

// All returns the system migrations in apply order.
func All() []Migration {
	return []Migration{
		initData(),
		initLogs(),
		externalAuths(),
		otpsAndMFAs(),
		casbin(),
		authOrigins(),
		outbox(),
		webhooks(),
		scrubLogSecrets(),
	}
}
