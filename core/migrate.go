package core

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hatchgrid/hatchgrid/core/dialect"
	"github.com/hatchgrid/hatchgrid/migrations"
	"gorm.io/gorm"
)

// MigrationStatus is one migration as `migrate status` shows it.
type MigrationStatus struct {
	Name      string
	Target    migrations.Target
	Applied   bool
	AppliedAt time.Time
}

// Migrator applies and reverts the App's migrations. Each migration runs in
// its own transaction together with the _migrations row that records it, so
// a failure leaves neither.
type Migrator struct {
	app *App
}

// Migrator returns the App's migrator. The databases must be open.
func (a *App) Migrator() *Migrator { return &Migrator{app: a} }

type migrationRow struct {
	File    string `gorm:"column:file;primaryKey"`
	Applied int64  `gorm:"column:applied"`
}

func (migrationRow) TableName() string { return "_migrations" }

func (m *Migrator) db(t migrations.Target) *gorm.DB {
	if t == migrations.Logs {
		return m.app.logsDB.Write
	}
	return m.app.data.Write
}

func (m *Migrator) ensureTable(ctx context.Context, db *gorm.DB) error {
	return db.WithContext(ctx).Exec(`CREATE TABLE IF NOT EXISTS "_migrations" ("file" TEXT PRIMARY KEY NOT NULL, "applied" ` +
		m.app.dialect.ColumnType(dialect.Integer) + `)`).Error
}

func (m *Migrator) applied(ctx context.Context, db *gorm.DB) (map[string]int64, error) {
	if err := m.ensureTable(ctx, db); err != nil {
		return nil, err
	}
	var rows []migrationRow
	if err := db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.File] = r.Applied
	}
	return out, nil
}

// Up applies every pending migration in order and returns the names applied.
func (m *Migrator) Up(ctx context.Context) ([]string, error) {
	var done []string
	for _, mig := range m.app.migrations {
		db := m.db(mig.Target)
		ran := false
		st := &txState{}
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := m.lock(tx); err != nil {
				return err
			}
			var n int64
			if err := m.ensureTable(ctx, tx); err != nil {
				return err
			}
			if err := tx.Model(&migrationRow{}).Where(`"file" = ?`, mig.Name).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return nil // applied earlier, or by another instance meanwhile
			}
			if err := mig.Up(m.tx(ctx, tx, mig.Target, st)); err != nil {
				return err
			}
			ran = true
			return tx.Create(&migrationRow{File: mig.Name, Applied: m.app.Now().UnixMicro()}).Error
		})
		if err != nil {
			return done, fmt.Errorf("migration %s: %w", mig.Name, err)
		}
		st.runAfterCommit(ctx)
		if ran {
			m.app.logger.Info("applied migration", "name", mig.Name, "target", mig.Target.String())
			done = append(done, mig.Name)
		}
	}
	return done, nil
}

// Down reverts the last n applied migrations, newest first, and returns the
// names reverted. It stops at the first irreversible one.
func (m *Migrator) Down(ctx context.Context, n int) ([]string, error) {
	status, err := m.Status(ctx)
	if err != nil {
		return nil, err
	}
	var applied []MigrationStatus
	for _, s := range status {
		if s.Applied {
			applied = append(applied, s)
		}
	}
	slices.SortStableFunc(applied, func(a, b MigrationStatus) int {
		if c := b.AppliedAt.Compare(a.AppliedAt); c != 0 {
			return c
		}
		return compareStrings(b.Name, a.Name)
	})

	var done []string
	for _, s := range applied[:min(n, len(applied))] {
		mig := m.find(s.Name)
		if mig.Down == nil {
			return done, fmt.Errorf("migration %s cannot be reverted", s.Name)
		}
		st := &txState{}
		err := m.db(mig.Target).WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := m.lock(tx); err != nil {
				return err
			}
			if err := mig.Down(m.tx(ctx, tx, mig.Target, st)); err != nil {
				return err
			}
			return tx.Where(`"file" = ?`, mig.Name).Delete(&migrationRow{}).Error
		})
		if err != nil {
			return done, fmt.Errorf("revert %s: %w", mig.Name, err)
		}
		st.runAfterCommit(ctx)
		m.app.logger.Info("reverted migration", "name", mig.Name)
		done = append(done, mig.Name)
	}
	return done, nil
}

// tx builds the migrations.Tx of one migration. A data migration's Context
// carries the transaction as InTx would, so that App services join it.
func (m *Migrator) tx(ctx context.Context, tx *gorm.DB, t migrations.Target, st *txState) *migrations.Tx {
	if t == migrations.Data {
		st.tx = tx
		ctx = context.WithValue(ctx, txKey{}, st)
	}
	return &migrations.Tx{DB: tx, Dialect: m.app.dialect, Context: ctx}
}

// MarkApplied records the data migration name as applied without running
// it, for a migration written from a change this instance has already
// made (plugins/migratecmd). Inside InTx it joins the transaction, so the
// record commits with the change. Marking an applied migration again is a
// no-op.
func (m *Migrator) MarkApplied(ctx context.Context, name string) error {
	db := m.app.DB(ctx)
	if err := m.ensureTable(ctx, db); err != nil {
		return err
	}
	var n int64
	if err := db.Model(&migrationRow{}).Where(`"file" = ?`, name).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	return db.Create(&migrationRow{File: name, Applied: m.app.Now().UnixMicro()}).Error
}

// Status lists every known migration with whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	applied := map[migrations.Target]map[string]int64{}
	for _, t := range []migrations.Target{migrations.Data, migrations.Logs} {
		rows, err := m.applied(ctx, m.db(t))
		if err != nil {
			return nil, err
		}
		applied[t] = rows
	}
	out := make([]MigrationStatus, 0, len(m.app.migrations))
	for _, mig := range m.app.migrations {
		at, ok := applied[mig.Target][mig.Name]
		s := MigrationStatus{Name: mig.Name, Target: mig.Target, Applied: ok}
		if ok {
			s.AppliedAt = time.UnixMicro(at).UTC()
		}
		out = append(out, s)
	}
	return out, nil
}

func (m *Migrator) find(name string) migrations.Migration {
	for _, mig := range m.app.migrations {
		if mig.Name == name {
			return mig
		}
	}
	return migrations.Migration{}
}

// lock serialises migrations across instances sharing one PostgreSQL; on
// SQLite the IMMEDIATE transaction already holds the write lock.
func (m *Migrator) lock(tx *gorm.DB) error {
	if m.app.dialect.Name() != "postgres" {
		return nil
	}
	// Keyed by schema, so databases in separate schemas do not wait on
	// each other.
	return tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('hatchgrid:migrations:' || current_schema()))`).Error
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
