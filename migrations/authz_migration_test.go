package migrations_test

import (
	"context"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/migrations"
)

func TestCasbinMigration(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	db := app.DB(context.Background())
	assertColumns(t, db, migrations.CasbinTable, []string{"id", "ptype", "v0", "v1", "v2", "v3", "v4", "v5"})
	assertColumns(t, db, "_staff", []string{"created", "email", "emailVisibility", "id", "password", "tokenKey", "updated", "verified"})

	// Seeded: everyone may reach every collection's records.
	type row struct {
		ID                        int64
		Ptype, V0, V1, V2, V3, V4 string
	}
	var rows []row
	if err := db.Table(migrations.CasbinTable).Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0] != (row{ID: rows[0].ID, Ptype: "p", V0: "*", V1: "collection:*", V2: "*", V3: "allow"}) || rows[0].ID == 0 {
		t.Fatalf("seeded rules = %+v", rows)
	}

	// The database numbers new rules, and a rule is stored once.
	insert := `INSERT INTO "_casbin_rule" ("ptype", "v0", "v1") VALUES ('g', 'record:a/b', 'role:editor')`
	if err := db.Exec(insert).Error; err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := db.Raw(`SELECT "id" FROM "_casbin_rule" WHERE "ptype" = 'g'`).Scan(&id).Error; err != nil || id <= rows[0].ID {
		t.Fatalf("id of a new rule = %d, %v", id, err)
	}
	if err := db.Exec(insert).Error; !app.Dialect().IsUniqueViolation(err) {
		t.Fatalf("duplicate rule: %v", err)
	}

	var name, typ string
	var system bool
	err := db.Raw(`SELECT "name", "type", "system" FROM "_collections" WHERE "id" = ?`, migrations.StaffCollectionID).Row().Scan(&name, &typ, &system)
	if err != nil || name != "_staff" || typ != "auth" || !system {
		t.Fatalf("_staff collection row: %q %q %v %v", name, typ, system, err)
	}
}
