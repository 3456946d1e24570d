package migrations

// otpsAndMFAs creates the tables of one-time passwords and of pending
// multi-factor sign-ins.
func otpsAndMFAs() Migration {
	return Migration{
		Name:   "20261126030000_otps_mfas",
		Target: Data,
		Up: func(tx *Tx) error {
			steps := []func() error{
				func() error {
					return tx.CreateTable("_otps",
						Column{Name: "id"},
						Column{Name: "collectionRef"},
						Column{Name: "recordRef"},
						Column{Name: "password"},
						Column{Name: "sentTo"},
						Column{Name: "created"},
						Column{Name: "updated"},
					)
				},
				func() error {
					return tx.Exec(`CREATE INDEX "idx__otps_record" ON "_otps" ("collectionRef", "recordRef")`)
				},
				func() error {
					return tx.CreateTable("_mfas",
						Column{Name: "id"},
						Column{Name: "collectionRef"},
						Column{Name: "recordRef"},
						Column{Name: "method"},
						Column{Name: "created"},
						Column{Name: "updated"},
					)
				},
				func() error {
					return tx.Exec(`CREATE INDEX "idx__mfas_record" ON "_mfas" ("collectionRef", "recordRef")`)
				},
			}
			for _, step := range steps {
				if err := step(); err != nil {
					return err
				}
			}
			return nil
		},
		Down: func(tx *Tx) error {
			if err := tx.DropTable("_mfas"); err != nil {
				return err
			}
			return tx.DropTable("_otps")
		},
	}
}
