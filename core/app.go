package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/dialect"
	"github.com/hatchgrid/hatchgrid/core/ratelimit"
	"github.com/hatchgrid/hatchgrid/migrations"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

// Version is the Hatchgrid version, set at build time with
// -ldflags "-X github.com/hatchgrid/hatchgrid/core.Version=v1.2.3".
var Version = "dev"

// Plugin extends the App. Register binds hooks, registers jobs and cron
// entries, reads the plugin's config section (PluginConfig) and adds its
// migrations (AddMigrations); it runs once, before the databases open.
// Routes come from apis.RouteProvider, CLI commands from
// hatchgrid.CommandProvider. See docs/plugins.md.
type Plugin interface {
	Name() string
	Register(app *App) error
}

// App is a Hatchgrid instance: its configuration, databases, services and
// hooks. Build one with New, then Bootstrap it; Shutdown releases it.
type App struct {
	cfg    *Config
	logger *slog.Logger
	clock  func() time.Time
	// passwordCost is bcrypt's cost for new hashes (WithPasswordCost);
	// dummyHash is a hash at that cost for unknown identities.
	passwordCost int
	dummyHash    func() string
	plugins      []Plugin
	migrations   []migrations.Migration

	dialect dialect.Dialect
	data    dialect.Handles
	logsDB  dialect.Handles // the same pools as data on PostgreSQL
	redis   *redis.Client   // nil in embedded mode

	rateLimitRedis *redis.Client // the rate limiter's own client; nil in embedded mode

	settings    settingsStore
	collections *CollectionService
	requestLogs *LogService
	files       fileState
	rateLimiter ratelimit.Counter
	bruteForce  *BruteForce
	background  *backgroundWork
	outbound    *outbound
	otpIssue    sync.Mutex // AuthService.issueOTP's check-then-insert
	mailer      Mailer     // WithMailer's transport; nil picks one from the settings per send
	authz       *authz.Enforcer
	rt          *Realtime
	cluster     *Cluster
	jobs        *JobService
	cron        *CronService

	hooks

	extraAdminResources []string       // added by plugins (AddAdminResource)
	superuserOnly       []string       // added by plugins (AddSuperuserOnlyResource)
	sealedColumns       []sealedColumn // added by plugins (AddSealedColumn)

	fieldKinds   fieldKinds  // the field types collections may use
	pendingKinds []FieldKind // WithFieldKinds', added once the logger is set

	pluginsRegistered bool
	bootstrapped      bool
	shutdownOnce      sync.Once
}

// Option configures an App in New.
type Option func(*App)

// WithLogger sets the process logger; the default writes to stderr in the
// configured format and level.
func WithLogger(l *slog.Logger) Option { return func(a *App) { a.logger = l } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(a *App) { a.clock = now } }

// WithPasswordCost sets bcrypt's cost for new password and OTP hashes,
// for tests: at bcrypt.MinCost a hash takes well under a millisecond
// where the default cost (bcrypt.DefaultCost, what every server uses)
// takes tens, and seconds under the race detector, which made tests of
// time windows (the sign-in guard's minute) depend on the machine's load.
// Hashes already stored keep the cost they were made with.
func WithPasswordCost(cost int) Option { return func(a *App) { a.passwordCost = cost } }

// WithPlugins adds plugins, registered in the order given.
func WithPlugins(p ...Plugin) Option { return func(a *App) { a.plugins = append(a.plugins, p...) } }

// WithMigrations appends migrations after the system ones, e.g. an embedding
// application's own.
func WithMigrations(m ...migrations.Migration) Option {
	return func(a *App) { a.migrations = append(a.migrations, m...) }
}

// New builds an App from cfg. It opens nothing; Bootstrap does.
func New(cfg *Config, opts ...Option) *App {
	a := &App{
		cfg:          cfg,
		clock:        time.Now,
		migrations:   migrations.All(),
		passwordCost: bcrypt.DefaultCost,
	}
	a.jobs = &JobService{app: a}
	a.cron = &CronService{app: a}
	a.registerMailJob()
	a.registerBuiltinJobs()
	for _, opt := range opts {
		opt(a)
	}
	if a.logger == nil {
		a.logger = NewLogger(os.Stderr, cfg.Log)
	}
	a.dummyHash = newDummyHash(a.passwordCost)
	a.fieldKinds = newFieldKinds(a.passwordCost)
	for _, k := range a.pendingKinds {
		if err := a.fieldKinds.add(k); err != nil {
			a.logger.Error("field kind not registered", "error", err)
		}
	}
	a.pendingKinds = nil
	a.collections = newCollectionService(a)
	a.requestLogs = newLogService(a)
	a.rateLimiter = ratelimit.NewMemory(ratelimit.WithClock(a.clock))
	a.bruteForce = newBruteForce(a)
	a.background = newBackgroundWork()
	a.outbound = newOutbound(cfg.Outbound)
	a.rt = newRealtime(a)
	a.cluster = newCluster(a)
	return a
}

// Config returns the App's configuration. Treat it as read-only.
func (a *App) Config() *Config { return a.cfg }

// Logger returns the process logger.
func (a *App) Logger() *slog.Logger { return a.logger }

// IsDev reports whether the App runs in development mode.
func (a *App) IsDev() bool { return a.cfg.Dev }

// Now returns the App's current time in UTC.
func (a *App) Now() time.Time { return a.clock().UTC() }

// Dialect returns the data database's dialect.
func (a *App) Dialect() dialect.Dialect { return a.dialect }

// Redis returns the shared Redis client, or nil in embedded mode.
func (a *App) Redis() *redis.Client { return a.redis }

// Collections returns the collection service.
func (a *App) Collections() *CollectionService { return a.collections }

// Logs returns the request-log service.
func (a *App) Logs() *LogService { return a.requestLogs }

// RateLimiter returns the store the request rate limits of
// settings.rateLimits count in.
func (a *App) RateLimiter() ratelimit.Store { return a.rateLimiter }

// BruteForce returns the guard of password sign-ins.
func (a *App) BruteForce() *BruteForce { return a.bruteForce }

// RateLimitSettings returns the current settings.rateLimits without
// copying them, for the middleware that reads them on every request.
// Treat the rules as read-only.
func (a *App) RateLimitSettings() RateLimitsSettings {
	if s := a.settings.current.Load(); s != nil {
		return s.RateLimits
	}
	return DefaultSettings().RateLimits
}

// IsBootstrapped reports whether Bootstrap has completed.
func (a *App) IsBootstrapped() bool { return a.bootstrapped }

// Bootstrap registers plugins, opens the databases, applies pending
// migrations and loads settings, then fires OnBootstrap's chain around that
// work. Calling it twice is an error.
func (a *App) Bootstrap(ctx context.Context) error {
	if a.bootstrapped {
		return errors.New("app already bootstrapped")
	}
	if err := a.registerPlugins(); err != nil {
		return err
	}
	err := a.OnBootstrap().Trigger(&BootstrapEvent{App: a, Context: ctx}, func(e *BootstrapEvent) error {
		if err := a.open(e.Context); err != nil {
			return err
		}
		a.openRateLimiter()
		a.cluster.open()
		if _, err := a.Migrator().Up(e.Context); err != nil {
			return err
		}
		if err := a.settings.load(e.Context, a); err != nil {
			return err
		}
		if err := a.collections.Reload(e.Context); err != nil {
			return err
		}
		if err := a.sealStoredSecrets(e.Context); err != nil {
			return err
		}
		if err := a.openAuthz(); err != nil {
			return err
		}
		if err := a.openFiles(); err != nil {
			return err
		}
		if err := a.jobs.openJobs(e.Context); err != nil {
			return err
		}
		a.requestLogs.start()
		if err := a.cluster.start(e.Context); err != nil {
			return err
		}
		a.bootstrapped = true
		return nil
	})
	if err != nil {
		a.closeDBs()
		return err
	}
	return nil
}

// OpenForMigrations opens the databases without applying migrations, for
// `hatchgrid migrate`.
func (a *App) OpenForMigrations(ctx context.Context) error {
	if err := a.registerPlugins(); err != nil {
		return err
	}
	return a.open(ctx)
}

func (a *App) open(ctx context.Context) error {
	if err := os.MkdirAll(a.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	dsn := a.cfg.DatabaseURL()
	d, err := dialect.FromURL(dsn)
	if err != nil {
		return err
	}
	a.dialect = d

	marker, err := a.checkDataDirDatabase(d, dsn)
	if err != nil {
		return err
	}

	opts := dialect.Options{
		MaxOpenConns:     a.cfg.Database.MaxOpenConns,
		MaxIdleConns:     a.cfg.Database.MaxIdleConns,
		ConnMaxLifetime:  a.cfg.Database.ConnMaxLifetime,
		StatementTimeout: a.cfg.Database.StatementTimeout,
		BusyTimeout:      a.cfg.Database.BusyTimeout,
		ViewRole:         a.cfg.Database.ViewRole,
		// connect pings with ctx, so that a signal stops the wait; GORM's
		// own ping would wait for a silent server without end.
		GORM: &gorm.Config{Logger: a.gormLogger(), SkipDefaultTransaction: true, DisableAutomaticPing: true},
	}
	if a.data, err = d.Open(dsn, opts); err != nil {
		return err
	}
	if err := a.connect(ctx, d); err != nil {
		a.closeDBs()
		return fmt.Errorf("connect to %s database: %w", d.Name(), err)
	}
	if err := marker(ctx); err != nil {
		a.closeDBs()
		return err
	}
	a.logsDB = a.data
	if logsDSN := d.LogsDSN(dsn); logsDSN != "" {
		if a.logsDB, err = d.Open(logsDSN, opts); err != nil {
			a.closeDBs()
			return err
		}
	}

	if a.cfg.Redis.URL != "" {
		ropts, err := redis.ParseURL(a.cfg.Redis.URL)
		if err != nil {
			a.closeDBs()
			return err
		}
		a.redis = redis.NewClient(ropts)
	}
	return nil
}

func (a *App) gormLogger() gormlogger.Interface {
	// Statements are logged with placeholders, never their values, so
	// secrets in queries stay out of the logs; dev mode adds every statement.
	level := gormlogger.Warn
	if a.cfg.Dev {
		level = gormlogger.Info
	}
	return &sqlLogger{log: a.logger.With("component", "sql"), level: level, slow: time.Second}
}

// Shutdown fires OnTerminate, flushes pending request logs and closes every
// connection. It is safe to call more than once and on an App whose
// Bootstrap failed.
func (a *App) Shutdown(ctx context.Context) error {
	var err error
	a.shutdownOnce.Do(func() {
		err = a.OnTerminate().Trigger(&TerminateEvent{App: a, Context: ctx}, func(e *TerminateEvent) error {
			a.cluster.leave()
			a.background.close(e.Context)
			a.jobs.closeJobs(e.Context)
			a.rt.close()
			a.requestLogs.stop(e.Context)
			a.closeFiles()
			a.outbound.close()
			a.closeDBs()
			return nil
		})
	})
	return err
}

func (a *App) closeDBs() {
	a.closeRateLimiter()
	a.cluster.close()
	if a.redis != nil {
		_ = a.redis.Close()
		a.redis = nil
	}
	if a.logsDB.Write != nil && a.logsDB.Write != a.data.Write {
		_ = a.logsDB.Close()
	}
	if a.data.Write != nil {
		_ = a.data.Close()
	}
	a.logsDB, a.data = dialect.Handles{}, dialect.Handles{}
}

// Plugins returns the plugins the App was built with.
func (a *App) Plugins() []Plugin { return a.plugins }
