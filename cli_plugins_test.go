package hatchgrid_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/migrations"
	"github.com/spf13/cobra"
)

// notesPlugin uses every part of the plugin API that is not HTTP: its own
// config section, a migration for its table and a CLI command that opens
// the App.
type notesPlugin struct {
	cfg struct {
		Greeting string   `koanf:"greeting"`
		Tags     []string `koanf:"tags"`
	}
}

var (
	_ core.Plugin               = (*notesPlugin)(nil)
	_ hatchgrid.CommandProvider = (*notesPlugin)(nil)
)

func (p *notesPlugin) Name() string { return "notes" }

func (p *notesPlugin) Register(app *core.App) error {
	if err := app.PluginConfig("notes", &p.cfg); err != nil {
		return err
	}
	return app.AddMigrations(migrations.Migration{
		Name: "notes_1_create",
		Up: func(tx *migrations.Tx) error {
			return tx.CreateTable("plugin_notes", migrations.Column{Name: "id"}, migrations.Column{Name: "body", Type: "TEXT NOT NULL"})
		},
		Down: func(tx *migrations.Tx) error { return tx.DropTable("plugin_notes") },
	})
}

func (p *notesPlugin) Commands(h *hatchgrid.Hatchgrid) []*cobra.Command {
	add := &cobra.Command{
		Use:  "add BODY",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return h.WithApp(cmd, func(ctx context.Context, app *core.App) error {
				db := app.DB(ctx)
				body := p.cfg.Greeting + " " + a[0] + " " + strings.Join(p.cfg.Tags, "+")
				if err := db.Exec("INSERT INTO plugin_notes (id, body) VALUES (?, ?)", a[0], body).Error; err != nil {
					return err
				}
				var n int64
				if err := db.Raw("SELECT COUNT(*) FROM plugin_notes").Scan(&n).Error; err != nil {
					return err
				}
				fmt.Fprintf(h.Stdout(), "%s (%d notes)\n", body, n)
				return nil
			})
		},
	}
	return []*cobra.Command{{Use: "notes", Short: "Plugin notes"}, add}
}

func TestPluginConfigMigrationsAndCommands(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.env = append(c.env, "HG_PLUGINS_NOTES_GREETING=hello", "HG_PLUGINS_NOTES_TAGS=a, b")
	dir := t.TempDir()
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		h := hatchgrid.New(
			hatchgrid.WithPlugins(&notesPlugin{}),
			hatchgrid.WithOutput(&out, &errOut),
			hatchgrid.WithEnviron(func() []string { return c.env }),
			hatchgrid.WithAppOptions(core.WithLogger(discardLogger())),
		)
		code := h.ExecuteArgs(args)
		return code, out.String(), errOut.String()
	}

	code, out, errOut := run("add", "n1", "--dir", dir)
	if code != 0 || out != "hello n1 a+b (1 notes)\n" {
		t.Fatalf("add: %d %q %q", code, out, errOut)
	}
	if code, out, _ := run("migrate", "status", "--dir", dir); code != 0 || !strings.Contains(out, "notes_1_create") || strings.Contains(out, "pending") {
		t.Fatalf("status lists the plugin's migration as applied: %d %q", code, out)
	}
	if code, out, errOut := run("migrate", "down", "--dir", dir); code != 0 || !strings.Contains(out, "Reverted notes_1_create") {
		t.Fatalf("down reverts the plugin's migration first: %d %q %q", code, out, errOut)
	}
	if code, out, _ := run("add", "n2", "--dir", dir); code != 0 || !strings.Contains(out, "(1 notes)") {
		t.Fatalf("the table is created again on the next bootstrap: %d %q", code, out)
	}

	// A key the plugin does not know is a configuration error, exit 2.
	c.env = append(c.env, "HG_PLUGINS_NOTES_GREETNG=typo")
	if code, _, errOut := run("add", "n3", "--dir", dir); code != hatchgrid.ExitConfig || !strings.Contains(errOut, "plugins.notes") || !strings.Contains(errOut, "greetng") {
		t.Fatalf("unknown plugin key: %d %q", code, errOut)
	}
}

func TestPluginConfigFromFile(t *testing.T) {
	t.Parallel()
	cfg := writeFile(t, "hatchgrid.yaml", "plugins:\n  notes:\n    greeting: hi\n    tags: [x, y]\n")
	var out bytes.Buffer
	p := &notesPlugin{}
	h := hatchgrid.New(
		hatchgrid.WithPlugins(p),
		hatchgrid.WithOutput(&out, &out),
		hatchgrid.WithEnviron(func() []string { return newCLI(t).env }),
		hatchgrid.WithAppOptions(core.WithLogger(discardLogger())),
	)
	if code := h.ExecuteArgs([]string{"add", "n1", "--config", cfg, "--dir", t.TempDir()}); code != 0 || out.String() != "hi n1 x+y (1 notes)\n" {
		t.Fatalf("%d %q", code, out.String())
	}
}
