package core

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/go-viper/mapstructure/v2"
	"github.com/hatchgrid/hatchgrid/configs"
	"github.com/hatchgrid/hatchgrid/core/dialect"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"
)

// EnvPrefix starts the name of every environment variable Hatchgrid reads.
const EnvPrefix = "HG_"

// Config is Hatchgrid's whole configuration. Load builds it from the
// embedded defaults, a config file, HG_* variables and flags, in that order.
type Config struct {
	HTTP          string         `koanf:"http"`
	DataDir       string         `koanf:"data_dir"`
	Dev           bool           `koanf:"dev"`
	EncryptionKey string         `koanf:"encryption_key"`
	Database      DatabaseConfig `koanf:"database"`
	Redis         RedisConfig    `koanf:"redis"`
	Jobs          JobsConfig     `koanf:"jobs"`
	Log           LogConfig      `koanf:"log"`
	Server        ServerConfig   `koanf:"server"`
	Realtime      RealtimeConfig `koanf:"realtime"`
	// Plugins holds each plugin's own section, by plugin name; a plugin
	// reads its section with App.PluginConfig.
	Plugins map[string]map[string]any `koanf:"plugins"`
	// EncryptionKeyOld is the previous key while the key is rotated: the
	// secrets sealed with it are opened and sealed again with
	// EncryptionKey when the App starts (see docs/security.md).
	EncryptionKeyOld string `koanf:"encryption_key_old"`
	// Outbound is the destination policy of outgoing connections.
	Outbound OutboundConfig `koanf:"outbound"`
}

// OutboundConfig is the destination policy of the connections Hatchgrid
// opens (see core/egress and docs/security.md). Link-local and cloud
// metadata addresses are always refused unless listed in Allow.
type OutboundConfig struct {
	// WebhooksPrivate lets webhooks reach loopback and private addresses.
	WebhooksPrivate bool `koanf:"webhooks_private"`
	// ServicesPrivate lets S3, SMTP and OAuth2 providers reach loopback
	// and private addresses, where such servers often are.
	ServicesPrivate bool `koanf:"services_private"`
	// Allow lists addresses or CIDR prefixes that every outgoing
	// connection may reach, whatever the policy says otherwise.
	Allow []string `koanf:"allow"`
}

// allowPrefixes parses Allow; entries that do not parse are left out
// (LoadConfig refuses them).
func (o OutboundConfig) allowPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range o.Allow {
		if p, err := parsePrefixOrAddr(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// RealtimeConfig tunes the realtime API (/api/realtime) of this instance.
type RealtimeConfig struct {
	// MaxClients caps the SSE clients of this instance; more get a 503.
	MaxClients int `koanf:"max_clients"`
	// IdleTimeout disconnects a client that got no message for this long.
	IdleTimeout time.Duration `koanf:"idle_timeout"`
	// PingInterval is how often an idle connection gets a keep-alive
	// comment.
	PingInterval time.Duration `koanf:"ping_interval"`
}

// DatabaseConfig selects and tunes the data database.
type DatabaseConfig struct {
	URL              string        `koanf:"url"`
	MaxOpenConns     int           `koanf:"max_open_conns"`
	MaxIdleConns     int           `koanf:"max_idle_conns"`
	ConnMaxLifetime  time.Duration `koanf:"conn_max_lifetime"`
	StatementTimeout time.Duration `koanf:"statement_timeout"`
	BusyTimeout      time.Duration `koanf:"busy_timeout"`
	// ViewRole is the PostgreSQL role that owns the views staff write
	// (docs/security.md); empty means hatchgrid_views.
	ViewRole string `koanf:"view_role"`
	// ConnectTimeout is how long opening the App waits for a PostgreSQL
	// server that does not accept connections yet (one starting beside
	// Hatchgrid); 0 tries once.
	ConnectTimeout time.Duration `koanf:"connect_timeout"`
}

// RedisConfig points at the Redis shared by a cluster; an empty URL runs
// Hatchgrid in embedded mode.
type RedisConfig struct {
	URL string `koanf:"url"`
	// Prefix starts the names of the keys and pub/sub channels that the
	// instances of one deployment share (cluster members, realtime events,
	// cache invalidations); the database number of URL follows it.
	Prefix string `koanf:"prefix"`
}

// JobsConfig tunes the background job workers (see App.Jobs).
type JobsConfig struct {
	// Concurrency is how many jobs this instance runs at once; 0 means
	// the number of CPUs.
	Concurrency int `koanf:"concurrency"`
	// PollInterval is how often an idle worker looks for new jobs and how
	// often due scheduled and retried jobs are moved to their queue.
	PollInterval time.Duration `koanf:"poll_interval"`
	// OutboxInterval is how often the outbox is swept for rows that were
	// not dispatched right after their commit.
	OutboxInterval time.Duration `koanf:"outbox_interval"`
	// SnapshotInterval is how often embedded mode saves its queue to the
	// data dir and compacts its journal. Enqueued, finished and deleted
	// jobs are journaled at once; other state changed since the last save
	// (retry counts, results) is what a crash loses.
	SnapshotInterval time.Duration `koanf:"snapshot_interval"`
}

// LogConfig controls the process log and the stored request logs.
type LogConfig struct {
	Level    string `koanf:"level"`
	Format   string `koanf:"format"`
	Requests bool   `koanf:"requests"`
	// HealthRequests also logs the successful requests of health probes
	// (/api/health), which are left out of both the process log and the
	// stored request logs by default.
	HealthRequests bool `koanf:"health_requests"`
}

// ServerConfig tunes the HTTP server.
type ServerConfig struct {
	ReadHeaderTimeout time.Duration `koanf:"read_header_timeout"`
	ReadTimeout       time.Duration `koanf:"read_timeout"`
	WriteTimeout      time.Duration `koanf:"write_timeout"`
	IdleTimeout       time.Duration `koanf:"idle_timeout"`
	ShutdownTimeout   time.Duration `koanf:"shutdown_timeout"`
	BodyLimit         ByteSize      `koanf:"body_limit"`
	CORSOrigins       []string      `koanf:"cors_origins"`
}

// ByteSize is a size in bytes, written in config as a number or with a
// unit: 512KB, 32MiB.
type ByteSize int64

// ConfigError reports an invalid configuration: which key, where its value
// came from and what is wrong. The CLI exits with status 2 on it.
type ConfigError struct {
	Key    string // dotted key, e.g. "database.url"; empty for file syntax errors
	Source string // e.g. "HG_HTTP", "--http", "config.yaml:3"
	Reason string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration: ")
	if e.Key != "" {
		b.WriteString(e.Key)
		if e.Source != "" {
			fmt.Fprintf(&b, " (%s)", e.Source)
		}
		b.WriteString(": ")
	} else if e.Source != "" {
		b.WriteString(e.Source + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// LoadOptions say where Load finds the layers above the defaults.
type LoadOptions struct {
	// File is a YAML config file; empty means none.
	File string
	// Flags are the command's flags; only those set on the command line
	// apply. FlagKeys maps a flag name to its config key (e.g. "dir" to
	// "data_dir"); a flag missing from it is not a config flag.
	Flags    *pflag.FlagSet
	FlagKeys map[string]string
	// Environ replaces os.Environ, for tests.
	Environ func() []string
}

// LoadConfig builds the configuration. It validates every value and returns
// a *ConfigError naming the first bad key; it never touches the disk beyond
// reading the config file.
func LoadConfig(opts LoadOptions) (*Config, error) {
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(configs.Defaults), yaml.Parser()); err != nil {
		return nil, fmt.Errorf("embedded defaults: %w", err)
	}
	known := k.Keys()
	sources := map[string]string{}

	if opts.File != "" {
		fk := koanf.New(".")
		if err := fk.Load(file.Provider(opts.File), yaml.Parser()); err != nil {
			return nil, &ConfigError{Source: opts.File, Reason: fileErrorReason(err)}
		}
		for _, key := range fk.Keys() {
			if !isKnownKey(known, key) {
				return nil, &ConfigError{Key: key, Source: opts.File, Reason: "unknown key"}
			}
			sources[key] = opts.File
		}
		if err := k.Merge(fk); err != nil {
			return nil, err
		}
	}

	envKeys := make(map[string]string, len(known))
	for _, key := range known {
		envKeys[EnvName(key)] = key
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ
	}
	err := k.Load(env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: environ,
		TransformFunc: func(name, value string) (string, any) {
			key, ok := envKeys[name]
			if !ok && strings.HasPrefix(name, pluginsEnvPrefix) {
				key, ok = pluginEnvKey(name)
			}
			if !ok {
				return "", nil // not ours (HG_TEST_DB and the like)
			}
			sources[key] = name
			if t := reflect.TypeOf(k.Get(key)); t != nil && t.Kind() == reflect.Slice {
				return key, splitList(value)
			}
			return key, value
		},
	}), nil)
	if err != nil {
		return nil, err
	}

	if opts.Flags != nil {
		err := k.Load(posflag.ProviderWithFlag(opts.Flags, ".", k, func(f *pflag.Flag) (string, any) {
			key, ok := opts.FlagKeys[f.Name]
			if !ok || !f.Changed {
				return "", nil
			}
			sources[key] = "--" + f.Name
			return key, posflag.FlagVal(opts.Flags, f)
		}), nil)
		if err != nil {
			return nil, err
		}
	}

	var cfg Config
	if err := unmarshalStrict(k, &cfg); err != nil {
		return nil, decodeError(err, sources)
	}
	if err := cfg.validate(); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) && ce.Source == "" {
			ce.Source = sources[ce.Key]
		}
		return nil, err
	}
	cfg.resolve()
	return &cfg, nil
}

// pluginsEnvPrefix starts the variables of plugin sections:
// HG_PLUGINS_<NAME>_<KEY> sets plugins.<name>.<key>, both lowercased. The
// plugin name ends at the first underscore, so a plugin configured through
// the environment has a name without one.
const pluginsEnvPrefix = EnvPrefix + "PLUGINS_"

func pluginEnvKey(name string) (string, bool) {
	plugin, key, ok := strings.Cut(strings.TrimPrefix(name, pluginsEnvPrefix), "_")
	if !ok || plugin == "" || key == "" {
		return "", false
	}
	return "plugins." + strings.ToLower(plugin) + "." + strings.ToLower(key), true
}

// EnvName returns the environment variable that sets key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// DatabaseURL returns the data database URL, defaulting to a SQLite file in
// the data dir.
func (c *Config) DatabaseURL() string {
	if c.Database.URL != "" {
		return c.Database.URL
	}
	return "sqlite://" + filepath.Join(c.DataDir, "data.db")
}

func (c *Config) resolve() {
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
}

func (c *Config) validate() error {
	if err := validateAddr(c.HTTP); err != nil {
		return &ConfigError{Key: "http", Reason: err.Error()}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return &ConfigError{Key: "data_dir", Reason: "must not be empty"}
	}
	if n := len(c.EncryptionKey); n != 0 && n != 32 {
		return &ConfigError{Key: "encryption_key", Reason: fmt.Sprintf("must be exactly 32 characters, got %d", n)}
	}
	if n := len(c.EncryptionKeyOld); n != 0 && n != 32 {
		return &ConfigError{Key: "encryption_key_old", Reason: fmt.Sprintf("must be exactly 32 characters, got %d", n)}
	}
	for _, s := range c.Outbound.Allow {
		if _, err := parsePrefixOrAddr(s); err != nil {
			return &ConfigError{Key: "outbound.allow", Reason: err.Error()}
		}
	}
	if c.Database.URL != "" {
		if err := validateDatabaseURL(c.Database.URL); err != nil {
			return &ConfigError{Key: "database.url", Reason: err.Error()}
		}
	}
	if c.Redis.URL != "" {
		if _, err := redis.ParseURL(c.Redis.URL); err != nil {
			return &ConfigError{Key: "redis.url", Reason: err.Error()}
		}
		if strings.TrimSpace(c.Redis.Prefix) == "" {
			return &ConfigError{Key: "redis.prefix", Reason: "must not be empty"}
		}
	}
	if c.Realtime.MaxClients < 1 {
		return &ConfigError{Key: "realtime.max_clients", Reason: "must be at least 1"}
	}
	if c.Realtime.IdleTimeout <= 0 || c.Realtime.PingInterval <= 0 {
		return &ConfigError{Key: "realtime.idle_timeout", Reason: "idle_timeout and ping_interval must be positive"}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		return &ConfigError{Key: "log.level", Reason: fmt.Sprintf("%q is not one of debug, info, warn, error", c.Log.Level)}
	}
	if !slices.Contains([]string{"json", "text"}, c.Log.Format) {
		return &ConfigError{Key: "log.format", Reason: fmt.Sprintf("%q is not one of json, text", c.Log.Format)}
	}

	nonNegative := []struct {
		key string
		n   int64
	}{
		{"database.max_open_conns", int64(c.Database.MaxOpenConns)},
		{"database.max_idle_conns", int64(c.Database.MaxIdleConns)},
		{"database.conn_max_lifetime", int64(c.Database.ConnMaxLifetime)},
		{"database.statement_timeout", int64(c.Database.StatementTimeout)},
		{"database.busy_timeout", int64(c.Database.BusyTimeout)},
		{"database.connect_timeout", int64(c.Database.ConnectTimeout)},
		{"jobs.concurrency", int64(c.Jobs.Concurrency)},
		{"server.read_header_timeout", int64(c.Server.ReadHeaderTimeout)},
		{"server.read_timeout", int64(c.Server.ReadTimeout)},
		{"server.write_timeout", int64(c.Server.WriteTimeout)},
		{"server.idle_timeout", int64(c.Server.IdleTimeout)},
	}
	for _, v := range nonNegative {
		if v.n < 0 {
			return &ConfigError{Key: v.key, Reason: "must not be negative"}
		}
	}
	for key, d := range map[string]time.Duration{
		"jobs.poll_interval": c.Jobs.PollInterval, "jobs.outbox_interval": c.Jobs.OutboxInterval,
		"jobs.snapshot_interval": c.Jobs.SnapshotInterval,
	} {
		if d <= 0 {
			return &ConfigError{Key: key, Reason: "must be positive"}
		}
	}
	if c.Server.ShutdownTimeout <= 0 {
		return &ConfigError{Key: "server.shutdown_timeout", Reason: "must be positive"}
	}
	if c.Server.BodyLimit <= 0 {
		return &ConfigError{Key: "server.body_limit", Reason: "must be positive"}
	}
	return nil
}

func validateAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not a host:port address", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has an invalid port %q", addr, port)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q has an invalid host %q", addr, host)
	}
	return nil
}

func validateDatabaseURL(raw string) error {
	d, err := dialect.FromURL(raw)
	if err != nil {
		return err
	}
	return d.Validate(raw)
}

func isKnownKey(known []string, key string) bool {
	// A key of a plugin's section: the plugin checks its own keys.
	if strings.HasPrefix(key, "plugins.") {
		return true
	}
	// A known key, or a key below a known map/list value.
	for _, k := range known {
		if k == key || strings.HasPrefix(key, k+".") {
			return true
		}
	}
	return false
}

func splitList(v string) []string {
	parts := strings.Split(v, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func unmarshalStrict(k *koanf.Koanf, out *Config) error {
	return k.UnmarshalWithConf("", out, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			TagName:          "koanf",
			Result:           out,
			WeaklyTypedInput: true,
			ErrorUnused:      true,
			DecodeHook: mapstructure.ComposeDecodeHookFunc(
				mapstructure.StringToTimeDurationHookFunc(),
				byteSizeHook,
				mapstructure.StringToSliceHookFunc(","),
			),
		},
	})
}

func byteSizeHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(ByteSize(0)) {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		n, err := humanize.ParseBytes(v)
		if err != nil {
			return nil, fmt.Errorf("%q is not a size (e.g. 32MiB)", v)
		}
		return ByteSize(n), nil
	default:
		return data, nil
	}
}

// decodeError turns a mapstructure error into a ConfigError for its first key.
func decodeError(err error, sources map[string]string) error {
	msg := err.Error()
	// mapstructure quotes the failing key: "'database.max_open_conns' cannot parse ..."
	first, _, _ := strings.Cut(msg, "\n")
	if i := strings.Index(msg, "'"); i >= 0 {
		if j := strings.Index(msg[i+1:], "'"); j > 0 {
			key := msg[i+1 : i+1+j]
			reason := strings.TrimSpace(msg[i+j+2:])
			if end := strings.Index(reason, "\n"); end >= 0 {
				reason = reason[:end]
			}
			return &ConfigError{Key: key, Source: sources[key], Reason: reason}
		}
	}
	return &ConfigError{Reason: strings.TrimPrefix(first, "* ")}
}

func fileErrorReason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
