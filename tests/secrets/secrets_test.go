package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/mailer/smtptest"
	"github.com/hatchgrid/hatchgrid/core/security"
	"github.com/hatchgrid/hatchgrid/plugins/webhooks"
)

const (
	key1 = "0123456789abcdef0123456789abcdef"
	key2 = "fedcba9876543210fedcba9876543210"
)

// world is what the test's instances share: one database (a SQLite data
// dir or a PostgreSQL schema), the remote services the secrets are for,
// and the secrets themselves.
type world struct {
	t          *testing.T
	dataDir    string
	dbURL      string
	smtp       *smtptest.Server
	s3, backup *coretest.S3Server
	receiver   *httptest.Server
	signatures chan string

	smtpPassword, webhookSecret, clientSecret string
}

func newWorld(t *testing.T) *world {
	cfg := coretest.Config(t)
	w := &world{
		t: t, dataDir: cfg.DataDir, dbURL: cfg.Database.URL,
		s3: coretest.NewS3Server(t), backup: coretest.NewS3Server(t),
		smtpPassword:  "smtp-" + security.RandomString(24, security.IDAlphabet),
		webhookSecret: "hook-" + security.RandomString(24, security.IDAlphabet),
		clientSecret:  "oauth-" + security.RandomString(24, security.IDAlphabet),
		signatures:    make(chan string, 16),
	}
	w.smtp = smtptest.NewServer(t, smtptest.Options{Username: "mailer", Password: w.smtpPassword})
	w.receiver = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		body.ReadFrom(r.Body)
		if r.Header.Get(webhooks.HeaderSignature) == webhooks.Sign(w.webhookSecret, body.Bytes()) {
			w.signatures <- "good"
		} else {
			w.signatures <- "bad"
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(w.receiver.Close)
	return w
}

// secrets are the values no database file may hold while a key is set.
func (w *world) secrets() []string {
	return []string{w.smtpPassword, w.s3.Secret, w.backup.Secret, w.webhookSecret, w.clientSecret}
}

// config is a configuration on the world's database with the given keys.
func (w *world) config(key, oldKey string) *core.Config {
	cfg := coretest.Config(w.t)
	cfg.DataDir, cfg.Database.URL = w.dataDir, w.dbURL
	cfg.EncryptionKey, cfg.EncryptionKeyOld = key, oldKey
	cfg.Outbound.WebhooksPrivate = true // the receiver is on 127.0.0.1
	return cfg
}

// instance is one running App of the world and its API.
type instance struct {
	app    *core.App
	router http.Handler
	token  string
}

// start bootstraps an App on the world's database with the given keys.
func (w *world) start(key, oldKey string) *instance {
	w.t.Helper()
	app, err := w.boot(key, oldKey)
	if err != nil {
		w.t.Fatalf("bootstrap: %v", err)
	}
	_, token := coretest.Superuser(w.t, app)
	return &instance{app: app, router: apis.NewRouter(app), token: token}
}

func (w *world) boot(key, oldKey string) (*core.App, error) {
	app := core.New(w.config(key, oldKey), core.WithInlineJobs(), core.WithPlugins(&webhooks.Plugin{}),
		core.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err := app.Bootstrap(context.Background()); err != nil {
		return nil, err
	}
	w.t.Cleanup(func() { stop(w.t, app) })
	return app, nil
}

func stop(t *testing.T, app *core.App) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func (in *instance) do(t *testing.T, method, path, body string, want int) string {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", in.token)
	rec := httptest.NewRecorder()
	in.router.ServeHTTP(rec, req)
	if rec.Code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, rec.Code, rec.Body.String(), want)
	}
	return rec.Body.String()
}

// storeSecrets sets every kind of secret through the API: the SMTP
// password, the S3 secrets of storage and backups, a webhook's secret and
// an OAuth2 client secret.
func (w *world) storeSecrets(in *instance) {
	t := w.t
	s3, backup := w.s3.Settings(), w.backup.Settings()
	in.do(t, "PATCH", "/api/settings", `{
		"smtp":{"enabled":true,"host":"127.0.0.1","port":`+itoa(w.smtp.Port())+`,"username":"mailer","password":"`+w.smtpPassword+`"},
		"s3":{"enabled":false,"bucket":"`+s3.Bucket+`","region":"`+s3.Region+`","endpoint":"`+s3.Endpoint+`","accessKey":"`+s3.AccessKey+`","secret":"`+s3.Secret+`","forcePathStyle":true},
		"backups":{"s3":{"enabled":true,"bucket":"`+backup.Bucket+`","region":"`+backup.Region+`","endpoint":"`+backup.Endpoint+`","accessKey":"`+backup.AccessKey+`","secret":"`+backup.Secret+`","forcePathStyle":true}}}`, 200)
	in.do(t, "POST", "/api/collections", `{"name":"members","type":"auth","createRule":"",
		"oauth2":{"enabled":true,"providers":[{"name":"github","clientId":"client-id","clientSecret":"`+w.clientSecret+`"}]}}`, 200)
	in.do(t, "POST", "/api/collections", `{"name":"posts","createRule":"","fields":[{"name":"title","type":"text"}]}`, 200)
	in.do(t, "POST", "/api/hg/webhooks", `{"collection":"posts","events":["create"],"url":"`+w.receiver.URL+`","secret":"`+w.webhookSecret+`"}`, 200)
}

// checkSecretsWork uses every stored secret: the SMTP password signs in
// to the mail server, both S3 secrets sign requests the S3 servers
// accept, the webhook secret signs a delivery, and the OAuth2 client
// secret opens.
func (w *world) checkSecretsWork(in *instance) {
	t := w.t
	t.Helper()
	sent := len(w.smtp.Messages())
	in.do(t, "POST", "/api/settings/test/email", `{"email":"ann@example.com","template":"verification"}`, 204)
	if msgs := w.smtp.Messages(); len(msgs) != sent+1 || msgs[len(msgs)-1].User != "mailer" {
		t.Fatalf("the test email did not go through an authenticated SMTP session")
	}
	settings := in.app.Settings()
	settings.S3.Enabled = true
	if err := in.app.TestS3(context.Background(), settings.S3); err != nil {
		t.Fatalf("storage S3 secret: %v", err)
	}
	in.do(t, "POST", "/api/settings/test/s3", `{"filesystem":"backups"}`, 204)
	in.do(t, "POST", "/api/collections/posts/records", `{"title":"hello"}`, 200)
	select {
	case got := <-w.signatures:
		if got != "good" {
			t.Fatal("the webhook delivery was signed with another secret")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook delivery")
	}
	members, err := in.app.Collections().Find("members")
	if err != nil {
		t.Fatal(err)
	}
	stored := members.Auth.OAuth2.Providers[0].ClientSecret
	if got, err := in.app.OpenSecret(core.SecretOAuth2ClientSecret, stored); err != nil || got != w.clientSecret {
		t.Fatalf("OAuth2 client secret opens to %q, %v", got, err)
	}
}

// found returns the secrets that the database files hold in plain text:
// every file of the SQLite data dir (the -wal and -shm files and the
// logs database included), or a pg_dump of the PostgreSQL schema.
func (w *world) found() []string {
	t := w.t
	t.Helper()
	var dump []byte
	if coretest.Dialect() == "postgres" {
		dump = pgDump(t, w.dbURL)
	} else {
		err := filepath.WalkDir(w.dataDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a -wal or -shm file removed while walking
			}
			dump = append(dump, b...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	for _, s := range w.secrets() {
		if bytes.Contains(dump, []byte(s)) {
			out = append(out, s)
		}
	}
	return out
}

// pgDump dumps the schema that dbURL's search_path names.
func pgDump(t *testing.T, dbURL string) []byte {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	schema := q.Get("search_path")
	q.Del("search_path")
	u.RawQuery = q.Encode()
	out, err := exec.Command("pg_dump", "--no-owner", "--schema="+schema, "--dbname="+u.String()).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !bytes.Contains(out, []byte("_params")) {
		t.Fatalf("pg_dump holds no _params table: %.300s", out)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSecretsAtRestWithKey is must-show 3 of issue 15: with the key set
// from the start, secrets set through the API never reach the database
// files in plain text, while the App runs and after it stopped, and they
// all still work after a restart.
func TestSecretsAtRestWithKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	first := w.start(key1, "")
	w.storeSecrets(first)
	w.checkSecretsWork(first)
	if got := w.found(); len(got) > 0 {
		t.Fatalf("the database files hold %d secrets in plain text while running: %v", len(got), got)
	}
	stop(t, first.app)
	if got := w.found(); len(got) > 0 {
		t.Fatalf("the database files hold %d secrets in plain text: %v", len(got), got)
	}
	w.checkSecretsWork(w.start(key1, ""))
}

// TestSecretsSealedAtFirstStartAndRotated stores the secrets without a
// key (the files hold them: the search can see them), then starts with
// a key: they are sealed at once, and the plain text is gone from the
// files. Rotating the key (the new one, and the old one in
// encryption_key_old, for one start) seals them again with the new key:
// the old key alone no longer opens them, the new one alone does.
func TestSecretsSealedAtFirstStartAndRotated(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	plain := w.start("", "")
	w.storeSecrets(plain)
	stop(t, plain.app)
	if got := w.found(); len(got) != len(w.secrets()) {
		t.Fatalf("without a key the files hold %d of the %d secrets; the search cannot be trusted", len(got), len(w.secrets()))
	}

	sealed := w.start(key1, "")
	if got := w.found(); len(got) > 0 {
		t.Fatalf("after the first start with a key, the files hold %d secrets in plain text: %v", len(got), got)
	}
	w.checkSecretsWork(sealed)
	stop(t, sealed.app)
	if got := w.found(); len(got) > 0 {
		t.Fatalf("the files hold %d secrets in plain text: %v", len(got), got)
	}

	rotated := w.start(key2, key1)
	w.checkSecretsWork(rotated)
	stop(t, rotated.app)
	if _, err := w.boot(key1, ""); !errors.Is(err, core.ErrSecretKey) {
		t.Fatalf("start with the old key after the rotation: %v, want ErrSecretKey", err)
	}
	w.checkSecretsWork(w.start(key2, ""))
	if got := w.found(); len(got) > 0 {
		t.Fatalf("after the rotation the files hold %d secrets in plain text: %v", len(got), got)
	}
}
