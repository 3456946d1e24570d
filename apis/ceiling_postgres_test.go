package apis_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/dialect"
	"github.com/hatchgrid/hatchgrid/core/security"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

// TestPostgresWithoutSuperuser runs the documented PostgreSQL setup
// (docs/security.md): the app's role is no database superuser and cannot
// create roles; an operator made the view role and granted it. Migrations
// run, staff views over user collections work, and pg_read_file is
// refused by the database itself, even in a superuser's view.
func TestPostgresWithoutSuperuser(t *testing.T) {
	t.Parallel()
	coretest.RequireDialect(t, "postgres")
	app := appWithoutSuperuser(t, "")
	var super bool
	if err := app.DB(context.Background()).Raw(`SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super).Error; err != nil || super {
		t.Fatalf("the app's role is a superuser (%v, %v)", super, err)
	}

	c := &ceiling{env: newEnv(t, app)}
	c.staff = account(t, app, core.StaffCollectionName, "staff@example.com")
	c.staffToken = tokenOf(t, app, c.staff)
	c.staffSub = authz.RecordSubject(c.staff.Collection().ID, c.staff.ID())
	if _, err := app.Authz().AddPolicy(context.Background(), authz.Policy{Subject: c.staffSub, Resource: authz.AdminSchema, Action: "*"}); err != nil {
		t.Fatal(err)
	}
	mustCollection(t, app, `{"name":"posts","listRule":"","fields":[{"name":"title","type":"text"},{"name":"n","type":"number"}]}`)
	mustRecord(t, app, "posts", map[string]any{"title": "hello", "n": 3})

	for _, s := range []struct {
		who, name, query string
		want             int
		says             string
	}{
		{"staff", "v_window", `WITH t AS (SELECT id, n FROM posts) SELECT id, sum(n) OVER () AS total FROM t`, http.StatusOK, ""},
		{"staff", "v_file", `SELECT 'x' AS id, pg_read_file('/etc/hostname') AS f`, http.StatusBadRequest, "pg_read_file"},
		{"staff", "v_system", `SELECT id, "tokenKey" AS k FROM _superusers`, http.StatusBadRequest, "_superusers"},
		// The database refuses it to the app's role, whoever asks.
		{"superuser", "v_su_file", `SELECT 'x' AS id, pg_read_file('/etc/hostname') AS f`, http.StatusBadRequest, "permission denied for function pg_read_file"},
	} {
		body := `{"name":"` + s.name + `","type":"view","listRule":"","viewQuery":` + strconvQuote(s.query) + `}`
		if rec := c.as(s.who, "POST", "/api/collections", body); rec.Code != s.want || !strings.Contains(rec.Body.String(), s.says) {
			t.Errorf("%s %s: %d %s", s.who, s.name, rec.Code, rec.Body.String())
		}
	}
	if list := c.as("", "GET", "/api/collections/v_window/records?sort=id", ""); list.Code != http.StatusOK || !strings.Contains(list.Body.String(), `"total":3`) {
		t.Errorf("v_window: %d %s", list.Code, list.Body.String())
	}
}

// appWithoutSuperuser returns an App whose database role is no superuser
// and cannot create roles, on a schema of its own, with viewRole as
// database.view_role; the operator's step (the view role, granted to the
// app's role) is done for hatchgrid_views only.
func appWithoutSuperuser(t *testing.T, viewRole string) *core.App {
	t.Helper()
	admin, err := gorm.Open(postgres.Open(coretest.PostgresURL()), &gorm.Config{Logger: gormlogger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	suffix := security.RandomString(10, security.IDAlphabet)
	role, schema := "hg_app_"+suffix, "hg_test_app_"+suffix
	for _, stmt := range []string{
		`CREATE ROLE "` + role + `" LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB`,
		`CREATE SCHEMA "` + schema + `" AUTHORIZATION "` + role + `"`,
	} {
		if err := admin.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	if viewRole == "" {
		if err := admin.Exec(`CREATE ROLE "` + dialect.DefaultViewRole + `" NOLOGIN`).Error; err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatal(err)
		}
		if err := admin.Exec(`GRANT "` + dialect.DefaultViewRole + `" TO "` + role + `"`).Error; err != nil {
			t.Fatal(err)
		}
	}
	u, _ := url.Parse(coretest.PostgresURL())
	u.User = url.User(role)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	t.Cleanup(func() {
		// After the app's shutdown (cleanups run last first).
		for _, stmt := range []string{`DROP SCHEMA "` + schema + `" CASCADE`, `DROP OWNED BY "` + role + `"`, `DROP ROLE "` + role + `"`} {
			if err := admin.Exec(stmt).Error; err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return coretest.NewApp(t, coretest.WithConfig(func(c *core.Config) {
		c.Database.URL = u.String()
		c.Database.ViewRole = viewRole
	}))
}

// TestPostgresViewRoleMissing: when the view role is missing and the
// app's role cannot create it, staff views are refused with a 400 that
// says why; a superuser's views work as before.
func TestPostgresViewRoleMissing(t *testing.T) {
	t.Parallel()
	coretest.RequireDialect(t, "postgres")
	app := appWithoutSuperuser(t, "hg_nosuch_"+security.RandomString(8, security.IDAlphabet))
	c := &ceiling{env: newEnv(t, app)}
	c.staff = account(t, app, core.StaffCollectionName, "staff@example.com")
	c.staffToken = tokenOf(t, app, c.staff)
	sub := authz.RecordSubject(c.staff.Collection().ID, c.staff.ID())
	if _, err := app.Authz().AddPolicy(context.Background(), authz.Policy{Subject: sub, Resource: authz.AdminSchema, Action: "*"}); err != nil {
		t.Fatal(err)
	}
	mustCollection(t, app, `{"name":"posts","listRule":"","fields":[{"name":"title","type":"text"}]}`)
	if rec := c.as("staff", "POST", "/api/collections", `{"name":"v1","type":"view","viewQuery":"SELECT id, title FROM posts"}`); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "docs/security.md") {
		t.Errorf("staff view: %d %s", rec.Code, rec.Body.String())
	}
	if rec := c.as("superuser", "POST", "/api/collections", `{"name":"v2","type":"view","viewQuery":"SELECT id, title FROM posts"}`); rec.Code != http.StatusOK {
		t.Errorf("superuser view: %d %s", rec.Code, rec.Body.String())
	}
}
