package migrations

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/hatchgrid/hatchgrid/core/dialect"
	"github.com/hatchgrid/hatchgrid/core/security"
)

// SuperusersCollectionID is the fixed id of the _superusers collection, the
// same as PocketBase's so that clients comparing it keep working.
const SuperusersCollectionID = "pbc_3142635823"

// initData creates the system tables of the data database: settings
// (_params), collection definitions (_collections) and _superusers, whose
// definition it records as PocketBase's system auth collection.
func initData() Migration {
	return Migration{
		Name:   "20261126000000_init",
		Target: Data,
		Up: func(tx *Tx) error {
			steps := []func() error{
				func() error {
					return tx.CreateTable("_params",
						Column{Name: "id"},
						Column{Name: "value", Kind: dialect.JSON},
						Column{Name: "created"},
						Column{Name: "updated"},
					)
				},
				func() error {
					nullableText := "TEXT DEFAULT NULL"
					return tx.CreateTable("_collections",
						Column{Name: "id"},
						Column{Name: "system", Kind: dialect.Bool},
						Column{Name: "type", Type: "TEXT DEFAULT 'base' NOT NULL"},
						Column{Name: "name"},
						Column{Name: "fields", Kind: dialect.JSON},
						Column{Name: "indexes", Kind: dialect.JSON},
						Column{Name: "listRule", Type: nullableText},
						Column{Name: "viewRule", Type: nullableText},
						Column{Name: "createRule", Type: nullableText},
						Column{Name: "updateRule", Type: nullableText},
						Column{Name: "deleteRule", Type: nullableText},
						Column{Name: "options", Kind: dialect.JSON},
						Column{Name: "created"},
						Column{Name: "updated"},
					)
				},
				// Names are unique regardless of case, as in PocketBase.
				func() error {
					return tx.Exec(`CREATE UNIQUE INDEX "idx__collections_name" ON "_collections" (LOWER("name"))`)
				},
				func() error {
					return tx.CreateTable("_superusers",
						Column{Name: "id"},
						Column{Name: "password"},
						Column{Name: "tokenKey"},
						Column{Name: "email"},
						Column{Name: "emailVisibility", Kind: dialect.Bool},
						Column{Name: "verified", Kind: dialect.Bool},
						Column{Name: "created"},
						Column{Name: "updated"},
					)
				},
				func() error {
					return tx.Exec(`CREATE UNIQUE INDEX "idx_tokenKey_` + SuperusersCollectionID + `" ON "_superusers" ("tokenKey")`)
				},
				func() error {
					return tx.Exec(`CREATE UNIQUE INDEX "idx_email_` + SuperusersCollectionID + `" ON "_superusers" ("email") WHERE "email" != ''`)
				},
				func() error { return insertSuperusersCollection(tx) },
			}
			for _, step := range steps {
				if err := step(); err != nil {
					return err
				}
			}
			return nil
		},
		Down: func(tx *Tx) error {
			for _, table := range []string{"_superusers", "_collections", "_params"} {
				if err := tx.DropTable(table); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

type fieldDef map[string]any

// field builds a field definition whose id follows PocketBase's scheme: the
// type followed by the CRC-32 of the name.
func field(typ, name string, opts fieldDef) fieldDef {
	f := fieldDef{
		"id":          fmt.Sprintf("%s%d", typ, crc32.ChecksumIEEE([]byte(name))),
		"name":        name,
		"type":        typ,
		"system":      true,
		"hidden":      false,
		"presentable": false,
	}
	for k, v := range opts {
		f[k] = v
	}
	return f
}

func insertSuperusersCollection(tx *Tx) error {
	return insertSystemAuthCollection(tx, SuperusersCollectionID, "_superusers", []string{
		`CREATE UNIQUE INDEX "idx_tokenKey_` + SuperusersCollectionID + `" ON "_superusers" ("tokenKey")`,
		`CREATE UNIQUE INDEX "idx_email_` + SuperusersCollectionID + `" ON "_superusers" ("email") WHERE "email" != ''`,
	})
}

// insertSystemAuthCollection records the definition of a system auth
// collection with PocketBase's auth fields, fresh token secrets and the
// given indexes (created by the caller). Later migrations that add system
// auth collections (_staff) use it too, so it is part of applied
// migrations: never change what it writes; change a definition in a new
// migration instead.
func insertSystemAuthCollection(tx *Tx, id, name string, indexes []string) error {
	fields := []fieldDef{
		field("text", "id", fieldDef{"primaryKey": true, "required": true, "min": 15, "max": 15,
			"pattern": "^[a-z0-9]+$", "autogeneratePattern": "[a-z0-9]{15}"}),
		field("password", "password", fieldDef{"hidden": true, "required": true, "min": 8, "max": 0, "cost": 0, "pattern": ""}),
		field("text", "tokenKey", fieldDef{"hidden": true, "required": true, "min": 30, "max": 60,
			"pattern": "", "autogeneratePattern": "[a-zA-Z0-9]{50}", "primaryKey": false}),
		field("email", "email", fieldDef{"required": true, "exceptDomains": nil, "onlyDomains": nil}),
		field("bool", "emailVisibility", fieldDef{"required": false}),
		field("bool", "verified", fieldDef{"required": false}),
		field("autodate", "created", fieldDef{"onCreate": true, "onUpdate": false}),
		field("autodate", "updated", fieldDef{"onCreate": true, "onUpdate": true}),
	}
	token := func(seconds int) map[string]any {
		return map[string]any{"duration": seconds, "secret": security.RandomString(50, security.SecretAlphabet)}
	}
	options := map[string]any{
		"authRule":           "",
		"manageRule":         nil,
		"passwordAuth":       map[string]any{"enabled": true, "identityFields": []string{"email"}},
		"authToken":          token(86400),
		"passwordResetToken": token(1800),
		"emailChangeToken":   token(1800),
		"verificationToken":  token(259200),
		"fileToken":          token(180),
	}

	var docs [3][]byte
	for i, v := range []any{fields, indexes, options} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		docs[i] = b
	}
	now := time.Now().UTC().Format("2006-01-02 15:04:05.000Z")
	return tx.Exec(
		`INSERT INTO "_collections" ("id", "system", "type", "name", "fields", "indexes", "options", "created", "updated")
		 VALUES (?, TRUE, 'auth', ?, ?, ?, ?, ?, ?)`,
		id, name, string(docs[0]), string(docs[1]), string(docs[2]), now, now,
	)
}
