package core_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/migrations"
)

func superusers(t *testing.T, app *core.App) *core.Collection {
	t.Helper()
	c, err := app.Collections().Find(core.SuperusersCollectionName)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSuperuserUpsertCreatesThenUpdates(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()

	first, err := app.Superusers().Upsert(ctx, "A@B.co", "Secret12345")
	if err != nil {
		t.Fatal(err)
	}
	if hash := first.GetString("password"); !strings.HasPrefix(hash, "$2a$") {
		t.Fatalf("password stored as %q, want a bcrypt hash", hash)
	}
	if len(first.ID()) != 15 || !first.Get("verified").(bool) {
		t.Fatalf("new superuser = %+v", first.PublicExport(core.ExportOptions{ShowHidden: true}))
	}

	second, err := app.Superusers().Upsert(ctx, "a@b.co", "Another12345")
	if err != nil {
		t.Fatal(err)
	}
	if second.ID() != first.ID() {
		t.Fatalf("upsert created %s instead of updating %s", second.ID(), first.ID())
	}
	if second.GetString("tokenKey") == first.GetString("tokenKey") {
		t.Fatal("password change kept the token key")
	}
	if n, _ := app.Superusers().Count(ctx); n != 1 {
		t.Fatalf("Count = %d, want 1", n)
	}
	su := superusers(t, app)
	if _, err := app.Auth().AuthWithPassword(ctx, su, "a@b.co", "Secret12345", ""); err == nil {
		t.Fatal("old password still works")
	}
	if _, err := app.Auth().AuthWithPassword(ctx, su, "A@B.CO", "Another12345", ""); err != nil {
		t.Fatalf("new password (case-insensitive email): %v", err)
	}
	if _, err := app.Auth().AuthWithPassword(ctx, su, "who@b.co", "Another12345", ""); core.ErrorCodeOf(err) != core.CodeInvalid {
		t.Fatalf("unknown identity: %v", err)
	}
}

func TestSuperuserCreateUpdateDelete(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()

	if _, err := app.Superusers().Update(ctx, "x@y.co", "Secret12345"); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Fatalf("Update of a missing superuser: %v", err)
	}
	if _, err := app.Superusers().Create(ctx, "x@y.co", "Secret12345"); err != nil {
		t.Fatal(err)
	}
	_, err := app.Superusers().Create(ctx, "X@y.co", "Secret12345")
	if ce, ok := err.(*core.Error); !ok || ce.Fields["email"].Code != "validation_not_unique" {
		t.Fatalf("duplicate Create: %v", err)
	}
	if err := app.Superusers().Delete(ctx, "x@y.co"); err != nil {
		t.Fatal(err)
	}
	if n, _ := app.Superusers().Count(ctx); n != 0 {
		t.Fatalf("Count after delete = %d", n)
	}
}

func TestSuperuserValidation(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	cases := []struct {
		email, password string
		field, code     string
	}{
		{"", "Secret12345", "email", "validation_required"},
		{"not-an-email", "Secret12345", "email", "validation_is_email"},
		{"a@b.co", "", "password", "validation_required"},
		{"a@b.co", "short", "password", "validation_min_text_constraint"},
		{"a@b.co", strings.Repeat("x", 72), "password", "validation_max_text_constraint"},
	}
	for _, c := range cases {
		_, err := app.Superusers().Upsert(context.Background(), c.email, c.password)
		ce, ok := err.(*core.Error)
		if !ok || ce.Code != core.CodeInvalid || ce.Fields[c.field].Code != c.code {
			t.Errorf("Upsert(%q, %q) = %v, want %s on %s", c.email, c.password, err, c.code, c.field)
		}
	}
}

func TestSuperuserRecordHookCanVeto(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	app.OnRecordCreate(core.SuperusersCollectionName).BindFunc(func(e *core.RecordEvent) error {
		if strings.HasSuffix(e.Record.GetString("email"), "@blocked.example") {
			return core.Invalid("Failed to create record.", map[string]core.FieldError{
				"email": {Code: "validation_blocked_domain", Message: "Domain not allowed."},
			})
		}
		return e.Next()
	})
	if _, err := app.Superusers().Upsert(context.Background(), "x@blocked.example", "Secret12345"); core.ErrorCodeOf(err) != core.CodeInvalid {
		t.Fatalf("vetoed save: %v", err)
	}
	if n, _ := app.Superusers().Count(context.Background()); n != 0 {
		t.Fatal("vetoed superuser was written")
	}
}

func TestAuthTokens(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	app := coretest.NewApp(t, coretest.WithAppOptions(core.WithClock(func() time.Time { return clock() })))
	ctx := context.Background()
	su, err := app.Superusers().Upsert(ctx, "a@b.co", "Secret12345")
	if err != nil {
		t.Fatal(err)
	}
	token, err := app.Auth().NewAuthToken(su)
	if err != nil {
		t.Fatal(err)
	}
	got, refreshable, err := app.Auth().FindByAuthToken(ctx, token)
	if err != nil || got.ID() != su.ID() || !refreshable {
		t.Fatalf("valid token: %v, %v, %v", got, refreshable, err)
	}
	static, err := app.Auth().NewStaticAuthToken(su, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, refreshable, err := app.Auth().FindByAuthToken(ctx, static); err != nil || refreshable {
		t.Fatalf("static token: refreshable=%v err=%v", refreshable, err)
	}

	c := superusers(t, app)
	secret := c.Auth.AuthToken.Secret
	key := su.GetString("tokenKey") + secret
	claims := func(overrides jwt.MapClaims) jwt.MapClaims {
		m := jwt.MapClaims{
			"id": su.ID(), "type": "auth", "collectionId": migrations.SuperusersCollectionID,
			"refreshable": true, "exp": now.Add(time.Hour).Unix(),
		}
		for k, v := range overrides {
			m[k] = v
		}
		return m
	}
	hs := func(m jwt.MapClaims, key string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, m).SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rs256, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, claims(nil)).SignedString(rsaKey)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, claims(nil)).SignedString([]byte(key))
	fileToken, _ := app.Auth().NewToken(su, core.TokenTypeFile, 0, nil)

	forged := map[string]string{
		"alg none":           none,
		"RS256":              rs256,
		"HS512 with the key": hs512,
		"wrong secret":       hs(claims(nil), su.GetString("tokenKey")+"not-the-secret-at-all-xxxxxxxxxxxxxxxxxxxxx"),
		"expired":            hs(claims(jwt.MapClaims{"exp": now.Add(-time.Second).Unix()}), key),
		"no exp":             hs(claims(jwt.MapClaims{"exp": nil}), key),
		"other collection":   hs(claims(jwt.MapClaims{"collectionId": "_pb_users_auth_"}), key),
		"other type":         hs(claims(jwt.MapClaims{"type": "file"}), key),
		"a file token":       fileToken,
		"unknown id":         hs(claims(jwt.MapClaims{"id": "aaaaaaaaaaaaaaa"}), key),
		"garbage":            "not.a.jwt",
		"tampered payload":   tamper(token, su.ID()),
	}
	for name, tok := range forged {
		if _, _, err := app.Auth().FindByAuthToken(ctx, tok); err != core.ErrInvalidToken {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}

	// A correctly signed token is accepted, and dies with the password.
	if _, _, err := app.Auth().FindByAuthToken(ctx, hs(claims(nil), key)); err != nil {
		t.Fatalf("hand-signed valid token: %v", err)
	}
	if _, err := app.Superusers().Upsert(ctx, "a@b.co", "Changed12345"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.Auth().FindByAuthToken(ctx, token); err != core.ErrInvalidToken {
		t.Fatalf("token issued before the password change: %v", err)
	}

	// Expiry follows the App's clock.
	su2, _ := app.Superusers().FindByEmail(ctx, "a@b.co")
	fresh, _ := app.Auth().NewAuthToken(su2)
	clock = func() time.Time { return now.Add(86400*time.Second + time.Minute) }
	if _, _, err := app.Auth().FindByAuthToken(ctx, fresh); err != core.ErrInvalidToken {
		t.Fatalf("token past its 86400 s duration: %v", err)
	}
}

func TestInstallToken(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	token, err := app.Superusers().NewInstallToken(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Superusers().VerifyInstallToken(ctx, token); err != nil {
		t.Fatalf("fresh install token: %v", err)
	}
	if _, _, err := app.Auth().FindByAuthToken(ctx, token); err == nil {
		t.Fatal("install token accepted as an auth token")
	}
	expired, _ := app.Superusers().NewInstallToken(ctx, -time.Second)
	if err := app.Superusers().VerifyInstallToken(ctx, expired); err == nil {
		t.Fatal("expired install token accepted")
	}
	if _, err := app.Superusers().Upsert(ctx, "a@b.co", "Secret12345"); err != nil {
		t.Fatal(err)
	}
	if err := app.Superusers().VerifyInstallToken(ctx, token); err == nil {
		t.Fatal("install token still valid after a superuser exists")
	}
}

// tamper swaps the token's payload for one that lives a year, keeping the
// signature.
func tamper(token, id string) string {
	parts := strings.Split(token, ".")
	payload := jwt.MapClaims{"id": id, "type": "auth", "collectionId": migrations.SuperusersCollectionID, "refreshable": true, "exp": time.Now().AddDate(1, 0, 0).Unix()}
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, payload).SigningString()
	return strings.Join(append(strings.Split(forged, ".")[:2], parts[2]), ".")
}
