package core

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/dialect"

	"github.com/hatchgrid/hatchgrid/core/security"
)

// viewQueryPattern accepts one SELECT (or WITH ... SELECT) statement.
var viewQueryPattern = regexp.MustCompile(`(?is)^\s*(SELECT|WITH)\s`)

// validateView checks a view collection's query and the parts of its
// definition that views do not have.
func validateView(c *Collection, fail func(key, code, msg string)) {
	q := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(c.ViewQuery), ";"))
	c.ViewQuery = q
	switch {
	case q == "":
		fail("viewQuery", "validation_required", "Cannot be blank.")
	case !viewQueryPattern.MatchString(q):
		fail("viewQuery", "validation_invalid_view_query", "The query must be a single SELECT statement.")
	case strings.Contains(q, ";"):
		fail("viewQuery", "validation_invalid_view_query", "The query must be a single statement.")
	}
	if len(c.Indexes) > 0 {
		fail("indexes", "validation_view_indexes", "View collections cannot have indexes.")
	}
	for key, rule := range map[string]*string{"createRule": c.CreateRule, "updateRule": c.UpdateRule, "deleteRule": c.DeleteRule} {
		if rule != nil {
			fail(key, "validation_view_rule", "View collections are read-only: this rule must be null.")
		}
	}
}

// createView creates c's view and infers its fields from the columns the
// query returns; the query must return an id column.
func (s *CollectionService) createView(ctx context.Context, c *Collection) error {
	db := s.app.DB(ctx)
	if err := db.Exec(fmt.Sprintf("CREATE VIEW %s AS %s", quote(c.Name), c.ViewQuery)).Error; err != nil {
		return Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
			"viewQuery": {Code: "validation_invalid_view_query", Message: "Invalid query: " + dbReason(err)},
		})
	}
	if c.ViewRestricted {
		if err := s.app.data.Views.Check(db, c.Name, s.viewReadable(c, "")); err != nil {
			return viewCheckError(err)
		}
	}
	// The comment makes the statement text unique: a driver that caches
	// prepared statements (pgx) must not reuse a plan made for the view's
	// previous definition.
	rows, err := db.Raw(fmt.Sprintf("SELECT * FROM %s LIMIT 0 /* %s */", quote(c.Name), security.NewID())).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return err
	}

	fields := make([]*Field, 0, len(types))
	seen := map[string]bool{}
	for _, ct := range types {
		name := ct.Name()
		lower := strings.ToLower(name)
		if seen[lower] || !fieldNamePattern.MatchString(name) {
			return Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
				"viewQuery": {Code: "validation_invalid_view_column", Message: fmt.Sprintf("Column %q must be a unique name of letters, digits and underscores; alias it with AS.", name)},
			})
		}
		seen[lower] = true
		kind := s.app.viewFieldKind(ct.DatabaseTypeName())
		f := &Field{Name: name, Type: kind.Type(), kind: kind}
		if prev := c.Field(name); prev != nil && prev.Type == f.Type {
			f.ID = prev.ID // keep ids stable across query changes
		}
		if lower == "id" {
			f = &Field{Name: name, Type: FieldText, System: true, Required: true, Options: FieldOptions{PrimaryKey: true}}
			s.app.bindFields([]*Field{f})
		}
		if f.ID == "" {
			f.ID = DefaultFieldID(f.Type, f.Name)
		}
		fields = append(fields, f)
	}
	if !seen["id"] {
		return Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
			"viewQuery": {Code: "validation_missing_id", Message: "The query must return an id column."},
		})
	}
	c.Fields = fields
	return nil
}

// viewCheckError turns a restricted view's refusal into a validation
// error of its query.
func viewCheckError(err error) error {
	var ve *dialect.ViewError
	if !errors.As(err, &ve) {
		return err
	}
	return Invalid("An error occurred while validating the submitted data.", map[string]FieldError{
		"viewQuery": {Code: "validation_view_query_restricted", Message: "Only superusers can write this view: " + ve.Reason + "; views by others may read only user collections and call ordinary functions."},
	})
}

// viewReadable is what a restricted view may read: the user collections
// (not the system ones, nor any name starting with _), as they are once
// the change in progress applies: changed (nil for none) replaces the
// collection of its id, and the collection removed is gone.
func (s *CollectionService) viewReadable(changed *Collection, removed string) func(string) bool {
	names := map[string]bool{}
	add := func(c *Collection) {
		if !c.System && !strings.HasPrefix(c.Name, "_") {
			names[strings.ToLower(c.Name)] = true
		}
	}
	for _, c := range s.All() {
		if c.ID != removed && (changed == nil || c.ID != changed.ID) {
			add(c)
		}
	}
	if changed != nil {
		add(changed)
	}
	return func(name string) bool { return names[strings.ToLower(name)] }
}

// recheckViews checks every other restricted view again, inside the
// transaction of a schema change (changed, or the collection removed),
// after it: a view reads its sources by name on SQLite, so a change of a
// view or table it reads could otherwise bring a system table into it. A
// change that would is refused. A view the change breaks reads nothing
// and is left to fail on its own, as before.
func (s *CollectionService) recheckViews(ctx context.Context, changed *Collection, removed string) error {
	readable := s.viewReadable(changed, removed)
	for _, v := range s.All() {
		if !v.IsView() || !v.ViewRestricted || v.ID == removed || (changed != nil && v.ID == changed.ID) {
			continue
		}
		err := s.app.data.Views.Check(s.app.DB(ctx), v.Name, readable)
		var ve *dialect.ViewError
		if errors.As(err, &ve) {
			return Errorf(CodeInvalid, "The change would let the view %q, written by someone who is not a superuser, do what only superusers' views may: %s.", v.Name, ve.Reason)
		}
	}
	return nil
}

// viewsUsing returns the views whose query names the table.
func (s *CollectionService) viewsUsing(name string) []*Collection {
	word := regexp.MustCompile(`(?i)(^|[^\w])["` + "`" + `]?` + regexp.QuoteMeta(name) + `["` + "`" + `]?([^\w]|$)`)
	var out []*Collection
	for _, c := range s.All() {
		if c.IsView() && !strings.EqualFold(c.Name, name) && word.MatchString(c.ViewQuery) {
			out = append(out, c)
		}
	}
	return out
}
