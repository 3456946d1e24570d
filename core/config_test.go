package core_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/spf13/pflag"
)

func environ(vars ...string) func() []string {
	return func() []string { return vars }
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := core.LoadConfig(core.LoadOptions{Environ: environ()})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP != "127.0.0.1:8090" || cfg.Server.BodyLimit != 32<<20 || cfg.Log.Format != "json" {
		t.Fatalf("defaults = %+v", cfg)
	}
	if !filepath.IsAbs(cfg.DataDir) || filepath.Base(cfg.DataDir) != "hg_data" {
		t.Fatalf("data dir = %q, want an absolute .../hg_data", cfg.DataDir)
	}
	if got := cfg.DatabaseURL(); got != "sqlite://"+filepath.Join(cfg.DataDir, "data.db") {
		t.Fatalf("DatabaseURL = %q", got)
	}
}

func TestConfigLayers(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hg.yaml")
	writeFile(t, file, "http: 127.0.0.1:7000\nlog:\n  level: warn\n  format: text\ndatabase:\n  max_open_conns: 3\n")

	flags := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	flags.String("http", "", "")
	flags.String("dir", "", "")
	if err := flags.Parse([]string{"--dir", "/tmp/from-flag"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := core.LoadConfig(core.LoadOptions{
		File:     file,
		Flags:    flags,
		FlagKeys: map[string]string{"http": "http", "dir": "data_dir"},
		Environ: environ(
			"HG_LOG_LEVEL=error",
			"HG_DATA_DIR=/tmp/from-env",
			"HG_SERVER_CORS_ORIGINS=https://a.example, https://b.example",
			"HG_SERVER_SHUTDOWN_TIMEOUT=3s",
			"HG_TEST_DB=ignored",
			"OTHER=ignored",
		),
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"file over default", cfg.HTTP, "127.0.0.1:7000"}, // --http not set: the file wins
		{"env over file", cfg.Log.Level, "error"},         // HG_LOG_LEVEL beats the file's warn
		{"file kept", cfg.Log.Format, "text"},             // no env for it
		{"flag over env", cfg.DataDir, "/tmp/from-flag"},  // --dir beats HG_DATA_DIR
		{"file int", cfg.Database.MaxOpenConns, 3},        //
		{"env duration", cfg.Server.ShutdownTimeout, 3 * time.Second},
		{"env list", strings.Join(cfg.Server.CORSOrigins, "|"), "https://a.example|https://b.example"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	malformed := filepath.Join(dir, "malformed.yaml")
	writeFile(t, malformed, "http: [unclosed\n")
	unknown := filepath.Join(dir, "unknown.yaml")
	writeFile(t, unknown, "database:\n  urll: sqlite://x.db\n")
	badValue := filepath.Join(dir, "bad.yaml")
	writeFile(t, badValue, "database:\n  max_open_conns: lots\n")

	cases := []struct {
		name    string
		opts    core.LoadOptions
		wantKey string
		wantIn  string
	}{
		{"bad http env", core.LoadOptions{Environ: environ("HG_HTTP=notaport")}, "http", "HG_HTTP"},
		{"bad port", core.LoadOptions{Environ: environ("HG_HTTP=127.0.0.1:99999")}, "http", "invalid port"},
		{"bad level", core.LoadOptions{Environ: environ("HG_LOG_LEVEL=loud")}, "log.level", "loud"},
		{"bad duration", core.LoadOptions{Environ: environ("HG_SERVER_IDLE_TIMEOUT=soon")}, "server.idle_timeout", "HG_SERVER_IDLE_TIMEOUT"},
		{"negative", core.LoadOptions{Environ: environ("HG_DATABASE_MAX_OPEN_CONNS=-1")}, "database.max_open_conns", "negative"},
		{"bad size", core.LoadOptions{Environ: environ("HG_SERVER_BODY_LIMIT=huge")}, "server.body_limit", "size"},
		{"bad db scheme", core.LoadOptions{Environ: environ("HG_DATABASE_URL=mysql://x")}, "database.url", "unsupported"},
		{"bad pg url", core.LoadOptions{Environ: environ("HG_DATABASE_URL=postgres://u:secret@host:notaport/db")}, "database.url", ""},
		{"bad redis", core.LoadOptions{Environ: environ("HG_REDIS_URL=http://x")}, "redis.url", ""},
		{"short key", core.LoadOptions{Environ: environ("HG_ENCRYPTION_KEY=short")}, "encryption_key", "32"},
		{"short old key", core.LoadOptions{Environ: environ("HG_ENCRYPTION_KEY_OLD=short")}, "encryption_key_old", "32"},
		{"bad outbound allow", core.LoadOptions{Environ: environ("HG_OUTBOUND_ALLOW=10.0.0.1,metadata")}, "outbound.allow", `"metadata"`},
		{"malformed file", core.LoadOptions{File: malformed, Environ: environ()}, "", "malformed.yaml"},
		{"unknown file key", core.LoadOptions{File: unknown, Environ: environ()}, "database.urll", "unknown key"},
		{"bad file value", core.LoadOptions{File: badValue, Environ: environ()}, "database.max_open_conns", "bad.yaml"},
		{"missing file", core.LoadOptions{File: filepath.Join(dir, "nope.yaml"), Environ: environ()}, "", "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := core.LoadConfig(c.opts)
			var ce *core.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *ConfigError", err)
			}
			if ce.Key != c.wantKey {
				t.Errorf("key = %q, want %q (%v)", ce.Key, c.wantKey, err)
			}
			if !strings.Contains(err.Error(), c.wantIn) {
				t.Errorf("error %q does not mention %q", err, c.wantIn)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the password: %q", err)
			}
		})
	}
}

func TestConfigOutbound(t *testing.T) {
	t.Parallel()
	cfg, err := core.LoadConfig(core.LoadOptions{Environ: environ()})
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.Outbound; o.WebhooksPrivate || !o.ServicesPrivate || len(o.Allow) != 0 {
		t.Fatalf("default outbound = %+v", o)
	}
	cfg, err = core.LoadConfig(core.LoadOptions{Environ: environ("HG_OUTBOUND_WEBHOOKS_PRIVATE=true",
		"HG_OUTBOUND_SERVICES_PRIVATE=false", "HG_OUTBOUND_ALLOW=10.0.0.1, 169.254.169.254/32")})
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.Outbound; !o.WebhooksPrivate || o.ServicesPrivate || len(o.Allow) != 2 {
		t.Fatalf("outbound from the environment = %+v", o)
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	if got := core.EnvName("database.max_open_conns"); got != "HG_DATABASE_MAX_OPEN_CONNS" {
		t.Fatalf("EnvName = %q", got)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
