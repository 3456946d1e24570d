package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Settings are the run-time settings kept in _params under id "settings",
// in PocketBase's shape (and its section order). Later features add their
// sections here. Secrets (SMTP password, S3 secrets, listed by secrets)
// are stored sealed when an encryption key is configured and held in
// plain text here; Redacted blanks them for output, where their omitempty
// tags drop them.
type Settings struct {
	SMTP         SMTPSettings         `json:"smtp"`
	Backups      BackupsSettings      `json:"backups"`
	S3           S3Settings           `json:"s3"`
	Meta         MetaSettings         `json:"meta"`
	RateLimits   RateLimitsSettings   `json:"rateLimits"`
	TrustedProxy TrustedProxySettings `json:"trustedProxy"`
	Batch        BatchSettings        `json:"batch"`
	Logs         LogsSettings         `json:"logs"`
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

// SMTPSettings configure the mail server; with Enabled false mail goes
// through the local fallback.
type SMTPSettings struct {
	Enabled  bool   `json:"enabled"`
	Port     int    `json:"port"`
	Host     string `json:"host"`
	Username string `json:"username"`
	// Password is never returned by the API.
	Password string `json:"password,omitempty"`
	// AuthMethod is "PLAIN" (the default when empty) or "LOGIN".
	AuthMethod string `json:"authMethod"`
	// TLS forces an encrypted connection; otherwise STARTTLS is offered.
	TLS bool `json:"tls"`
	// LocalName is the EHLO/HELO name ("localhost" when empty).
	LocalName string `json:"localName"`
}

// S3Settings configure an S3-compatible storage, for files or backups.
type S3Settings struct {
	Enabled   bool   `json:"enabled"`
	Bucket    string `json:"bucket"`
	Region    string `json:"region"`
	Endpoint  string `json:"endpoint"`
	AccessKey string `json:"accessKey"`
	// Secret is never returned by the API.
	Secret         string `json:"secret,omitempty"`
	ForcePathStyle bool   `json:"forcePathStyle"`
}

// BackupsSettings schedule automatic backups.
type BackupsSettings struct {
	// Cron is a cron expression for automatic backups; empty disables them.
	Cron string `json:"cron"`
	// CronMaxKeep is how many automatic backups to keep.
	CronMaxKeep int `json:"cronMaxKeep"`
	// S3 stores backups in S3 instead of the data directory.
	S3 S3Settings `json:"s3"`
}

// BatchSettings control POST /api/batch.
type BatchSettings struct {
	Enabled bool `json:"enabled"`
	// MaxRequests is the most requests one batch may hold.
	MaxRequests int `json:"maxRequests"`
	// Timeout is how many seconds the batch transaction may take.
	Timeout int64 `json:"timeout"`
	// MaxBodySize limits a batch body in bytes; 0 leaves the server's limit.
	MaxBodySize int64 `json:"maxBodySize"`
}

// RateLimitsSettings list the request rate limits.
type RateLimitsSettings struct {
	Rules   []RateLimitRule `json:"rules"`
	Enabled bool            `json:"enabled"`
}

// RateLimitRule limits the requests that match Label to MaxRequests per
// Duration seconds.
type RateLimitRule struct {
	// Label is a tag ("users:create", "*:auth"), a path or a path prefix
	// ending in "/", optionally preceded by a method ("POST /api/").
	Label string `json:"label"`
	// Audience is "" (everyone), "@guest" or "@auth".
	Audience    string `json:"audience"`
	Duration    int64  `json:"duration"`
	MaxRequests int    `json:"maxRequests"`
}

// TrustedProxySettings name the headers that carry the client IP behind a
// proxy.
type TrustedProxySettings struct {
	Headers []string `json:"headers"`
	// UseLeftmostIP takes the leftmost IP of the headers instead of the
	// rightmost.
	UseLeftmostIP bool `json:"useLeftmostIP"`
}

// DefaultSettings are the settings of a new installation: PocketBase's.
func DefaultSettings() Settings {
	return Settings{
		Meta: MetaSettings{
			AppName:       "Acme",
			AppURL:        "http://localhost:8090",
			SenderName:    "Support",
			SenderAddress: "support@example.com",
		},
		Logs:    LogsSettings{MaxDays: 5, LogIP: true},
		SMTP:    SMTPSettings{Host: "smtp.example.com", Port: 587},
		Backups: BackupsSettings{CronMaxKeep: 3},
		Batch:   BatchSettings{MaxRequests: 50, Timeout: 3},
		RateLimits: RateLimitsSettings{Rules: []RateLimitRule{
			{Label: "*:auth", MaxRequests: 2, Duration: 3},
			{Label: "*:create", MaxRequests: 20, Duration: 5},
			{Label: "/api/batch", MaxRequests: 3, Duration: 1},
			{Label: "/api/", MaxRequests: 300, Duration: 10},
		}},
		TrustedProxy: TrustedProxySettings{Headers: []string{}},
	}
}

// clone returns a copy of s that shares no slices with it.
func (s Settings) clone() Settings {
	s.RateLimits.Rules = append([]RateLimitRule{}, s.RateLimits.Rules...)
	s.TrustedProxy.Headers = append([]string{}, s.TrustedProxy.Headers...)
	return s
}

// Patched returns s with patch, a JSON object of settings sections as
// PATCH /api/settings takes it, applied over it: objects merge key by key,
// so that a key left out (a secret included) keeps its value, while an
// array replaces the stored one wholly. Decoding the patch straight into s
// would not do: Go's decoder fills existing slice elements in place, so a
// rate-limit rule sent without "audience" would keep the audience of the
// rule stored at its position. A patch of the wrong shape is an error.
func (s Settings) Patched(patch []byte) (Settings, error) {
	current, err := json.Marshal(s)
	if err != nil {
		return s, err
	}
	merged, err := mergeJSON(current, patch)
	if err != nil {
		return s, err
	}
	var out Settings
	if err := json.Unmarshal(merged, &out); err != nil {
		return s, err
	}
	return out.clone(), nil
}

// Redacted returns a copy of s without its secrets, for output.
func (s Settings) Redacted() Settings {
	s = s.clone()
	for _, secret := range s.secrets() {
		*secret.value = ""
	}
	return s
}

// settingsSecret is one secret of the settings and what it is for.
type settingsSecret struct {
	purpose SecretPurpose
	value   *string
}

// secrets lists the secrets of s, each by its address in s.
func (s *Settings) secrets() []settingsSecret {
	return []settingsSecret{
		{SecretSMTPPassword, &s.SMTP.Password},
		{SecretS3, &s.S3.Secret},
		{SecretBackupsS3, &s.Backups.S3.Secret},
	}
}

// sealed returns s as it is stored: its secrets sealed (SealSecret).
func (s Settings) sealed(a *App) (Settings, error) {
	s = s.clone()
	for _, secret := range s.secrets() {
		v, err := a.SealSecret(secret.purpose, *secret.value)
		if err != nil {
			return s, err
		}
		*secret.value = v
	}
	return s, nil
}

// opened returns stored settings with their secrets opened, and whether
// any of them is not stored in the form the keys want (see openSecret).
func (s Settings) opened(a *App) (Settings, bool, error) {
	stale := false
	for _, secret := range s.secrets() {
		v, st, err := a.openSecret(secret.purpose, *secret.value)
		if err != nil {
			return s, false, fmt.Errorf("settings: %w", err)
		}
		*secret.value, stale = v, stale || st
	}
	return s, stale, nil
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
	// stale is set by load when a stored secret is not in the form the
	// keys want; the start seals it (sealStoredSecrets).
	stale atomic.Bool
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
		// Instances of a cluster may start together on a fresh database:
		// the first to insert the defaults wins, and all use them.
		value, err := json.Marshal(settings)
		if err != nil {
			return err
		}
		now := FormatTime(app.Now())
		err = app.DB(ctx).Clauses(clause.OnConflict{DoNothing: true}).
			Create(&param{ID: settingsParamID, Value: value, Created: now, Updated: now}).Error
		if err != nil {
			return err
		}
		if err := app.DB(ctx).Where(`"id" = ?`, settingsParamID).Take(&p).Error; err != nil {
			return err
		}
		if settings, err = settings.Patched(p.Value); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if settings, err = settings.Patched(p.Value); err != nil {
			return err
		}
	}
	settings, stale, err := settings.opened(app)
	if err != nil {
		return err
	}
	s.stale.Store(stale)
	s.current.Store(&settings)
	return nil
}

// Settings returns a copy of the current settings, secrets included.
func (a *App) Settings() Settings {
	if s := a.settings.current.Load(); s != nil {
		return s.clone()
	}
	return DefaultSettings()
}

// SaveSettings validates s, stores it and makes it current, firing
// OnSettingsUpdate inside the transaction of the write. Invalid settings
// are a validation Error whose field keys are dotted paths
// ("batch.maxRequests", "rateLimits.rules.0.label"). A caller who is not
// a superuser (admin:settings) may not change smtp, meta.appURL, s3 or
// backups: a forbidden Error (docs/security.md).
func (a *App) SaveSettings(ctx context.Context, s Settings) error {
	s = s.clone()
	if err := s.Validate(); err != nil {
		return err
	}
	old := a.Settings()
	if err := checkSettingsCeiling(ctx, old, s); err != nil {
		return err
	}
	var saved Settings
	err := a.InTx(ctx, func(ctx context.Context) error {
		e := &SettingsEvent{App: a, Context: ctx, Old: &old, New: &s}
		return a.onSettingsUpdate.Trigger(e, func(e *SettingsEvent) error {
			// A handler may have changed the settings: check them again.
			next := e.New.clone()
			if err := next.Validate(); err != nil {
				return err
			}
			saved = next
			return a.saveSettings(ctx, next)
		})
	})
	if err != nil {
		return err
	}
	// Inside an outer transaction the new settings apply once it commits,
	// here and on the other instances of a cluster.
	a.AfterCommit(ctx, func(ctx context.Context) {
		a.settings.current.Store(&saved)
		a.cluster.changed(ctx, stateSettings)
	})
	return nil
}

func (a *App) saveSettings(ctx context.Context, s Settings) error {
	stored, err := s.sealed(a)
	if err != nil {
		return err
	}
	value, err := json.Marshal(stored)
	if err != nil {
		return err
	}
	now := FormatTime(a.Now())
	return a.DB(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "updated"}),
	}).Create(&param{ID: settingsParamID, Value: value, Created: now, Updated: now}).Error
}
