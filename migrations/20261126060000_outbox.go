package migrations

import "github.com/hatchgrid/hatchgrid/core/dialect"

// outbox creates the transactional outbox: jobs written in the same
// transaction as the change that caused them, moved into the job queue
// once it commits (and on every start, for rows a crash left behind).
func outbox() Migration {
	return Migration{
		Name:   "20261126060000_outbox",
		Target: Data,
		Up: func(tx *Tx) error {
			err := tx.CreateTable("_outbox",
				Column{Name: "id"},
				Column{Name: "type"},
				Column{Name: "payload"},
				Column{Name: "options", Kind: dialect.JSON},
				Column{Name: "attempts", Kind: dialect.Integer},
				Column{Name: "lastError"},
				Column{Name: "created"},
			)
			if err != nil {
				return err
			}
			return tx.Exec(`CREATE INDEX "idx__outbox_created" ON "_outbox" ("created")`)
		},
		Down: func(tx *Tx) error { return tx.DropTable("_outbox") },
	}
}
