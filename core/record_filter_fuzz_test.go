package core_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/dialect"
	"github.com/hatchgrid/hatchgrid/core/filter"
)

// Markers of user values in the filter fuzz target: request values carry
// fuzzMarker, and the target rewrites the expression's literals to
// fuzzMarker texts and fuzzNumber, none of which may reach the SQL.
const (
	fuzzMarker = "xyzzy"
	fuzzNumber = "77777.125"
)

// FuzzRecordFilter parses a filter and compiles it, as the records API
// does, against a collection of every field type, for a guest, a user and
// a superuser, as an API rule and as a client's filter, in both dialects.
// It checks that nothing panics or takes long; that an expression compiles
// in one dialect exactly when it does in the other; that errors are
// invalid-filter errors (or, in a client filter, a 403); that the SQL holds
// no user value: literals and request values travel only as parameters,
// one per placeholder, and the SQL text is made of the resolver's quoted
// names, keywords and a few fixed literals; and that a client filter of a
// non-superuser reads no table the caller may not list, a listable one
// only through its listRule, no hidden field and no email without its
// visibility (checkClientSQL). The seed corpus is in
// testdata/fuzz/FuzzRecordFilter.
func FuzzRecordFilter(f *testing.F) {
	fx := newFuzzFixture(f)
	reqs := fuzzFilterRequests(fx)
	dialects := []dialect.Dialect{dialect.SQLite{}, dialect.Postgres{}}
	for _, seed := range []string{
		`title = 'a' || views > 1 && live = true`,
		`(title ~ "x%" || (views >= 2 && views <= 3)) && live != false`,
		`tags.label ?= 'go' && tags.label != null && author.name ~ 'an'`,
		`@request.auth.id != '' && author = @request.auth.id`,
		`comments_via_post.text ?~ 'hi' && @collection.tags.label ?= title`,
		`meta.a.b.0 = 1 && meta.list:lower ~ 'x' && kinds:each ?= 'a' && kinds:length > 1`,
		`@request.body.title:isset = true && @request.query.q ~ 'q' && @request.headers.x_token != ''`,
		`@can('kitchen', 'update') = true && @request.auth.roles ?= 'editor'`,
		`created >= @todayStart && due < @now && @request.method = 'GET'`,
		`title = 'it\'s' || title = "\"; DROP TABLE kitchen; --"`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		start := time.Now()
		node, err := filter.Parse(expr)
		if err != nil {
			if !errors.Is(err, filter.ErrInvalid) {
				t.Fatalf("parse %q: %v is not an invalid-filter error", expr, err)
			}
			return
		}
		marked := strings.Contains(strings.ToLower(expr), fuzzMarker) || strings.Contains(expr, "77777")
		for _, req := range reqs {
			for _, client := range []bool{false, true} {
				var compiled [2]bool
				for i, d := range dialects {
					resolver := func() filter.Resolver { return core.RecordFilterResolver(fx.app, d, fx.kitchen, req, client) }
					sql, args, err := filter.Compile(node, resolver(), d)
					if err != nil {
						checkFilterError(t, d, expr, err, client)
						continue
					}
					compiled[i] = true
					checkFilterSQL(t, d, expr, sql, args)
					if client && !req.IsSuperuser() {
						checkClientSQL(t, fx, d, expr, sql, req)
					}
					if marked {
						continue // the expression names a marker itself
					}
					// The same expression with every literal replaced by a
					// marker: none may show in the SQL.
					n := 0
					sql, args, err = filter.Compile(withMarkers(node, &n), resolver(), d)
					if err != nil {
						t.Fatalf("%s: %q compiles, but not with its literals replaced: %v", d.Name(), expr, err)
					}
					checkFilterSQL(t, d, expr, sql, args)
					if client && !req.IsSuperuser() {
						checkClientSQL(t, fx, d, expr, sql, req)
					}
					if low := strings.ToLower(sql); strings.Contains(low, fuzzMarker) || strings.Contains(low, "77777") {
						t.Fatalf("%s: a user value reached the SQL of %q: %s", d.Name(), expr, sql)
					}
				}
				if compiled[0] != compiled[1] {
					t.Fatalf("%q compiles on sqlite: %v, on postgres: %v (client filter: %v)", expr, compiled[0], compiled[1], client)
				}
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%d-byte filter took %v", len(expr), d)
		}
	})
}

// checkFilterError checks that a filter fails as a bad filter, or, in a
// client filter, as one that names what only superusers may filter by.
func checkFilterError(t *testing.T, d dialect.Dialect, expr string, err error, client bool) {
	t.Helper()
	var e *core.Error
	if errors.Is(err, filter.ErrInvalid) || client && errors.As(err, &e) && e.Code == core.CodeForbidden {
		return
	}
	t.Fatalf("%s: compile %q: %v is not an invalid-filter error", d.Name(), expr, err)
}

// tableRef matches a table the resolver joins, by its quoted name and
// alias; emailRef an email column and its table or alias.
var (
	tableRef = regexp.MustCompile(`"(\w+)" ("__r\d+")`)
	emailRef = regexp.MustCompile(`("(?:__r\d+|users)")\."email"`)
)

// fuzzRuleMarks give, for each fixture collection with a listRule, the SQL
// that its listRule ANDs into a join aliased alias.
var fuzzRuleMarks = map[string]func(alias string) string{
	"users": func(alias string) string { return " AND (" + alias + `."id" = ?)` },
}

// checkClientSQL checks the SQL of a client filter of a non-superuser:
// every table it joins is one req may list (Casbin and a listRule that is
// not null), with that listRule ANDed into the join; no hidden field, and
// no email without its visibility guard, appears.
func checkClientSQL(t *testing.T, fx *fuzzFixture, d dialect.Dialect, expr, sql string, req *core.RequestInfo) {
	t.Helper()
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("%s: client filter %q of %v compiles to %s: %s", d.Name(), expr, req.Auth["id"], sql, fmt.Sprintf(format, a...))
	}
	for _, m := range tableRef.FindAllStringSubmatch(sql, -1) {
		c, err := fx.app.Collections().Find(m[1])
		if err != nil {
			fail("%q is not a collection", m[1])
		}
		ok, err := fx.app.Authz().Allow(fuzzSubject(req), authz.CollectionResource(c.Name), "list")
		if err != nil || !ok || c.ListRule == nil {
			fail("it reads %s, which the caller may not list", c.Name)
		}
		if strings.TrimSpace(*c.ListRule) == "" {
			continue
		}
		mark, known := fuzzRuleMarks[c.Name]
		if !known {
			fail("the fixture's %s has a listRule without a mark to look for", c.Name)
		}
		if !strings.Contains(sql, mark(m[2])) {
			fail("it reads %s as %s without its listRule", c.Name, m[2])
		}
	}
	for _, f := range []string{"secret", "password", "tokenKey"} {
		if strings.Contains(sql, `."`+f+`"`) {
			fail("it reads the hidden field %s", f)
		}
	}
	for _, m := range emailRef.FindAllStringSubmatch(sql, -1) {
		if !strings.Contains(sql, "("+m[1]+`."emailVisibility")`) {
			fail("it reads the email of %s without its visibility", m[1])
		}
	}
}

func fuzzSubject(req *core.RequestInfo) string {
	if req.Auth == nil {
		return authz.Guest
	}
	return authz.RecordSubject(req.Auth["collectionId"].(string), req.Auth["id"].(string))
}

// fuzzFilterRequests are the callers filters are compiled for: a guest, a
// signed-in user and a superuser, each sending marked values.
func fuzzFilterRequests(fx *fuzzFixture) []*core.RequestInfo {
	sent := func() *core.RequestInfo {
		return &core.RequestInfo{
			Method:  "GET",
			Context: "default",
			Query:   map[string]string{"q": "q-" + fuzzMarker, "page": "1"},
			Headers: map[string]string{"x_token": "tok-" + fuzzMarker},
			Body: map[string]any{
				"title": "body-" + fuzzMarker, "views": json.Number(fuzzNumber), "live": true,
				"kinds": []any{"a-" + fuzzMarker, "b-" + fuzzMarker}, "meta": map[string]any{"k": fuzzMarker},
			},
		}
	}
	guest := sent()
	user := sent()
	user.Actor = core.Actor{CollectionID: fx.users.ID, CollectionName: fx.users.Name, ID: fuzzUserID + fuzzMarker, Email: fuzzMarker + "@example.test"}
	user.Auth = map[string]any{
		"id": fuzzUserID + fuzzMarker, "collectionId": fx.users.ID, "collectionName": fx.users.Name,
		"email": fuzzMarker + "@example.test", "name": "name-" + fuzzMarker, "verified": true,
	}
	su := sent()
	su.Actor = core.SystemActor()
	return []*core.RequestInfo{guest, user, su}
}

// withMarkers returns a copy of n whose texts are marker texts and whose
// numbers are fuzzNumber.
func withMarkers(n filter.Node, next *int) filter.Node {
	switch v := n.(type) {
	case filter.And:
		out := make(filter.And, len(v))
		for i, item := range v {
			out[i] = withMarkers(item, next)
		}
		return out
	case filter.Or:
		out := make(filter.Or, len(v))
		for i, item := range v {
			out[i] = withMarkers(item, next)
		}
		return out
	case filter.Cmp:
		v.Left = markOperand(v.Left, next)
		v.Right = markOperand(v.Right, next)
		return v
	}
	return n
}

func markOperand(o filter.Operand, next *int) filter.Operand {
	switch o.Kind {
	case filter.Text:
		*next++
		o.Value = fmt.Sprintf("%s%d", fuzzMarker, *next)
	case filter.Number:
		o.Value = fuzzNumber
	case filter.Function:
		args := make([]filter.Operand, len(o.Args))
		for i, a := range o.Args {
			args[i] = markOperand(a, next)
		}
		o.Args = args
	}
	return o
}

// The fixed literals the dialects and the resolver write into SQL, and
// the JSON paths they build from field paths (\w+ keys only).
var (
	fixedSQLLiterals = map[string]bool{``: true, `\`: true, `[]`: true, `%`: true, `[%`: true}
	sqliteJSONPath   = regexp.MustCompile(`^\$(\.\w+|\[\d+\])*$`)
	pgJSONPath       = regexp.MustCompile(`^\{\w+(,\w+)*\}$`)
	sqlIdentifier    = regexp.MustCompile(`^\w+$`)
)

// checkFilterSQL checks the shape of compiled SQL: one argument per
// placeholder, quoted names of word characters only, no literal but the
// fixed ones, no comment or statement separator, a size in proportion.
func checkFilterSQL(t *testing.T, d dialect.Dialect, expr, sql string, args []any) {
	t.Helper()
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("%s: %q compiles to %s: %s", d.Name(), expr, sql, fmt.Sprintf(format, a...))
	}
	if len(sql) > 1<<20 {
		fail("%d bytes of SQL", len(sql))
	}
	placeholders := 0
	for i := 0; i < len(sql); i++ {
		switch ch := sql[i]; ch {
		case '\'', '"':
			end := i + 1
			for end < len(sql) && sql[end] != ch {
				end++
			}
			if end == len(sql) {
				fail("unterminated quote at %d", i)
			}
			body := sql[i+1 : end]
			if end+1 < len(sql) && sql[end+1] == ch {
				fail("doubled quote at %d", end)
			}
			switch {
			case ch == '"' && !sqlIdentifier.MatchString(body):
				fail("quoted name %q", body)
			case ch == '\'' && !fixedSQLLiterals[body] && !sqliteJSONPath.MatchString(body) && !pgJSONPath.MatchString(body):
				fail("literal %q", body)
			}
			i = end
		case '?':
			placeholders++
		case ';':
			fail("statement separator at %d", i)
		case '-', '/':
			if i+1 < len(sql) && (sql[i+1] == '-' || sql[i+1] == '*') {
				fail("comment at %d", i)
			}
		}
	}
	if placeholders != len(args) {
		fail("%d placeholders for %d arguments", placeholders, len(args))
	}
}
