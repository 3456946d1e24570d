package migrations_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/migrations"
	"gorm.io/gorm"
)

// TestScrubLogSecretsMigration: request logs stored before the logger
// scrubbed them lose the values of their secret query parameters, and
// keep everything else.
func TestScrubLogSecretsMigration(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	db := app.LogsDB(ctx)
	const token = "eyJhbGciOiJIUzI1NiJ9.eyJ0eXBlIjoiZmlsZSJ9.c2lnbmF0dXJl"
	rows := []struct{ id, message, data string }{
		{"log1", "GET /api/backups/a.zip?token=" + token,
			`{"type":"request","method":"GET","url":"/api/backups/a.zip?token=` + token + `","status":200,"referer":"https://app.example/?code=abc&x=1","userAgent":"ua"}`},
		{"log2", "GET /api/collections/posts/records?filter=(a='?')",
			`{"type":"request","method":"GET","url":"/api/collections/posts/records?filter=(a='?')","status":200,"referer":"","userAgent":"ua"}`},
		{"log3", "GET /api/health", `{"type":"request","method":"GET","url":"/api/health","status":200}`},
	}
	for _, r := range rows {
		if err := db.Exec(`INSERT INTO "_logs" ("id", "level", "message", "data", "created") VALUES (?, 0, ?, ?, '2026-01-01 00:00:00.000Z')`, r.id, r.message, r.data).Error; err != nil {
			t.Fatal(err)
		}
	}
	var m migrations.Migration
	for _, x := range migrations.All() {
		if x.Name == "20261127120000_scrub_logs" {
			m = x
		}
	}
	if m.Up == nil {
		t.Fatal("migration not listed")
	}
	if err := db.Transaction(func(tx *gorm.DB) error {
		return m.Up(&migrations.Tx{DB: tx, Dialect: app.Dialect(), Context: ctx})
	}); err != nil {
		t.Fatal(err)
	}
	got := map[string][2]string{}
	var out []struct{ ID, Message, Data string }
	if err := db.Raw(`SELECT "id", "message", CAST("data" AS TEXT) AS "data" FROM "_logs" ORDER BY "id"`).Scan(&out).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range out {
		got[r.ID] = [2]string{r.Message, r.Data}
	}
	if strings.Contains(got["log1"][0]+got["log1"][1], token) || strings.Contains(got["log1"][1], "abc") {
		t.Errorf("log1 still holds a secret: %q", got["log1"])
	}
	for _, want := range []string{"/api/backups/a.zip?token=[redacted]", "code=[redacted]&x=1", `"userAgent"`} {
		if !strings.Contains(got["log1"][0]+got["log1"][1], want) {
			t.Errorf("log1 lacks %q: %q", want, got["log1"])
		}
	}
	if got["log2"][0] != rows[1].message || !strings.Contains(got["log2"][1], "filter=(a='?')") {
		t.Errorf("log2 changed: %q", got["log2"])
	}
	if got["log3"][0] != rows[2].message {
		t.Errorf("log3 changed: %q", got["log3"])
	}
}
