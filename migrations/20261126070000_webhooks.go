package migrations

import "github.com/hatchgrid/hatchgrid/core/dialect"

// webhooks creates the tables of the webhooks plugin: the webhooks, one per
// collection with the events it is called for, and the log of delivery
// attempts.
func webhooks() Migration {
	return Migration{
		Name:   "20261126070000_webhooks",
		Target: Data,
		Up: func(tx *Tx) error {
			err := tx.CreateTable("_webhooks",
				Column{Name: "id"},
				Column{Name: "collection"},
				Column{Name: "events", Kind: dialect.JSON},
				Column{Name: "url"},
				Column{Name: "secret"},
				Column{Name: "enabled", Kind: dialect.Bool},
				Column{Name: "created"},
				Column{Name: "updated"},
			)
			if err != nil {
				return err
			}
			err = tx.CreateTable("_webhook_deliveries",
				Column{Name: "id"},
				Column{Name: "webhook"},
				Column{Name: "event"},
				Column{Name: "recordId"},
				Column{Name: "attempt", Kind: dialect.Integer},
				Column{Name: "status"},
				Column{Name: "responseCode", Kind: dialect.Integer},
				Column{Name: "durationMs", Kind: dialect.Integer},
				Column{Name: "error"},
				// payload is the job's payload, kept for manual redelivery.
				Column{Name: "payload"},
				Column{Name: "created"},
			)
			if err != nil {
				return err
			}
			if err := tx.Exec(`CREATE INDEX "idx__webhooks_collection" ON "_webhooks" ("collection")`); err != nil {
				return err
			}
			return tx.Exec(`CREATE INDEX "idx__webhook_deliveries_webhook" ON "_webhook_deliveries" ("webhook", "created")`)
		},
		Down: func(tx *Tx) error {
			if err := tx.DropTable("_webhook_deliveries"); err != nil {
				return err
			}
			return tx.DropTable("_webhooks")
		},
	}
}
