package migratecmd

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/migrations"
)

// applyingKey marks a context in which a migration file is being applied,
// so that the changes it makes are not written down again as new files.
type applyingKey struct{}

func applying(ctx context.Context) bool {
	v, _ := ctx.Value(applyingKey{}).(bool)
	return v
}

// migration turns a file into a migration that applies it through the
// collection service, inside the migration's transaction.
func migration(app *core.App, mf migrationFile) migrations.Migration {
	m := migrations.Migration{
		Name:   mf.name,
		Target: migrations.Data,
		Up: func(tx *migrations.Tx) error {
			return applyStep(app, tx, &mf.file.Up)
		},
	}
	if down := mf.file.Down; down != nil {
		m.Down = func(tx *migrations.Tx) error { return applyStep(app, tx, down) }
	}
	return m
}

// applyStep creates or updates the step's collections, then deletes those
// it lists. The collection service creates and alters the tables for the
// dialect, in the transaction that tx.Context carries.
func applyStep(app *core.App, tx *migrations.Tx, s *Step) error {
	if tx.Context == nil {
		return errors.New("the migration runner gives no context to join its transaction")
	}
	ctx := context.WithValue(tx.Context, applyingKey{}, true)
	cols := app.Collections()
	// `migrate up` opens the App without loading the collections, and an
	// earlier migration of this run may have changed them.
	if err := cols.Reload(ctx); err != nil {
		return err
	}
	inputs, err := s.inputs()
	if err != nil {
		return err
	}
	switch {
	case len(inputs) > 0:
		if err := cols.Import(ctx, inputs, s.DeleteMissing); err != nil {
			return describe(err)
		}
	case s.DeleteMissing:
		if err := deleteAll(ctx, cols); err != nil {
			return describe(err)
		}
	}
	for _, r := range s.Delete {
		key := r.ID
		if key == "" {
			key = r.Name
		}
		if _, err := cols.Find(key); err != nil {
			return fmt.Errorf("delete collection %q: not found", key)
		}
		if err := cols.Delete(ctx, key); err != nil {
			return fmt.Errorf("delete collection %q: %w", key, describe(err))
		}
	}
	return nil
}

// deleteAll deletes every non-system collection, dependants first.
func deleteAll(ctx context.Context, cols *core.CollectionService) error {
	for {
		var pending []*core.Collection
		for _, c := range cols.All() {
			if !c.System {
				pending = append(pending, c)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		var lastErr error
		progressed := false
		for _, c := range pending {
			if err := cols.Delete(ctx, c.ID); err != nil {
				lastErr = err
				continue
			}
			progressed = true
		}
		if !progressed {
			return lastErr
		}
	}
}

// describe adds a validation error's field details to its message, which
// alone says little in a terminal.
func describe(err error) error {
	var ce *core.Error
	if !errors.As(err, &ce) || len(ce.Fields) == 0 {
		return err
	}
	keys := make([]string, 0, len(ce.Fields))
	for k := range ce.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	msg := ce.Message
	for _, k := range keys {
		msg += fmt.Sprintf(" %s: %s", k, ce.Fields[k].Message)
	}
	return &core.Error{Code: ce.Code, Message: msg, Err: ce.Err}
}
