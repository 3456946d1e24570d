package migrations

import "github.com/hatchgrid/hatchgrid/core/dialect"

// initLogs creates the request-log table of the logs database.
func initLogs() Migration {
	return Migration{
		Name:   "20261126000001_init_logs",
		Target: Logs,
		Up: func(tx *Tx) error {
			err := tx.CreateTable("_logs",
				Column{Name: "id"},
				Column{Name: "level", Kind: dialect.Integer},
				Column{Name: "message"},
				Column{Name: "data", Kind: dialect.JSON},
				Column{Name: "created"},
			)
			if err != nil {
				return err
			}
			if err := tx.Exec(`CREATE INDEX "idx__logs_created" ON "_logs" ("created")`); err != nil {
				return err
			}
			return tx.Exec(`CREATE INDEX "idx__logs_level" ON "_logs" ("level")`)
		},
		Down: func(tx *Tx) error { return tx.DropTable("_logs") },
	}
}
