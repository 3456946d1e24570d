package audit

import "github.com/hatchgrid/hatchgrid/migrations"

// Table is the audit log's table.
const Table = "_audit_log"

// migration creates the table, its indexes and the triggers that make it
// append-only. seq orders the entries: ids are random and many entries
// share a millisecond.
func migration() migrations.Migration {
	return migrations.Migration{
		Name: "audit_1_create_log",
		Up: func(tx *migrations.Tx) error {
			seq := `"seq" INTEGER PRIMARY KEY AUTOINCREMENT`
			if tx.Dialect.Name() == "postgres" {
				seq = `"seq" BIGSERIAL PRIMARY KEY`
			}
			stmts := []string{
				`CREATE TABLE "` + Table + `" (` + seq + `,
					"id" TEXT NOT NULL UNIQUE,
					"created" TEXT NOT NULL,
					"actorType" TEXT NOT NULL,
					"actorId" TEXT NOT NULL DEFAULT '',
					"actorCollection" TEXT NOT NULL DEFAULT '',
					"actorEmail" TEXT NOT NULL DEFAULT '',
					"ip" TEXT NOT NULL DEFAULT '',
					"action" TEXT NOT NULL,
					"resourceKind" TEXT NOT NULL,
					"resourceId" TEXT NOT NULL DEFAULT '',
					"resourceName" TEXT NOT NULL DEFAULT '',
					"changes" TEXT NOT NULL DEFAULT '{}')`,
				`CREATE INDEX "idx__audit_log_kind" ON "` + Table + `" ("resourceKind", "seq")`,
				`CREATE INDEX "idx__audit_log_actor" ON "` + Table + `" ("actorId", "seq")`,
				`CREATE INDEX "idx__audit_log_resource" ON "` + Table + `" ("resourceId", "seq")`,
			}
			stmts = append(stmts, appendOnly(tx.Dialect.Name())...)
			for _, s := range stmts {
				if err := tx.Exec(s); err != nil {
					return err
				}
			}
			return nil
		},
		Down: func(tx *migrations.Tx) error {
			if err := tx.DropTable(Table); err != nil {
				return err
			}
			if tx.Dialect.Name() == "postgres" {
				return tx.Exec(`DROP FUNCTION IF EXISTS "audit_log_append_only"()`)
			}
			return nil
		},
	}
}

// appendOnly returns the statements of the triggers that refuse every
// UPDATE and DELETE of an entry, whoever runs them.
func appendOnly(dialect string) []string {
	if dialect == "postgres" {
		return []string{
			`CREATE OR REPLACE FUNCTION "audit_log_append_only"() RETURNS trigger AS $$
			BEGIN
				RAISE EXCEPTION 'audit log is append-only: % refused', TG_OP;
			END;
			$$ LANGUAGE plpgsql`,
			`CREATE TRIGGER "audit_log_no_update" BEFORE UPDATE OR DELETE ON "` + Table + `"
				FOR EACH ROW EXECUTE FUNCTION "audit_log_append_only"()`,
			`CREATE TRIGGER "audit_log_no_truncate" BEFORE TRUNCATE ON "` + Table + `"
				FOR EACH STATEMENT EXECUTE FUNCTION "audit_log_append_only"()`,
		}
	}
	return []string{
		`CREATE TRIGGER "audit_log_no_update" BEFORE UPDATE ON "` + Table + `"
			BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused'); END`,
		`CREATE TRIGGER "audit_log_no_delete" BEFORE DELETE ON "` + Table + `"
			BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused'); END`,
	}
}
