package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestDefaultSettingsArePocketBases(t *testing.T) {
	t.Parallel()
	s := core.DefaultSettings()
	if err := s.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	b := s.Batch
	if b.Enabled || b.MaxRequests != 50 || b.Timeout != 3 || b.MaxBodySize != 0 {
		t.Errorf("batch defaults = %+v", b)
	}
	if s.SMTP.Enabled || s.SMTP.Host != "smtp.example.com" || s.SMTP.Port != 587 {
		t.Errorf("smtp defaults = %+v", s.SMTP)
	}
	if s.Backups.CronMaxKeep != 3 || len(s.RateLimits.Rules) != 4 || s.RateLimits.Enabled {
		t.Errorf("backups/rateLimits defaults = %+v %+v", s.Backups, s.RateLimits)
	}
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(*core.Settings)
		key    string
		code   string
	}{
		{"blank app name", func(s *core.Settings) { s.Meta.AppName = "" }, "meta.appName", "validation_required"},
		{"long app name", func(s *core.Settings) { s.Meta.AppName = strings.Repeat("x", 256) }, "meta.appName", "validation_length_out_of_range"},
		{"bad app url", func(s *core.Settings) { s.Meta.AppURL = "nope" }, "meta.appURL", "validation_is_url"},
		{"bad sender", func(s *core.Settings) { s.Meta.SenderAddress = "a@" }, "meta.senderAddress", "validation_is_email"},
		{"negative log days", func(s *core.Settings) { s.Logs.MaxDays = -1 }, "logs.maxDays", "validation_min_greater_equal_than_required"},
		{"smtp without host", func(s *core.Settings) { s.SMTP.Enabled, s.SMTP.Host = true, "" }, "smtp.host", "validation_required"},
		{"smtp bad host", func(s *core.Settings) { s.SMTP.Host = "a b" }, "smtp.host", "validation_is_host"},
		{"smtp auth method", func(s *core.Settings) { s.SMTP.AuthMethod = "CRAM" }, "smtp.authMethod", "validation_in_invalid"},
		{"s3 without secret", func(s *core.Settings) {
			s.S3 = core.S3Settings{Enabled: true, Bucket: "b", Region: "r", Endpoint: "https://s3.example.com", AccessKey: "k"}
		}, "s3.secret", "validation_required"},
		{"backups s3 bad endpoint", func(s *core.Settings) { s.Backups.S3.Endpoint = "::" }, "backups.s3.endpoint", "validation_is_url"},
		{"bad cron", func(s *core.Settings) { s.Backups.Cron = "61 * * * *" }, "backups.cron", "validation_invalid_cron"},
		{"cron without keep", func(s *core.Settings) { s.Backups.Cron, s.Backups.CronMaxKeep = "@daily", 0 }, "backups.cronMaxKeep", "validation_required"},
		{"batch enabled without max", func(s *core.Settings) { s.Batch.Enabled, s.Batch.MaxRequests = true, 0 }, "batch.maxRequests", "validation_required"},
		{"negative batch max", func(s *core.Settings) { s.Batch.MaxRequests = -1 }, "batch.maxRequests", "validation_min_greater_equal_than_required"},
		{"negative batch timeout", func(s *core.Settings) { s.Batch.Timeout = -1 }, "batch.timeout", "validation_min_greater_equal_than_required"},
		{"rate limits enabled without rules", func(s *core.Settings) { s.RateLimits.Enabled, s.RateLimits.Rules = true, nil }, "rateLimits.rules", "validation_required"},
		{"conflicting rule", func(s *core.Settings) {
			s.RateLimits.Rules = append(s.RateLimits.Rules, core.RateLimitRule{Label: "*:auth", MaxRequests: 1, Duration: 1})
		}, "rateLimits.rules.4.label", "validation_conflicting_rate_limit_rule"},
		{"bad rule label", func(s *core.Settings) { s.RateLimits.Rules[0].Label = "a b c" }, "rateLimits.rules.0.label", "validation_match_invalid"},
		{"rule without duration", func(s *core.Settings) { s.RateLimits.Rules[1].Duration = 0 }, "rateLimits.rules.1.duration", "validation_required"},
		{"rule audience", func(s *core.Settings) { s.RateLimits.Rules[2].Audience = "@all" }, "rateLimits.rules.2.audience", "validation_in_invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := core.DefaultSettings()
			c.change(&s)
			var ce *core.Error
			if err := s.Validate(); !errors.As(err, &ce) || ce.Fields[c.key].Code != c.code {
				t.Fatalf("Validate() = %v, want %s on %s", err, c.code, c.key)
			}
		})
	}
	ok := core.DefaultSettings()
	ok.Backups.Cron = "*/15 0-6,22 1 * 1-5"
	ok.Batch.Enabled = true
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid settings rejected: %v", err)
	}
}

func TestSettingsRedacted(t *testing.T) {
	t.Parallel()
	s := core.DefaultSettings()
	s.SMTP.Password, s.S3.Secret, s.Backups.S3.Secret = "p", "s", "b"
	raw, _ := json.Marshal(s.Redacted())
	out := string(raw)
	for _, leak := range []string{`"password"`, `"secret"`} {
		if strings.Contains(out, leak) {
			t.Errorf("redacted settings contain %s: %s", leak, out)
		}
	}
	if s.SMTP.Password != "p" {
		t.Error("Redacted changed its receiver")
	}
	if !strings.Contains(out, `"trustedProxy":{"headers":[]`) || !strings.Contains(out, `"batch":{"enabled":false,"maxRequests":50,"timeout":3,"maxBodySize":0}`) {
		t.Errorf("unexpected shape: %s", out)
	}
}

func TestSaveSettings(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()

	bad := app.Settings()
	bad.Batch.MaxRequests = -5
	if err := app.SaveSettings(ctx, bad); core.ErrorCodeOf(err) != core.CodeInvalid {
		t.Fatalf("invalid settings saved: %v", err)
	}
	if app.Settings().Batch.MaxRequests != 50 {
		t.Fatal("rejected settings became current")
	}

	// Settings saved in a transaction that rolls back never apply.
	boom := errors.New("boom")
	err := app.InTx(ctx, func(ctx context.Context) error {
		s := app.Settings()
		s.Batch.Enabled = true
		if err := app.SaveSettings(ctx, s); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || app.Settings().Batch.Enabled {
		t.Fatalf("rolled back settings applied (err %v)", err)
	}

	s := app.Settings()
	s.Batch.Enabled = true
	s.SMTP.Password = "hunter2"
	s.TrustedProxy.Headers = []string{"X-Real-IP"}
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	s.TrustedProxy.Headers[0] = "changed"
	got := app.Settings()
	if !got.Batch.Enabled || got.SMTP.Password != "hunter2" || got.TrustedProxy.Headers[0] != "X-Real-IP" {
		t.Fatalf("saved settings = %+v", got)
	}
	got.RateLimits.Rules[0].Label = "mutated"
	if app.Settings().RateLimits.Rules[0].Label == "mutated" {
		t.Fatal("Settings() shares its slices with the current settings")
	}
}

func TestSettingsPatched(t *testing.T) {
	t.Parallel()
	s := core.DefaultSettings()
	s.SMTP.Password = "hunter2"
	s.RateLimits.Rules = []core.RateLimitRule{{Label: "/api/a/", Audience: "@guest", MaxRequests: 1, Duration: 1}}
	got, err := s.Patched([]byte(`{"rateLimits":{"rules":[{"label":"/api/b/","maxRequests":2}]},"smtp":{"username":"u","port":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (core.RateLimitRule{Label: "/api/b/", MaxRequests: 2}); len(got.RateLimits.Rules) != 1 || got.RateLimits.Rules[0] != want {
		t.Errorf("rules = %+v, want only %+v", got.RateLimits.Rules, want)
	}
	if got.SMTP.Password != "hunter2" || got.SMTP.Username != "u" || got.SMTP.Port != 587 || got.SMTP.Host != "smtp.example.com" {
		t.Errorf("smtp = %+v: keys left out or null must keep their values", got.SMTP)
	}
	if s.RateLimits.Rules[0].Audience != "@guest" {
		t.Errorf("Patched changed its receiver: %+v", s.RateLimits.Rules)
	}
	if _, err := s.Patched([]byte(`{"batch":{"timeout":"long"}}`)); err == nil {
		t.Error("a patch of the wrong type was accepted")
	}
	if got, err := s.Patched(nil); err != nil || got.SMTP.Password != "hunter2" || len(got.RateLimits.Rules) != 1 {
		t.Errorf("empty patch = %+v, %v", got, err)
	}
}

// Instances of a cluster started together on a fresh database all come up,
// with the same settings: migrations are serialised and the first to write
// the default settings wins.
func TestBootstrapConcurrentlyOnFreshDatabase(t *testing.T) {
	cfg := coretest.Config(t)
	const n = 4
	apps := make([]*core.App, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range apps {
		// On PostgreSQL they share cfg's database; a SQLite database
		// belongs to one process, so there each has its own.
		c := *cfg
		c.DataDir = t.TempDir()
		apps[i] = core.New(&c, core.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = apps[i].Bootstrap(context.Background())
		}()
	}
	wg.Wait()
	for i, app := range apps {
		if errs[i] != nil {
			t.Errorf("instance %d: bootstrap: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { app.Shutdown(context.Background()) })
		if got := app.Settings().Meta.AppName; got != core.DefaultSettings().Meta.AppName {
			t.Errorf("instance %d: appName %q", i, got)
		}
	}
}
