package filter_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/filter"
)

// fakeResolver knows a few columns; everything else is unknown.
type fakeResolver struct{}

func (fakeResolver) Resolve(id string) (filter.Value, error) {
	switch id {
	case "title", "name":
		return filter.Value{SQL: `t."` + id + `"`, Type: filter.TypeText, NotNull: true}, nil
	case "views":
		return filter.Value{SQL: `t."views"`, Type: filter.TypeNumber, NotNull: true}, nil
	case "live":
		return filter.Value{SQL: `t."live"`, Type: filter.TypeBool, NotNull: true}, nil
	case "tags.name":
		return filter.Value{SQL: `r."name"`, Type: filter.TypeText, NotNull: true, Multi: &filter.Multi{From: `FROM tags r WHERE r."post" = t."id"`}}, nil
	case "@request.auth.id":
		return filter.Param("u1"), nil
	case "email": // readable only where visible
		return filter.Value{SQL: `t."email"`, Type: filter.TypeText, NotNull: true, Guard: `t."visible" = ?`, GuardArgs: []any{true}}, nil
	case "tags.email":
		return filter.Value{SQL: `r."email"`, Type: filter.TypeText, NotNull: true, Guard: `r."visible"`,
			Multi: &filter.Multi{From: `FROM tags r WHERE r."post" = ?`, Args: []any{"p"}}}, nil
	}
	return filter.Value{}, fmt.Errorf("%w: unknown %s", filter.ErrInvalid, id)
}

type fakeDialect struct{}

func (fakeDialect) Like(e, p string) string  { return e + " LIKE " + p + ` ESCAPE '\'` }
func (fakeDialect) CastText(e string) string { return "CAST(" + e + " AS TEXT)" }
func (fakeDialect) NullSafeEq(a, b string, neg bool) string {
	if neg {
		return a + " IS NOT " + b
	}
	return a + " IS " + b
}

func compile(t *testing.T, expr string) (string, []any) {
	t.Helper()
	sql, args, err := filter.CompileString(expr, fakeResolver{}, fakeDialect{})
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return sql, args
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	node, err := filter.Parse(`title = 'a' || views > 1 && live = true`)
	if err != nil {
		t.Fatal(err)
	}
	or, ok := node.(filter.Or)
	if !ok || len(or) != 2 {
		t.Fatalf("top node = %#v, want an Or of two", node)
	}
	if and, ok := or[1].(filter.And); !ok || len(and) != 2 {
		t.Fatalf("right of || = %#v, want an And of two", or[1])
	}
	sql, args := compile(t, `title = 'a' || views > 1 && live = true`)
	if sql != `(t."title" = ? OR (t."views" > ? AND t."live" = ?))` {
		t.Fatalf("sql = %s", sql)
	}
	if len(args) != 3 || args[0] != "a" || args[1] != 1.0 || args[2] != true {
		t.Fatalf("args = %#v", args)
	}
	sql, _ = compile(t, `(title = 'a' || views > 1) && live = true`)
	if sql != `((t."title" = ? OR t."views" > ?) AND t."live" = ?)` {
		t.Fatalf("parenthesised sql = %s", sql)
	}
}

func TestOperators(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr, sql string
		args      []any
	}{
		{`title ~ 'a_b'`, `t."title" LIKE ? ESCAPE '\'`, []any{`%a\_b%`}},
		{`title ~ 'a%'`, `t."title" LIKE ? ESCAPE '\'`, []any{`a%`}},
		{`title !~ 'x'`, `NOT t."title" LIKE ? ESCAPE '\'`, []any{`%x%`}},
		{`views = '12'`, `t."views" = ?`, []any{12.0}},                 // literal takes the column's type
		{`views = 'abc'`, `CAST(t."views" AS TEXT) = ?`, []any{"abc"}}, // or both become text
		{`title = 12`, `t."title" = ?`, []any{"12"}},
		{`live = 1`, `t."live" = ?`, []any{true}},
		{`title = null`, `(t."title" IS NULL OR t."title" = '')`, nil},
		{`title != null`, `NOT (t."title" IS NULL OR t."title" = '')`, nil},
		{`'a' = 'a'`, `1 = 1`, nil},
		{`@request.auth.id = ''`, `1 = 0`, nil},
		{`@request.auth.id != '' && title = @request.auth.id`, `(1 = 1 AND t."title" = ?)`, []any{"u1"}},
		{`tags.name ?= 'go'`, `EXISTS (SELECT 1 FROM tags r WHERE r."post" = t."id" AND (r."name" = ?))`, []any{"go"}},
		{`tags.name = 'go'`, `(EXISTS (SELECT 1 FROM tags r WHERE r."post" = t."id") AND NOT EXISTS (SELECT 1 FROM tags r WHERE r."post" = t."id" AND (r."name" = ?) IS NOT TRUE))`, []any{"go"}},
	}
	for _, c := range cases {
		sql, args := compile(t, c.expr)
		if sql != c.sql {
			t.Errorf("%s:\n got %s\nwant %s", c.expr, sql, c.sql)
		}
		if fmt.Sprint(args) != fmt.Sprint(c.args) {
			t.Errorf("%s: args = %#v, want %#v", c.expr, args, c.args)
		}
	}
}

// TestGuard checks that a guarded value matches nothing where its guard
// fails, whatever the operator: the guard is ANDed before every
// comparison, inside the subquery of a multi-valued one.
func TestGuard(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr, sql string
		args      []any
	}{
		{`email = 'a'`, `((t."visible" = ?) AND (t."email" = ?))`, []any{true, "a"}},
		{`email = null`, `((t."visible" = ?) AND ((t."email" IS NULL OR t."email" = '')))`, []any{true}},
		{`email != 'a'`, `((t."visible" = ?) AND (t."email" != ?))`, []any{true, "a"}},
		{`'a' !~ email`, `((t."visible" = ?) AND (NOT ? LIKE ('%' || t."email" || '%') ESCAPE '\'))`, []any{true, "a"}},
		{`email = title`, `((t."visible" = ?) AND (t."email" = t."title"))`, []any{true}},
		{`tags.email ?= 'a'`, `EXISTS (SELECT 1 FROM tags r WHERE r."post" = ? AND (((r."visible") AND (r."email" = ?))))`, []any{"p", "a"}},
		{`tags.email != 'a'`, `(EXISTS (SELECT 1 FROM tags r WHERE r."post" = ?) AND NOT EXISTS (SELECT 1 FROM tags r WHERE r."post" = ? AND (((r."visible") AND (r."email" != ?))) IS NOT TRUE))`, []any{"p", "p", "a"}},
	}
	for _, c := range cases {
		sql, args := compile(t, c.expr)
		if sql != c.sql {
			t.Errorf("%s:\n got %s\nwant %s", c.expr, sql, c.sql)
		}
		if fmt.Sprint(args) != fmt.Sprint(c.args) {
			t.Errorf("%s: args = %#v, want %#v", c.expr, args, c.args)
		}
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	bad := []string{
		``, `title`, `title =`, `= 1`, `title = 'unclosed`, `(title = 1`, `title = 1)`, `title == 1`,
		`unknown = 1`, `title = unknown`, `title = foo()`, `title = 1 &&`, `title = 1 ;`,
		strings.Repeat("(", 40) + "title = 1" + strings.Repeat(")", 40),
		"title = '" + strings.Repeat("x", filter.MaxLength) + "'",
	}
	for _, expr := range bad {
		_, _, err := filter.CompileString(expr, fakeResolver{}, fakeDialect{})
		if !errors.Is(err, filter.ErrInvalid) {
			t.Errorf("%.60q: err = %v, want ErrInvalid", expr, err)
		}
	}
}

// placeholderOnly matches SQL built only from the resolver's identifiers,
// operators, placeholders and fixed keywords.
var safeSQL = regexp.MustCompile(`^[\sA-Za-z0-9_."()?=!<>%'\\,-]*$`)

func TestUserTextNeverReachesSQL(t *testing.T) {
	t.Parallel()
	hostile := []string{
		`'; DROP TABLE t; --`, `' OR '1'='1`, `'||'`, `x" OR 1=1 --`, `\'; SELECT 1`, `%_\`, "a\x00b", `😀'"`,
	}
	for _, h := range hostile {
		for _, q := range []string{`'`, `"`} {
			quoted := strings.ReplaceAll(h, q, `\`+q)
			expr := fmt.Sprintf(`title = %s%s%s || name ~ %s%s%s || tags.name ?!= %s%s%s`, q, quoted, q, q, quoted, q, q, quoted, q)
			sql, args, err := filter.CompileString(expr, fakeResolver{}, fakeDialect{})
			if err != nil {
				continue // rejected is safe too
			}
			if strings.Contains(sql, "DROP") || strings.Contains(sql, "SELECT 1;") || strings.Contains(sql, "1'='1") {
				t.Errorf("%q leaked into SQL: %s", h, sql)
			}
			if !safeSQL.MatchString(sql) {
				t.Errorf("%q: unexpected characters in SQL: %s", h, sql)
			}
			if strings.Count(sql, "?") != len(args) {
				t.Errorf("%q: %d placeholders for %d args", h, strings.Count(sql, "?"), len(args))
			}
		}
	}
}
