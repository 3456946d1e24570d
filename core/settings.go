package core

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"

	"gorm.io/gorm"
)

// Settings are the run-time settings kept in _params under id "settings",
// in PocketBase's shape. Later features add their sections here.
type Settings struct {
	Meta MetaSettings `json:"meta"`
	Logs LogsSettings `json:"logs"`
}

// MetaSettings describe the application.
type MetaSettings struct {
	AppName       string `json:"appName"`
	AppURL        string `json:"appURL"`
	SenderName    string `json:"senderName"`
	SenderAddress string `json:"senderAddress"`
	HideControls  bool   `json:"hideControls"`
}

// LogsSettings control the stored request logs.
type LogsSettings struct {
	// MaxDays keeps logs this many days; 0 disables request logs.
	MaxDays int `json:"maxDays"`
	// MinLevel drops logs below this slog level.
	MinLevel  int  `json:"minLevel"`
	LogIP     bool `json:"logIP"`
	LogAuthID bool `json:"logAuthId"`
}

// DefaultSettings are the settings of a new installation.
func DefaultSettings() Settings {
	return Settings{
		Meta: MetaSettings{
			AppName:       "Acme",
			AppURL:        "http://localhost:8090",
			SenderName:    "Support",
			SenderAddress: "support@example.com",
		},
		Logs: LogsSettings{MaxDays: 5, LogIP: true},
	}
}

const settingsParamID = "settings"

type param struct {
	ID      string  `gorm:"column:id;primaryKey"`
	Value   JSONRaw `gorm:"column:value"`
	Created string  `gorm:"column:created"`
	Updated string  `gorm:"column:updated"`
}

func (param) TableName() string { return "_params" }

type settingsStore struct {
	current atomic.Pointer[Settings]
}

// load reads the stored settings, writing the defaults on first start.
// Stored values are merged over the defaults, so sections added by a newer
// version get their defaults.
func (s *settingsStore) load(ctx context.Context, app *App) error {
	var p param
	err := app.ReadDB(ctx).Where(`"id" = ?`, settingsParamID).Take(&p).Error
	settings := DefaultSettings()
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		if err := app.saveSettings(ctx, settings); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(p.Value, &settings); err != nil {
			return err
		}
	}
	s.current.Store(&settings)
	return nil
}

// Settings returns a copy of the current settings.
func (a *App) Settings() Settings {
	if s := a.settings.current.Load(); s != nil {
		return *s
	}
	return DefaultSettings()
}

// SaveSettings stores s and makes it current.
func (a *App) SaveSettings(ctx context.Context, s Settings) error {
	if err := a.saveSettings(ctx, s); err != nil {
		return err
	}
	a.settings.current.Store(&s)
	return nil
}

func (a *App) saveSettings(ctx context.Context, s Settings) error {
	value, err := json.Marshal(s)
	if err != nil {
		return err
	}
	now := FormatTime(a.Now())
	return a.InTx(ctx, func(ctx context.Context) error {
		res := a.DB(ctx).Model(&param{}).Where(`"id" = ?`, settingsParamID).
			Updates(map[string]any{"value": JSONRaw(value), "updated": now})
		if res.Error != nil || res.RowsAffected > 0 {
			return res.Error
		}
		return a.DB(ctx).Create(&param{ID: settingsParamID, Value: value, Created: now, Updated: now}).Error
	})
}
