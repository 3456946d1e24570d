package core

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/go-viper/mapstructure/v2"
	"github.com/hatchgrid/hatchgrid/migrations"
)

// registerPlugins calls each plugin's Register once, before the databases
// open, so that plugins can add migrations and bind hooks for every way the
// App is opened (Bootstrap and OpenForMigrations).
func (a *App) registerPlugins() error {
	if a.pluginsRegistered {
		return nil
	}
	a.pluginsRegistered = true
	for _, p := range a.plugins {
		if err := p.Register(a); err != nil {
			return fmt.Errorf("plugin %s: %w", p.Name(), err)
		}
	}
	return nil
}

// AddMigrations appends migrations after the system ones (and those added
// earlier), e.g. a plugin's own tables. Call it from Register: once the
// databases are open it is an error. Names must be unique.
func (a *App) AddMigrations(m ...migrations.Migration) error {
	if a.data.Write != nil {
		return errors.New("AddMigrations: the databases are already open; call it from Plugin.Register")
	}
	for _, mig := range m {
		if mig.Name == "" || mig.Up == nil {
			return errors.New("AddMigrations: a migration needs a Name and an Up")
		}
		for _, have := range a.migrations {
			if have.Name == mig.Name {
				return fmt.Errorf("AddMigrations: migration %q is already registered", mig.Name)
			}
		}
		a.migrations = append(a.migrations, mig)
	}
	return nil
}

// PluginConfig decodes the plugin's configuration section (plugins.<name>
// in the config file, HG_PLUGINS_<NAME>_<KEY> in the environment) into dst,
// a pointer to a struct whose fields carry `koanf` tags. Values from the
// environment are strings: they are converted to the field's type, and a
// comma-separated list fills a slice. A key that no field takes is an error,
// so a typo in the config does not go unnoticed. A missing section leaves
// dst as it is.
func (a *App) PluginConfig(name string, dst any) error {
	section, ok := a.cfg.Plugins[name]
	if !ok {
		return nil
	}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		TagName:          "koanf",
		Result:           dst,
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			byteSizeHook,
			listHook,
		),
	})
	if err != nil {
		return err
	}
	if err := dec.Decode(section); err != nil {
		return &ConfigError{Key: "plugins." + name, Reason: err.Error()}
	}
	return nil
}

// listHook splits a comma-separated string (from the environment) into a
// slice, trimming each item, as the core settings' lists are.
func listHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
		return data, nil
	}
	return splitList(data.(string)), nil
}
