package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

const (
	secretsKey    = "0123456789abcdef0123456789abcdef"
	secretsOldKey = "fedcba9876543210fedcba9876543210"
)

func withKeys(key, old string) coretest.Option {
	return coretest.WithConfig(func(c *core.Config) { c.EncryptionKey, c.EncryptionKeyOld = key, old })
}

// TestSecretsBoundToTheirPurpose: a sealed secret opens for its own
// purpose only. Copied into a field of another purpose (an OAuth2 client
// secret put into the SMTP password, to have the server send it to a mail
// relay of one's choosing), it does not open.
func TestSecretsBoundToTheirPurpose(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, withKeys(secretsKey, ""))
	sealed, err := app.SealSecret(core.SecretOAuth2ClientSecret, "client-secret")
	if err != nil || !strings.HasPrefix(sealed, "hgenc2:") || strings.Contains(sealed, "client-secret") {
		t.Fatalf("sealed = %q, %v", sealed, err)
	}
	if got, err := app.OpenSecret(core.SecretOAuth2ClientSecret, sealed); err != nil || got != "client-secret" {
		t.Fatalf("opened = %q, %v", got, err)
	}
	for _, other := range []core.SecretPurpose{core.SecretSMTPPassword, core.SecretS3, core.SecretWebhook} {
		if _, err := app.OpenSecret(other, sealed); !errors.Is(err, core.ErrSecretKey) {
			t.Errorf("opened as %s: %v", other, err)
		}
	}
}

// TestOAuth2ClientSecretNeverTakenFromAnotherPurpose: a client sending,
// as an OAuth2 client secret, the sealed SMTP password (read from a
// backup, say) gets that text stored as a secret of its own, not the SMTP
// password behind it.
func TestOAuth2ClientSecretNeverTakenFromAnotherPurpose(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, withKeys(secretsKey, ""))
	sealedSMTP, err := app.SealSecret(core.SecretSMTPPassword, "smtp-password")
	if err != nil {
		t.Fatal(err)
	}
	c := expandCollection(t, app, `{"name":"users","type":"auth",
		"oauth2":{"enabled":true,"providers":[{"name":"github","clientId":"x","clientSecret":"`+sealedSMTP+`"}]}}`)
	got, err := app.OpenSecret(core.SecretOAuth2ClientSecret, c.Auth.OAuth2.Providers[0].ClientSecret)
	if err != nil || got != sealedSMTP {
		t.Fatalf("the client secret opens to %q, %v; want the text sent", got, err)
	}
}

// TestSecretsWithoutKey: without a key secrets are stored as they are,
// except one that looks sealed, which is escaped so that it is never
// taken for a sealed value (and cannot stop the next start).
func TestSecretsWithoutKey(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	for _, plain := range []string{"s3cret", "hgenc2:AAAA", "hgplain:x", "hgenc1:zz"} {
		stored, err := app.SealSecret(core.SecretSMTPPassword, plain)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := app.OpenSecret(core.SecretSMTPPassword, stored); err != nil || got != plain {
			t.Fatalf("%q stored as %q opens to %q, %v", plain, stored, got, err)
		}
	}
	ctx := context.Background()
	s := app.Settings()
	s.SMTP.Password = "hgenc2:not-really-sealed"
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	next := coretest.NewApp(t, coretest.WithConfig(func(c *core.Config) {
		c.DataDir, c.Database.URL = app.Config().DataDir, app.Config().Database.URL
	}))
	if got := next.Settings().SMTP.Password; got != "hgenc2:not-really-sealed" {
		t.Fatalf("after a restart the password is %q", got)
	}
}

// TestSealedSecretsNeedTheKey: settings sealed with a key do not load
// without it, or with another one: the start fails, naming the key to
// set, rather than running with secrets it cannot use.
func TestSealedSecretsNeedTheKey(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, withKeys(secretsKey, ""))
	s := app.Settings()
	s.SMTP.Password = "smtp-password"
	if err := app.SaveSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	for _, keys := range [][2]string{{"", ""}, {secretsOldKey, ""}} {
		cfg := coretest.Config(t)
		cfg.DataDir, cfg.Database.URL = app.Config().DataDir, app.Config().Database.URL
		cfg.EncryptionKey, cfg.EncryptionKeyOld = keys[0], keys[1]
		other := core.New(cfg, core.WithLogger(app.Logger()))
		err := other.Bootstrap(context.Background())
		if !errors.Is(err, core.ErrSecretKey) || !strings.Contains(err.Error(), "HG_ENCRYPTION_KEY") {
			t.Fatalf("start with key %q: %v, want ErrSecretKey naming HG_ENCRYPTION_KEY", keys[0], err)
		}
	}
	// With the key as the old key and none new, the secrets are unsealed.
	unsealed := coretest.NewApp(t, withKeys("", secretsKey), coretest.WithConfig(func(c *core.Config) {
		c.DataDir, c.Database.URL = app.Config().DataDir, app.Config().Database.URL
	}))
	if got := unsealed.Settings().SMTP.Password; got != "smtp-password" {
		t.Fatalf("unsealed password = %q", got)
	}
	plainAgain := coretest.NewApp(t, coretest.WithConfig(func(c *core.Config) {
		c.DataDir, c.Database.URL = app.Config().DataDir, app.Config().Database.URL
	}))
	if got := plainAgain.Settings().SMTP.Password; got != "smtp-password" {
		t.Fatalf("password without any key after unsealing = %q", got)
	}
}
