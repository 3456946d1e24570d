package dialect

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"

	"github.com/hatchgrid/hatchgrid/core/security"
	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// sqliteRecursive is SQLITE_RECURSIVE, which the driver does not export:
// the authorizer's code for a recursive common table expression.
const sqliteRecursive = 33

// sqliteFunctions are the functions a restricted view may call: SQLite's
// core scalar, aggregate, window, date, math and JSON functions. Left out
// on purpose: load_extension, the sqlite_* introspection functions,
// randomblob and zeroblob (memory), changes and last_insert_rowid
// (another statement's state) and anything an extension or the app
// registers.
var sqliteFunctions = setOf(
	// scalar
	"abs", "char", "coalesce", "concat", "concat_ws", "format", "glob", "hex", "ifnull", "iif",
	"instr", "length", "like", "likelihood", "likely", "lower", "ltrim", "max", "min", "nullif",
	"octet_length", "printf", "quote", "random", "replace", "round", "rtrim", "sign", "soundex",
	"substr", "substring", "trim", "typeof", "unhex", "unicode", "unlikely", "upper",
	// aggregate
	"avg", "count", "group_concat", "string_agg", "sum", "total",
	// window
	"row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
	"first_value", "last_value", "nth_value",
	// date and time
	"date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff",
	// math
	"acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh",
	"degrees", "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "radians",
	"sin", "sinh", "sqrt", "tan", "tanh", "trunc",
	// JSON
	"json", "jsonb", "json_array", "jsonb_array", "json_array_length", "json_error_position",
	"json_extract", "jsonb_extract", "json_insert", "jsonb_insert", "json_object", "jsonb_object",
	"json_patch", "jsonb_patch", "json_pretty", "json_quote", "json_remove", "jsonb_remove",
	"json_replace", "jsonb_replace", "json_set", "jsonb_set", "json_type", "json_valid",
	"json_group_array", "jsonb_group_array", "json_group_object", "jsonb_group_object",
)

// sqliteTableFunctions are the table-valued functions a restricted view
// may read from; the authorizer reports them as tables.
var sqliteTableFunctions = setOf("json_each", "json_tree")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// sqliteViews checks restricted views on the writer's connection: the
// only one a transaction uses, and so the one where a view created in a
// transaction exists.
type sqliteViews struct {
	mu   sync.Mutex
	conn *sqlite3.SQLiteConn // the write pool's connection (it has one)
}

// connected is the write pool's ConnectHook: it remembers the connection.
func (v *sqliteViews) connected(c *sqlite3.SQLiteConn) error {
	v.mu.Lock()
	v.conn = c
	v.mu.Unlock()
	return nil
}

// Check implements ViewGuard: it prepares SELECT * FROM the view with an
// authorizer on the connection. SQLite expands the view, and the views it
// reads, while preparing, and asks the authorizer about every table
// column read, function call and other action of the expansion: what the
// view would do whenever it is read. The statement text is unique, so no
// statement prepared before comes from the cache without the authorizer.
func (v *sqliteViews) Check(db *gorm.DB, name string, readable func(string) bool) error {
	v.mu.Lock()
	conn := v.conn
	v.mu.Unlock()
	if conn == nil {
		return errors.New("sqlite: no write connection to check the view on")
	}
	var denied *ViewError
	asked := false
	deny := func(e *ViewError) int {
		if denied == nil {
			denied = e
		}
		return sqlite3.SQLITE_DENY
	}
	conn.RegisterAuthorizer(func(op int, arg1, arg2, database string) int {
		asked = true
		switch op {
		case sqlite3.SQLITE_SELECT, sqliteRecursive:
			return sqlite3.SQLITE_OK
		case sqlite3.SQLITE_READ:
			if sqliteReadable(arg1, database, readable) {
				return sqlite3.SQLITE_OK
			}
			return deny(viewErrorf("it may not read %s", describeTable(arg1, database)))
		case sqlite3.SQLITE_FUNCTION:
			if sqliteFunctions[strings.ToLower(arg2)] {
				return sqlite3.SQLITE_OK
			}
			return deny(viewErrorf("it may not call the function %s()", arg2))
		case sqlite3.SQLITE_PRAGMA:
			return deny(viewErrorf("it may not use PRAGMA %s", arg1))
		case sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH:
			return deny(viewErrorf("it may not attach databases"))
		}
		return deny(viewErrorf("it may only read (action %d)", op))
	})
	defer conn.RegisterAuthorizer(nil)

	rows, err := db.Raw("SELECT * FROM " + QuoteIdent(name) + " LIMIT 0 /* view check " + security.NewID() + " */").Rows()
	if err == nil {
		err = rows.Close()
	}
	switch {
	case denied != nil:
		return denied
	case err != nil:
		return err
	case !asked:
		// The statement ran on another connection, unchecked: fail closed.
		return errors.New("sqlite: the view check did not run on the write connection")
	}
	return nil
}

// sqliteReadable reports whether a restricted view may read the table (a
// table, a view, a table-valued function or, with no database, a common
// table expression or subquery) called name.
func sqliteReadable(name, database string, readable func(string) bool) bool {
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "sqlite_") || strings.HasPrefix(lower, "pragma_") || strings.HasPrefix(lower, "_") {
		return false
	}
	switch database {
	case "":
		// A CTE or subquery: what it reads is checked where it reads it.
		return true
	case "main":
		return sqliteTableFunctions[lower] || readable(name)
	}
	return false // temp, or an attached database
}

func describeTable(name, database string) string {
	if database != "" && database != "main" {
		return "the table " + database + "." + name
	}
	return "the table " + name
}

// sqliteConnector opens connections of dsn through drv, so that its
// ConnectHook sees each one.
type sqliteConnector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }

func (c sqliteConnector) Driver() driver.Driver { return c.drv }
