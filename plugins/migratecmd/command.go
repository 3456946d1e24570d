package migratecmd

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hatchgrid/hatchgrid"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/spf13/cobra"
)

// Commands adds the --migrationsDir and --automigrate flags to every
// command and `migrate collections` to the migrate command.
func (p *Plugin) Commands(h *hatchgrid.Hatchgrid) []*cobra.Command {
	pf := h.Root().PersistentFlags()
	pf.StringVar(&p.flagDir, FlagDir, "", "collection migrations dir (default hg_migrations beside the data dir; plugins.migratecmd.dir)")
	pf.BoolVar(&p.flagAuto, FlagAutomigrate, false, "write a migration file for every collection change (default on with --dev; plugins.migratecmd.automigrate)")
	p.flags = pf

	snapshot := &cobra.Command{
		Use:   "collections",
		Short: "Write a migration file with a snapshot of every non-system collection",
		Long: "Writes <migrationsDir>/<stamp>_collections_snapshot.json, whose up imports every\n" +
			"non-system collection as it is now and deletes any other; its down does nothing.\n" +
			"The file is recorded as applied here; other instances apply it with `migrate up`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return h.WithApp(cmd, func(ctx context.Context, app *core.App) error {
				path, err := p.writeSnapshot(ctx, app)
				if err != nil {
					return err
				}
				fmt.Fprintln(h.Stdout(), "Created", path)
				return nil
			})
		},
	}
	migrate := &cobra.Command{Use: "migrate"}
	migrate.AddCommand(snapshot)
	return []*cobra.Command{migrate}
}

// writeSnapshot writes the snapshot file and records it as applied, in one
// transaction: if the file cannot be written, nothing is recorded.
func (p *Plugin) writeSnapshot(ctx context.Context, app *core.App) (string, error) {
	s, err := p.settings(app)
	if err != nil {
		return "", err
	}
	var cols []*core.Collection
	for _, c := range app.Collections().All() {
		if !c.System {
			cols = append(cols, c)
		}
	}
	up, err := collectionsJSON(dependenciesFirst(cols)...)
	if err != nil {
		return "", err
	}
	f := &File{Up: Step{Collections: up, DeleteMissing: true}, Down: &Step{}}
	b, err := f.encode()
	if err != nil {
		return "", err
	}
	if err := osMkdirAll(s.dir); err != nil {
		return "", err
	}
	name, err := p.nextName(app, s.dir, ActionSnapshot, "")
	if err != nil {
		return "", err
	}
	path := filepath.Join(s.dir, name)
	err = app.InTx(ctx, func(ctx context.Context) error {
		if err := app.Migrator().MarkApplied(ctx, name); err != nil {
			return err
		}
		return writeNew(path, b)
	})
	return path, err
}

// dependenciesFirst orders collections so that each comes after the
// collections its relation fields point to and, for views, after every
// base and auth collection, so that importing them in order succeeds.
// Cycles keep their original order.
func dependenciesFirst(cols []*core.Collection) []*core.Collection {
	byID := map[string]*core.Collection{}
	for _, c := range cols {
		byID[c.ID] = c
	}
	out := make([]*core.Collection, 0, len(cols))
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(c *core.Collection)
	visit = func(c *core.Collection) {
		if state[c.ID] != 0 {
			return
		}
		state[c.ID] = 1
		for _, f := range c.Fields {
			if f.IsRelation() {
				if dep, ok := byID[f.Options.CollectionID]; ok {
					visit(dep)
				}
			}
		}
		state[c.ID] = 2
		out = append(out, c)
	}
	for _, c := range cols {
		if !c.IsView() {
			visit(c)
		}
	}
	for _, c := range cols {
		visit(c)
	}
	return out
}
