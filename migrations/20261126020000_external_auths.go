package migrations

import (
	"encoding/json"
	"time"
)

// ExternalAuthsCollectionID is the fixed id of the _externalAuths
// collection: "pbc_" and the CRC-32 of "base_externalAuths", as
// PocketBase derives every collection id.
const ExternalAuthsCollectionID = "pbc_2281828961"

// externalAuths creates _externalAuths, the links of auth records to the
// OAuth2 accounts they sign in with, and records its definition as
// PocketBase's system collection: owners may list, view and delete their
// own links; only the server creates or changes them.
func externalAuths() Migration {
	indexes := []string{
		`CREATE UNIQUE INDEX "idx_externalAuths_record_provider" ON "_externalAuths" ("collectionRef", "recordRef", "provider")`,
		`CREATE UNIQUE INDEX "idx_externalAuths_collection_provider" ON "_externalAuths" ("collectionRef", "provider", "providerId")`,
	}
	return Migration{
		Name:   "20261126020000_external_auths",
		Target: Data,
		Up: func(tx *Tx) error {
			err := tx.CreateTable("_externalAuths",
				Column{Name: "id"},
				Column{Name: "collectionRef"},
				Column{Name: "recordRef"},
				Column{Name: "provider"},
				Column{Name: "providerId"},
				Column{Name: "created"},
				Column{Name: "updated"},
			)
			if err != nil {
				return err
			}
			for _, sql := range indexes {
				if err := tx.Exec(sql); err != nil {
					return err
				}
			}
			return insertExternalAuthsCollection(tx, indexes)
		},
		Down: func(tx *Tx) error {
			if err := tx.Exec(`DELETE FROM "_collections" WHERE "id" = ?`, ExternalAuthsCollectionID); err != nil {
				return err
			}
			return tx.DropTable("_externalAuths")
		},
	}
}

func insertExternalAuthsCollection(tx *Tx, indexes []string) error {
	text := func(name string) fieldDef {
		return field("text", name, fieldDef{"required": true, "min": 0, "max": 0, "pattern": "",
			"autogeneratePattern": "", "primaryKey": false})
	}
	fields := []fieldDef{
		field("text", "id", fieldDef{"primaryKey": true, "required": true, "min": 15, "max": 15,
			"pattern": "^[a-z0-9]+$", "autogeneratePattern": "[a-z0-9]{15}"}),
		text("collectionRef"),
		text("recordRef"),
		text("provider"),
		text("providerId"),
		field("autodate", "created", fieldDef{"onCreate": true, "onUpdate": false}),
		field("autodate", "updated", fieldDef{"onCreate": true, "onUpdate": true}),
	}
	var docs [2][]byte
	for i, v := range []any{fields, indexes} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		docs[i] = b
	}
	owner := "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId"
	now := time.Now().UTC().Format("2006-01-02 15:04:05.000Z")
	return tx.Exec(
		`INSERT INTO "_collections" ("id", "system", "type", "name", "fields", "indexes", "listRule", "viewRule",
		  "createRule", "updateRule", "deleteRule", "options", "created", "updated")
		 VALUES (?, TRUE, 'base', '_externalAuths', ?, ?, ?, ?, NULL, NULL, ?, '{}', ?, ?)`,
		ExternalAuthsCollectionID, string(docs[0]), string(docs[1]), owner, owner, owner, now, now,
	)
}
