package hatchgrid

import (
	"context"
	"io"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/spf13/cobra"
)

// CommandProvider is implemented by plugins that add CLI commands. New
// calls Commands once, with the program, and adds what it returns under
// the root command. A command that needs the App opens it with
// Hatchgrid.WithApp. A plugin may also add persistent flags to
// h.Root() here; they are parsed before any App is built, so Register can
// read them.
type CommandProvider interface {
	Commands(h *Hatchgrid) []*cobra.Command
}

// WithApp loads the configuration (with the command's flags), bootstraps
// an App with the program's plugins, migrating the databases, runs fn and
// shuts the App down. It is how a plugin's command reaches the App.
func (h *Hatchgrid) WithApp(cmd *cobra.Command, fn func(ctx context.Context, app *core.App) error) error {
	return h.withApp(cmd, fn)
}

// Stdout is where commands write their human-readable output.
func (h *Hatchgrid) Stdout() io.Writer { return h.stdout }

// addPluginCommands adds the plugins' commands. A command without its own
// Run that is named like an existing one (e.g. "migrate") adds its
// subcommands to that one instead.
func (h *Hatchgrid) addPluginCommands() {
	for _, p := range h.plugins {
		cp, ok := p.(CommandProvider)
		if !ok {
			continue
		}
		for _, cmd := range cp.Commands(h) {
			if existing := h.findCommand(cmd.Name()); existing != nil && !cmd.Runnable() {
				existing.AddCommand(cmd.Commands()...)
				continue
			}
			h.root.AddCommand(cmd)
		}
	}
}

func (h *Hatchgrid) findCommand(name string) *cobra.Command {
	for _, c := range h.root.Commands() {
		if c.Name() == name {
			return c
		}
	}
	return nil
}
