package migrations

// authOrigins creates the table of the devices auth records have signed
// in from, which login alerts compare new sign-ins against.
func authOrigins() Migration {
	return Migration{
		Name:   "20261126050000_auth_origins",
		Target: Data,
		Up: func(tx *Tx) error {
			err := tx.CreateTable("_authOrigins",
				Column{Name: "id"},
				Column{Name: "collectionRef"},
				Column{Name: "recordRef"},
				Column{Name: "fingerprint"},
				Column{Name: "created"},
				Column{Name: "updated"},
			)
			if err != nil {
				return err
			}
			return tx.Exec(`CREATE UNIQUE INDEX "idx__authOrigins_fingerprint" ON "_authOrigins" ("collectionRef", "recordRef", "fingerprint")`)
		},
		Down: func(tx *Tx) error { return tx.DropTable("_authOrigins") },
	}
}
