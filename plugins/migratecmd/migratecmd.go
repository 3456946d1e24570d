package migratecmd

import (
	"path/filepath"
	"sync"

	"github.com/hatchgrid/hatchgrid"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/spf13/pflag"
)

// Name is the plugin's name and its config section (plugins.migratecmd).
const Name = "migratecmd"

// Flag names added to the root command.
const (
	FlagDir         = "migrationsDir"
	FlagAutomigrate = "automigrate"
)

// DefaultDirName is the migrations dir's name, beside the data dir.
const DefaultDirName = "hg_migrations"

// Plugin writes collection changes as migration files and applies the
// files as migrations. Its settings come, strongest first, from the
// --migrationsDir and --automigrate flags, the plugins.migratecmd section
// (dir, automigrate; HG_PLUGINS_MIGRATECMD_DIR, ..._AUTOMIGRATE), the
// fields below, then the defaults: hg_migrations beside the data dir, and
// automigrate on in development mode (`serve --dev`) only.
type Plugin struct {
	// Dir is the migrations dir for a binary that sets it in Go.
	Dir string
	// Automigrate turns automigrate on for a binary that sets it in Go.
	Automigrate bool

	flags    *pflag.FlagSet // the root's persistent flags, once Commands ran
	flagDir  string
	flagAuto bool

	mu   sync.Mutex
	last int64 // the stamp of the last file this process named
}

// settings are the plugin's effective settings for one App.
type settings struct {
	dir         string
	automigrate bool
}

type config struct {
	Dir         string `koanf:"dir"`
	Automigrate *bool  `koanf:"automigrate"`
}

// Name returns "migratecmd".
func (p *Plugin) Name() string { return Name }

// Register registers every file of the migrations dir as a migration and,
// with automigrate on, binds the hooks that write new files. A file that
// cannot be read or parsed fails Register, naming the file.
func (p *Plugin) Register(app *core.App) error {
	s, err := p.settings(app)
	if err != nil {
		return err
	}
	files, err := readDir(s.dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := app.AddMigrations(migration(app, f)); err != nil {
			return err
		}
	}
	if s.automigrate {
		app.Logger().Info("migratecmd: automigrate on: collection changes are written as migration files", "dir", s.dir)
		p.bindAutomigrate(app, s.dir)
	}
	return nil
}

func (p *Plugin) settings(app *core.App) (settings, error) {
	s := settings{dir: p.Dir, automigrate: p.Automigrate || app.IsDev()}
	var cfg config
	if err := app.PluginConfig(Name, &cfg); err != nil {
		return s, err
	}
	if cfg.Dir != "" {
		s.dir = cfg.Dir
	}
	if cfg.Automigrate != nil {
		s.automigrate = *cfg.Automigrate || app.IsDev()
	}
	if p.changed(FlagDir) {
		s.dir = p.flagDir
	}
	if p.changed(FlagAutomigrate) {
		s.automigrate = p.flagAuto
	}
	if s.dir == "" {
		s.dir = filepath.Join(filepath.Dir(filepath.Clean(app.Config().DataDir)), DefaultDirName)
	}
	return s, nil
}

func (p *Plugin) changed(name string) bool {
	if p.flags == nil {
		return false
	}
	f := p.flags.Lookup(name)
	return f != nil && f.Changed
}

var (
	_ core.Plugin               = (*Plugin)(nil)
	_ hatchgrid.CommandProvider = (*Plugin)(nil)
)
