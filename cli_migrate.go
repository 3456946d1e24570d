package hatchgrid

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/spf13/cobra"
)

func (h *Hatchgrid) migrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, revert, list or create migrations",
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "up",
			Short: "Apply every pending migration",
			Args:  args(cobra.NoArgs),
			RunE: func(cmd *cobra.Command, _ []string) error {
				return h.withMigrator(cmd, func(ctx context.Context, m *core.Migrator) error {
					applied, err := m.Up(ctx)
					for _, name := range applied {
						fmt.Fprintln(h.stdout, "Applied", name)
					}
					if err == nil && len(applied) == 0 {
						fmt.Fprintln(h.stdout, "No pending migrations.")
					}
					return err
				})
			},
		},
		&cobra.Command{
			Use:   "down [N]",
			Short: "Revert the last N applied migrations (default 1)",
			Args:  args(cobra.MaximumNArgs(1)),
			RunE: func(cmd *cobra.Command, a []string) error {
				n := 1
				if len(a) == 1 {
					v, err := strconv.Atoi(a[0])
					if err != nil || v < 1 {
						return usageError{fmt.Errorf("N must be a positive number, got %q", a[0])}
					}
					n = v
				}
				return h.withMigrator(cmd, func(ctx context.Context, m *core.Migrator) error {
					reverted, err := m.Down(ctx, n)
					for _, name := range reverted {
						fmt.Fprintln(h.stdout, "Reverted", name)
					}
					return err
				})
			},
		},
		&cobra.Command{
			Use:   "status",
			Short: "List migrations and whether each is applied",
			Args:  args(cobra.NoArgs),
			RunE: func(cmd *cobra.Command, _ []string) error {
				return h.withMigrator(cmd, func(ctx context.Context, m *core.Migrator) error {
					status, err := m.Status(ctx)
					if err != nil {
						return err
					}
					w := tabwriter.NewWriter(h.stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "MIGRATION\tDATABASE\tAPPLIED")
					for _, s := range status {
						applied := "pending"
						if s.Applied {
							applied = s.AppliedAt.Format(time.RFC3339)
						}
						fmt.Fprintf(w, "%s\t%s\t%s\n", s.Name, s.Target, applied)
					}
					return w.Flush()
				})
			},
		},
		h.migrateCreateCommand(),
	)
	return cmd
}

// withMigrator opens the databases without migrating them, so that status
// and down see the state as it is.
func (h *Hatchgrid) withMigrator(cmd *cobra.Command, fn func(ctx context.Context, m *core.Migrator) error) error {
	return h.withOpenApp(cmd, (*core.App).OpenForMigrations, func(ctx context.Context, app *core.App) error {
		return fn(ctx, app.Migrator())
	})
}

var migrationName = regexp.MustCompile(`^[a-z0-9_]+$`)

func (h *Hatchgrid) migrateCreateCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Write a new, empty Go migration file to fill in",
		Long: "Writes <dir>/<UTC timestamp>_<NAME>.go with empty Up and Down functions.\n" +
			"Add the returned Migration to All() (for Hatchgrid's own migrations) or pass it\n" +
			"to core.WithMigrations in your own binary.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			name := strings.ToLower(strings.TrimSpace(a[0]))
			if !migrationName.MatchString(name) {
				return usageError{fmt.Errorf("NAME must be lowercase letters, digits and underscores, got %q", a[0])}
			}
			stamp := time.Now().UTC().Format("20060102150405")
			path := filepath.Join(dir, stamp+"_"+name+".go")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			pkg := filepath.Base(dir)
			if !migrationName.MatchString(pkg) {
				pkg = "migrations"
			}
			content := fmt.Sprintf(migrationTemplate, pkg, toCamel(name), stamp+"_"+name)
			if isHatchgridMigrations(dir) {
				// Inside Hatchgrid's own package the types are unqualified.
				content = strings.ReplaceAll(content, "migrations.", "")
				content = strings.Replace(content, "import \"github.com/hatchgrid/hatchgrid/migrations\"\n\n", "", 1)
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			if _, err := f.WriteString(content); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintln(h.stdout, "Created", path)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "migrationsDir", "migrations", "directory of the Go migrations package")
	return cmd
}

// isHatchgridMigrations reports whether dir is Hatchgrid's own migrations
// package, which declares All.
func isHatchgridMigrations(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "migrations.go"))
	return err == nil && strings.Contains(string(b), "func All() []Migration")
}

func toCamel(s string) string {
	parts := strings.Split(s, "_")
	for i, p := range parts {
		if p != "" && i > 0 {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}

const migrationTemplate = `package %[1]s

import "github.com/hatchgrid/hatchgrid/migrations"

// %[2]s is a migration; write its change in Up and its inverse in Down, using
// tx.Dialect for anything that differs between SQLite and PostgreSQL.
func %[2]s() migrations.Migration {
	return migrations.Migration{
		Name:   %[3]q,
		Target: migrations.Data,
		Up: func(tx *migrations.Tx) error {
			return nil
		},
		Down: func(tx *migrations.Tx) error {
			return nil
		},
	}
}
`
