package dialect

import (
	"fmt"

	"gorm.io/gorm"
)

// ViewGuard confines a restricted view, one whose query was written by
// someone who is not a superuser, to what a view of user collections
// needs: reading the relations it is allowed, calling ordinary functions.
// The database itself enforces it, never a match on the query's text: on
// SQLite an authorizer callback watches the view's fully expanded query
// being prepared; on PostgreSQL the view belongs to a role that may read
// only the user collections, and the functions of its stored parse tree
// must be on an allow-list. See docs/security.md.
type ViewGuard interface {
	// Check verifies the view called name, as db (a transaction, on
	// SQLite the writer's) sees it, nested views included: every relation
	// it reads must satisfy readable, which gets names as the database
	// reports them, and every function must be on the dialect's
	// allow-list. It may leave the view changed (its owner, on
	// PostgreSQL) for the restriction to hold when the view is read. A
	// refusal is a *ViewError; any other error means the view could not be
	// checked (a broken view, a database error).
	Check(db *gorm.DB, name string, readable func(name string) bool) error
}

// ViewError is a restricted view's refusal: Reason names what the view
// may not use, for the person who wrote it.
type ViewError struct {
	Reason string
}

func (e *ViewError) Error() string { return "view: " + e.Reason }

func viewErrorf(format string, args ...any) *ViewError {
	return &ViewError{Reason: fmt.Sprintf(format, args...)}
}
