package hatchgrid

import (
	"context"
	"fmt"
	"slices"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/spf13/cobra"
)

func (h *Hatchgrid) superuserCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "superuser",
		Short: "Manage superusers",
	}
	save := func(use, short string, fn func(*core.SuperuserService) func(context.Context, string, string) (*core.Record, error), done string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " EMAIL PASSWORD",
			Short: short,
			Args:  args(cobra.ExactArgs(2)),
			RunE: func(cmd *cobra.Command, a []string) error {
				return h.withApp(cmd, func(ctx context.Context, app *core.App) error {
					su, err := fn(app.Superusers())(ctx, a[0], a[1])
					if err != nil {
						return describe(err)
					}
					fmt.Fprintf(h.stdout, "%s superuser %s (id %s)\n", done, su.GetString("email"), su.ID())
					return nil
				})
			},
		}
	}
	cmd.AddCommand(
		save("upsert", "Create a superuser, or set the password of an existing one",
			func(s *core.SuperuserService) func(context.Context, string, string) (*core.Record, error) {
				return s.Upsert
			},
			"Saved"),
		save("create", "Create a new superuser",
			func(s *core.SuperuserService) func(context.Context, string, string) (*core.Record, error) {
				return s.Create
			},
			"Created"),
		save("update", "Set the password of an existing superuser",
			func(s *core.SuperuserService) func(context.Context, string, string) (*core.Record, error) {
				return s.Update
			},
			"Updated"),
		&cobra.Command{
			Use:   "delete EMAIL",
			Short: "Delete a superuser",
			Args:  args(cobra.ExactArgs(1)),
			RunE: func(cmd *cobra.Command, a []string) error {
				return h.withApp(cmd, func(ctx context.Context, app *core.App) error {
					if err := app.Superusers().Delete(ctx, a[0]); err != nil {
						return describe(err)
					}
					fmt.Fprintf(h.stdout, "Deleted superuser %s\n", a[0])
					return nil
				})
			},
		},
	)
	return cmd
}

// withApp loads the config, bootstraps an App (migrating it), runs fn and
// shuts the App down.
func (h *Hatchgrid) withApp(cmd *cobra.Command, fn func(ctx context.Context, app *core.App) error) error {
	return h.withOpenApp(cmd, (*core.App).Bootstrap, fn)
}

// withOpenApp loads the config, builds an App, opens it with open, runs fn
// and shuts the App down.
func (h *Hatchgrid) withOpenApp(cmd *cobra.Command, open func(*core.App, context.Context) error, fn func(ctx context.Context, app *core.App) error) error {
	cfg, err := h.loadConfig(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	app := h.newApp(cfg)
	defer app.Shutdown(context.Background())
	if err := open(app, ctx); err != nil {
		return err
	}
	return fn(ctx, app)
}

// withConfiguredApp bootstraps an App of cfg with the program's options
// and extra, runs fn and shuts the App down.
func (h *Hatchgrid) withConfiguredApp(ctx context.Context, cfg *core.Config, extra []core.Option, fn func(ctx context.Context, app *core.App) error) error {
	app := core.New(cfg, append(slices.Clone(h.appOptions), extra...)...)
	defer app.Shutdown(context.Background())
	if err := app.Bootstrap(ctx); err != nil {
		return err
	}
	return fn(ctx, app)
}

// describe renders a core error with its field details for a terminal.
func describe(err error) error {
	ce, ok := err.(*core.Error)
	if !ok || len(ce.Fields) == 0 {
		return err
	}
	msg := ce.Message
	for field, fe := range ce.Fields {
		msg += fmt.Sprintf("\n  %s: %s", field, fe.Message)
	}
	return fmt.Errorf("%s", msg)
}
