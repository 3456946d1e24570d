package core_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/migrations"
	"golang.org/x/crypto/bcrypt"
)

func TestBootstrapAppliesMigrationsOnce(t *testing.T) {
	t.Parallel()
	cfg := coretest.Config(t)
	ctx := context.Background()

	app := core.New(cfg, core.WithLogger(discardLogger()))
	if err := app.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	status, err := app.Migrator().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range status {
		if !s.Applied {
			t.Errorf("migration %s not applied after bootstrap", s.Name)
		}
	}
	if err := app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// A second start on the same databases applies nothing.
	again := core.New(cfg, core.WithLogger(discardLogger()))
	if err := again.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	defer again.Shutdown(ctx)
	applied, err := again.Migrator().Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second Up applied %v, want nothing", applied)
	}
}

func TestMigrateDownAndUpAgain(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()

	if _, err := app.Superusers().Upsert(ctx, "a@b.co", "Secret12345"); err != nil {
		t.Fatal(err)
	}
	all := migrations.All()
	reverted, err := app.Migrator().Down(ctx, len(all))
	if err != nil {
		t.Fatal(err)
	}
	if len(reverted) != len(all) {
		t.Fatalf("reverted %v, want all %d", reverted, len(all))
	}
	var tables []string
	if err := app.DB(ctx).Raw(tableListSQL(app)).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"_superusers", "_collections", "_params"} {
		if slices.Contains(tables, table) {
			t.Errorf("table %s still exists after down", table)
		}
	}

	applied, err := app.Migrator().Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(all) {
		t.Fatalf("re-applied %v, want %d", applied, len(all))
	}
	if n, err := app.Superusers().Count(ctx); err != nil || n != 0 {
		t.Fatalf("Count after down/up = %d, %v; want 0 (fresh tables)", n, err)
	}
}

func TestFailingMigrationLeavesNothing(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	broken := migrations.Migration{
		Name: "29991231000000_broken",
		Up: func(tx *migrations.Tx) error {
			if err := tx.CreateTable("half_done", migrations.Column{Name: "id"}); err != nil {
				return err
			}
			return boom
		},
	}
	cfg := coretest.Config(t)
	app := core.New(cfg, core.WithLogger(discardLogger()), core.WithMigrations(broken))
	err := app.Bootstrap(context.Background())
	if !errors.Is(err, boom) {
		t.Fatalf("Bootstrap err = %v, want boom", err)
	}
	app.Shutdown(context.Background())

	// Re-open without the broken migration: the table it created was rolled
	// back with it, and it is not recorded.
	ok := core.New(cfg, core.WithLogger(discardLogger()))
	if err := ok.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer ok.Shutdown(context.Background())
	var tables []string
	if err := ok.DB(context.Background()).Raw(tableListSQL(ok)).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	if slices.Contains(tables, "half_done") {
		t.Fatal("table of the failed migration survived")
	}
	var n int64
	ok.DB(context.Background()).Table("_migrations").Where(`"file" = ?`, broken.Name).Count(&n)
	if n != 0 {
		t.Fatal("failed migration was recorded")
	}
}

func TestInTxRollsBackNested(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	boom := errors.New("boom")

	err := app.InTx(ctx, func(ctx context.Context) error {
		if _, err := app.Superusers().Create(ctx, "x@y.co", "Secret12345"); err != nil {
			return err
		}
		return app.InTx(ctx, func(ctx context.Context) error { return boom })
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if n, _ := app.Superusers().Count(ctx); n != 0 {
		t.Fatalf("superuser survived a rolled back transaction")
	}
}

func TestSettingsPersist(t *testing.T) {
	t.Parallel()
	cfg := coretest.Config(t)
	ctx := context.Background()
	app := core.New(cfg, core.WithLogger(discardLogger()))
	if err := app.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if got := app.Settings().Logs.MaxDays; got != 5 {
		t.Fatalf("default logs.maxDays = %d, want 5", got)
	}
	s := app.Settings()
	s.Meta.AppName = "Tested"
	s.Logs.MaxDays = 9
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	app.Shutdown(ctx)

	again := core.New(cfg, core.WithLogger(discardLogger()))
	if err := again.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	defer again.Shutdown(ctx)
	if got := again.Settings(); got.Meta.AppName != "Tested" || got.Logs.MaxDays != 9 {
		t.Fatalf("settings after restart = %+v", got)
	}
}

func tableListSQL(app *core.App) string {
	if app.Dialect().Name() == "postgres" {
		return `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	}
	return `SELECT name FROM sqlite_master WHERE type = 'table'`
}

// TestPasswordCost checks that servers hash passwords at bcrypt's default
// cost: tests run at its least (coretest's WithPasswordCost), and nothing
// else may lower it.
func TestPasswordCost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []core.Option
		want int
	}{
		{"default", nil, bcrypt.DefaultCost},
		{"WithPasswordCost", []core.Option{core.WithPasswordCost(bcrypt.MinCost + 1)}, bcrypt.MinCost + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := core.New(coretest.Config(t), append([]core.Option{core.WithLogger(discardLogger()), core.WithInlineJobs()}, tc.opts...)...)
			if err := app.Bootstrap(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { app.Shutdown(ctx) })
			rec, err := app.Superusers().Upsert(ctx, "cost@example.com", "Secret12345")
			if err != nil {
				t.Fatal(err)
			}
			cost, err := bcrypt.Cost([]byte(rec.GetString("password")))
			if err != nil || cost != tc.want {
				t.Fatalf("password hashed at cost %d (%v), want %d", cost, err, tc.want)
			}
		})
	}
}
