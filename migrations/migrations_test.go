package migrations_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/migrations"
	"gorm.io/gorm"
)

var namePattern = regexp.MustCompile(`^\d{14}_[a-z0-9_]+$`)

func TestMigrationsAreOrderedUniqueAndFiled(t *testing.T) {
	t.Parallel()
	all := migrations.All()
	seen := map[string]bool{}
	for i, m := range all {
		if !namePattern.MatchString(m.Name) {
			t.Errorf("migration name %q is not <14-digit UTC timestamp>_<snake_case>", m.Name)
		}
		if seen[m.Name] {
			t.Errorf("duplicate migration %q", m.Name)
		}
		seen[m.Name] = true
		if i > 0 && all[i-1].Name >= m.Name {
			t.Errorf("%q listed after %q: All() must be in name order", m.Name, all[i-1].Name)
		}
		if m.Up == nil {
			t.Errorf("%q has no Up", m.Name)
		}
		if _, err := os.Stat(m.Name + ".go"); err != nil {
			t.Errorf("%q does not live in its own file %s.go", m.Name, m.Name)
		}
	}

	// Every migration file is listed.
	files, _ := os.ReadDir(".")
	for _, f := range files {
		name := strings.TrimSuffix(f.Name(), ".go")
		if namePattern.MatchString(name) && !seen[name] {
			t.Errorf("file %s is not listed in All()", f.Name())
		}
	}
}

// TestSchema pins the system tables' columns, so that both dialects end in
// the same state and a change to an applied migration is noticed.
func TestSchema(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	want := map[string][]string{
		"_params":      {"created", "id", "updated", "value"},
		"_collections": {"createRule", "created", "deleteRule", "fields", "id", "indexes", "listRule", "name", "options", "system", "type", "updateRule", "updated", "viewRule"},
		"_superusers":  {"created", "email", "emailVisibility", "id", "password", "tokenKey", "updated", "verified"},
		"_migrations":  {"applied", "file"},
	}
	for table, cols := range want {
		assertColumns(t, app.DB(ctx), table, cols)
	}
	assertColumns(t, app.LogsDB(ctx), "_logs", []string{"created", "data", "id", "level", "message"})

	var name, typ string
	err := app.DB(ctx).Raw(`SELECT "name", "type" FROM "_collections" WHERE "id" = ?`, migrations.SuperusersCollectionID).Row().Scan(&name, &typ)
	if err != nil || name != core.SuperusersCollectionName || typ != "auth" {
		t.Fatalf("_superusers collection row: %q %q %v", name, typ, err)
	}
	// Collection names are unique regardless of case.
	err = app.DB(ctx).Exec(`INSERT INTO "_collections" ("id", "name", "created", "updated") VALUES ('x', '_SUPERUSERS', '', '')`).Error
	if !app.Dialect().IsUniqueViolation(err) {
		t.Fatalf("case-variant collection name: %v", err)
	}
}

func assertColumns(t *testing.T, db *gorm.DB, table string, want []string) {
	t.Helper()
	types, err := db.Migrator().ColumnTypes(table)
	if err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	var got []string
	for _, c := range types {
		got = append(got, c.Name())
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s columns = %v, want %v", table, got, want)
	}
}
