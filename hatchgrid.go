// Package hatchgrid builds the hatchgrid command: the CLI (serve, superuser,
// migrate, version) around a core.App. A custom binary is a main that calls
// New with its own plugins and runs Execute; cmd/hatchgrid is exactly that.
package hatchgrid

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/spf13/cobra"
)

// Exit statuses of Execute.
const (
	ExitOK     = 0
	ExitError  = 1
	ExitConfig = 2 // invalid configuration or command-line usage
)

// Hatchgrid is the command-line program.
type Hatchgrid struct {
	appOptions []core.Option
	plugins    []core.Plugin
	root       *cobra.Command
	stdout     io.Writer
	stderr     io.Writer
	environ    func() []string
	exit       func(code int) // os.Exit: for the exits that cannot wait (a second signal)
	args       []string       // the command line being run, for a re-executing serve

	// Global flags.
	configFile string
}

// Option configures New.
type Option func(*Hatchgrid)

// WithPlugins adds plugins to every App the commands build.
func WithPlugins(p ...core.Plugin) Option {
	return func(h *Hatchgrid) {
		h.plugins = append(h.plugins, p...)
		h.appOptions = append(h.appOptions, core.WithPlugins(p...))
	}
}

// WithAppOptions passes options to core.New.
func WithAppOptions(opts ...core.Option) Option {
	return func(h *Hatchgrid) { h.appOptions = append(h.appOptions, opts...) }
}

// WithOutput redirects the program's human-readable output, for tests.
func WithOutput(stdout, stderr io.Writer) Option {
	return func(h *Hatchgrid) { h.stdout, h.stderr = stdout, stderr }
}

// WithEnviron replaces os.Environ as the source of HG_* variables, for tests.
func WithEnviron(environ func() []string) Option {
	return func(h *Hatchgrid) { h.environ = environ }
}

// New builds the program with its commands.
func New(opts ...Option) *Hatchgrid {
	h := &Hatchgrid{stdout: os.Stdout, stderr: os.Stderr, exit: os.Exit}
	for _, opt := range opts {
		opt(h)
	}
	h.root = &cobra.Command{
		Use:           "hatchgrid",
		Short:         "Hatchgrid: a self-hosted backend in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	h.root.SetOut(h.stdout)
	h.root.SetErr(h.stderr)
	h.root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })

	pf := h.root.PersistentFlags()
	pf.StringVar(&h.configFile, "config", "", "YAML config file (layered over the defaults, under HG_* variables and flags)")
	pf.String("dir", "", "data directory (default ./hg_data; HG_DATA_DIR)")
	pf.Bool("dev", false, "development mode: verbose logs, SQL included (HG_DEV)")

	h.root.AddCommand(h.serveCommand(), h.superuserCommand(), h.migrateCommand(), h.jobsCommand(), h.versionCommand())
	h.addPluginCommands()
	return h
}

// Root returns the root command, so a custom binary can add its own.
func (h *Hatchgrid) Root() *cobra.Command { return h.root }

// Execute runs the command line in os.Args and returns the exit status.
func (h *Hatchgrid) Execute() int {
	return h.ExecuteArgs(os.Args[1:])
}

// ExecuteArgs runs the given arguments and returns the exit status.
func (h *Hatchgrid) ExecuteArgs(args []string) int {
	h.args = args
	h.root.SetArgs(args)
	err := h.root.Execute()
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(h.stderr, "Error:", err)
	var ce *core.ConfigError
	var ue usageError
	switch {
	case errors.As(err, &ce):
		return ExitConfig
	case errors.As(err, &ue):
		fmt.Fprintln(h.stderr, "Run 'hatchgrid --help' for usage.")
		return ExitConfig
	}
	return ExitError
}

// usageError marks a command-line mistake.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// args wraps a cobra argument validator so that its errors are usage errors.
func args(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := v(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// loadConfig builds the configuration of cmd: defaults, --config, HG_*,
// then the flags set on the command line.
func (h *Hatchgrid) loadConfig(cmd *cobra.Command) (*core.Config, error) {
	return core.LoadConfig(core.LoadOptions{
		File:     h.configFile,
		Flags:    cmd.Flags(),
		FlagKeys: map[string]string{"dir": "data_dir", "dev": "dev", "http": "http"},
		Environ:  h.environ,
	})
}

// newApp builds the App of a command other than serve: in embedded mode
// it never opens the job queue (that is the serving process's), and its
// jobs go to the outbox.
func (h *Hatchgrid) newApp(cfg *core.Config) *core.App {
	return core.New(cfg, h.appOptions...)
}

// newServerApp builds serve's App, the owner of the data dir's embedded
// job queue: call it only while holding the data dir's lock.
func (h *Hatchgrid) newServerApp(cfg *core.Config) *core.App {
	return core.New(cfg, append(slices.Clone(h.appOptions), core.WithEmbeddedQueueOwner())...)
}

func (h *Hatchgrid) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(h.stdout, "hatchgrid", core.Version)
			return nil
		},
	}
}
