package coretest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/mailer"
	"github.com/hatchgrid/hatchgrid/core/security"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

// DefaultPostgresURL is used when HG_TEST_POSTGRES_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Dialect returns the dialect tests run on: "sqlite" or "postgres".
func Dialect() string {
	if strings.EqualFold(os.Getenv("HG_TEST_DB"), "postgres") {
		return "postgres"
	}
	return "sqlite"
}

// RequireDialect skips t unless the suite runs on name.
func RequireDialect(t testing.TB, name string) {
	t.Helper()
	if Dialect() != name {
		t.Skipf("runs on %s only (HG_TEST_DB=%s)", name, Dialect())
	}
}

// Option adjusts the Config or App options of NewApp.
type Option func(*setup)

type setup struct {
	cfg        *core.Config
	options    []core.Option
	realMailer bool
	jobs       jobMode
}

type jobMode int

const (
	jobsInline  jobMode = iota // Enqueue runs the handler at once
	jobsQueued                 // a real queue, no workers
	jobsWorkers                // a real queue and workers
)

// WithJobWorkers gives the App a real job queue (embedded, or Redis when
// the config sets redis.url) and starts its workers, cron and outbox
// dispatcher, as `serve` does. Without it jobs run inline: Enqueue calls
// the handler at once (after the commit, inside a transaction).
func WithJobWorkers() Option {
	return func(s *setup) { s.jobs = jobsWorkers }
}

// WithJobQueue gives the App a real job queue but starts no workers, as
// the CLI's commands run: jobs wait in the queue, or in the outbox in
// embedded mode.
func WithJobQueue() Option {
	return func(s *setup) { s.jobs = jobsQueued }
}

// WithConfig lets a test change the configuration before the App is built.
func WithConfig(fn func(*core.Config)) Option {
	return func(s *setup) { fn(s.cfg) }
}

// WithAppOptions passes options to core.New.
func WithAppOptions(opts ...core.Option) Option {
	return func(s *setup) { s.options = append(s.options, opts...) }
}

// WithRealMailer keeps the App's own mail transport, chosen from the
// settings on each send (SMTP, the log in dev mode, or none), instead of
// the captured Mailbox.
func WithRealMailer() Option {
	return func(s *setup) { s.realMailer = true }
}

// Mailbox returns the mailbox that captures app's mail: every App from
// NewApp has one unless built WithRealMailer or given another mailer.
func Mailbox(t testing.TB, app *core.App) *mailer.Mailbox {
	t.Helper()
	if sm, ok := app.MailTransport().(core.SenderMailer); ok {
		if box, ok := sm.Sender.(*mailer.Mailbox); ok {
			return box
		}
	}
	t.Fatal("coretest: the app's mail is not captured (built WithRealMailer or with its own mailer)")
	return nil
}

// Config returns a test configuration: the embedded defaults (ignoring the
// environment), a data dir in t.TempDir() and the test database.
func Config(t testing.TB) *core.Config {
	t.Helper()
	cfg, err := core.LoadConfig(core.LoadOptions{Environ: func() []string { return nil }})
	if err != nil {
		t.Fatalf("coretest: load config: %v", err)
	}
	cfg.DataDir = t.TempDir()
	cfg.HTTP = "127.0.0.1:0"
	if Dialect() == "postgres" {
		cfg.Database.URL = NewPostgresSchema(t)
	}
	return cfg
}

// NewApp returns a bootstrapped App, shut down when the test ends. Its
// mail goes to a Mailbox (see Mailbox and WithRealMailer).
func NewApp(t testing.TB, opts ...Option) *core.App {
	t.Helper()
	s := &setup{cfg: Config(t)}
	for _, opt := range opts {
		opt(s)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("HG_TEST_VERBOSE") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	// Every test App owns its (private) data dir's embedded queue, as
	// `serve` does: tests see the queue, whatever their job mode. Hashes
	// at bcrypt's least cost keep sign-ins in milliseconds, under -race
	// too, so tests of time windows do not hang on the machine's load.
	base := []core.Option{core.WithLogger(logger), core.WithEmbeddedQueueOwner(), core.WithPasswordCost(bcrypt.MinCost)}
	if !s.realMailer {
		// Before the test's own options, so that its WithMailer wins.
		base = append(base, core.WithMailer(core.SenderMailer{Sender: mailer.NewMailbox()}))
	}
	if s.jobs == jobsInline {
		base = append(base, core.WithInlineJobs())
	}
	app := core.New(s.cfg, append(base, s.options...)...)
	if err := app.Bootstrap(context.Background()); err != nil {
		t.Fatalf("coretest: bootstrap: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("coretest: shutdown: %v", err)
		}
	})
	if s.jobs == jobsWorkers {
		if err := app.StartWorkers(context.Background()); err != nil {
			t.Fatalf("coretest: start workers: %v", err)
		}
	}
	return app
}

// PostgresURL returns the test server's URL.
func PostgresURL() string {
	if u := os.Getenv("HG_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

var (
	adminOnce sync.Once
	adminDB   *gorm.DB
	adminErr  error
)

func admin() (*gorm.DB, error) {
	adminOnce.Do(func() {
		adminDB, adminErr = gorm.Open(postgres.Open(PostgresURL()), &gorm.Config{Logger: gormlogger.Discard})
		if adminErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			adminErr = adminDB.WithContext(ctx).Exec("SELECT 1").Error
		}
	})
	return adminDB, adminErr
}

// NewPostgresSchema creates an empty schema for t, dropped when the test
// ends, and returns a database URL whose search_path points at it.
func NewPostgresSchema(t testing.TB) string {
	t.Helper()
	db, err := admin()
	if err != nil {
		msg := fmt.Sprintf("coretest: PostgreSQL at %s is unreachable: %v", redact(PostgresURL()), err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		// One loud line, then skip: a developer without PostgreSQL can still
		// run the SQLite suite.
		fmt.Fprintln(os.Stderr, "!!! "+msg+" -- SKIPPING PostgreSQL tests")
		t.Skip(msg)
	}
	schema := "hg_test_" + security.RandomString(12, security.IDAlphabet)
	if err := db.Exec(`CREATE SCHEMA "` + schema + `"`).Error; err != nil {
		t.Fatalf("coretest: create schema: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`).Error; err != nil {
			t.Errorf("coretest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		t.Fatalf("coretest: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// AwaitMail runs send, then waits (up to 10 seconds) for the first
// message to addr that app's Mailbox keeps after send began, and returns
// it. The auth email flows (verification, password reset, OTP) mail in
// the background, after their response, so a test cannot look for the
// message as soon as the request returns.
func AwaitMail(t testing.TB, app *core.App, addr string, send func()) mailer.Message {
	t.Helper()
	box := Mailbox(t, app)
	to := func() []mailer.Message {
		var out []mailer.Message
		for _, m := range box.Messages() {
			for _, a := range m.To {
				if strings.EqualFold(a.Address, addr) {
					out = append(out, m)
					break
				}
			}
		}
		return out
	}
	before := len(to())
	send()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got := to(); len(got) > before {
			return got[before]
		}
	}
	t.Fatalf("coretest: no mail to %s within 10s", addr)
	return mailer.Message{}
}
