package core_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/migrations"
)

func TestSuperuserUpsertCreatesThenUpdates(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()

	first, err := app.Superusers().Upsert(ctx, "A@B.co", "Secret12345")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.PasswordHash, "$2a$") || first.PasswordHash == "Secret12345" {
		t.Fatalf("password stored as %q, want a bcrypt hash", first.PasswordHash)
	}
	if len(first.ID) != 15 || !first.Verified {
		t.Fatalf("new superuser = %+v", first)
	}

	second, err := app.Superusers().Upsert(ctx, "a@b.co", "Another12345")
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID {
		t.Fatalf("upsert created %s instead of updating %s", second.ID, first.ID)
	}
	if second.TokenKey == first.TokenKey {
		t.Fatal("password change kept the token key")
	}
	if n, _ := app.Superusers().Count(ctx); n != 1 {
		t.Fatalf("Count = %d, want 1", n)
	}
	if _, err := app.Superusers().AuthWithPassword(ctx, "a@b.co", "Secret12345"); err == nil {
		t.Fatal("old password still works")
	}
	if _, err := app.Superusers().AuthWithPassword(ctx, "A@B.CO", "Another12345"); err != nil {
		t.Fatalf("new password (case-insensitive email): %v", err)
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

func TestSuperuserSaveHookCanVeto(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	app.OnSuperuserSave().BindFunc(func(e *core.SuperuserSaveEvent) error {
		if strings.HasSuffix(e.Superuser.Email, "@blocked.example") {
			return core.Invalid("Failed to save superuser.", map[string]core.FieldError{
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
	token, err := app.Superusers().NewAuthToken(ctx, su)
	if err != nil {
		t.Fatal(err)
	}
	got, refreshable, err := app.Superusers().FindByAuthToken(ctx, token)
	if err != nil || got.ID != su.ID || !refreshable {
		t.Fatalf("valid token: %v, %v, %v", got, refreshable, err)
	}
	static, err := app.Superusers().NewStaticAuthToken(ctx, su, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, refreshable, err := app.Superusers().FindByAuthToken(ctx, static); err != nil || refreshable {
		t.Fatalf("static token: refreshable=%v err=%v", refreshable, err)
	}

	claims := func(overrides jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{
			"id": su.ID, "type": "auth", "collectionId": migrations.SuperusersCollectionID,
			"refreshable": true, "exp": now.Add(time.Hour).Unix(),
		}
		for k, v := range overrides {
			c[k] = v
		}
		return c
	}
	secret := superuserSecret(t, app)
	hs := func(c jwt.MapClaims, key string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rs256, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, claims(nil)).SignedString(rsaKey)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, claims(nil)).SignedString([]byte(su.TokenKey + secret))

	forged := map[string]string{
		"alg none":           none,
		"RS256":              rs256,
		"HS512 with the key": hs512,
		"wrong secret":       hs(claims(nil), su.TokenKey+"not-the-secret-at-all-xxxxxxxxxxxxxxxxxxxxx"),
		"expired":            hs(claims(jwt.MapClaims{"exp": now.Add(-time.Second).Unix()}), su.TokenKey+secret),
		"no exp":             hs(claims(jwt.MapClaims{"exp": nil}), su.TokenKey+secret),
		"other collection":   hs(claims(jwt.MapClaims{"collectionId": "_pb_users_auth_"}), su.TokenKey+secret),
		"other type":         hs(claims(jwt.MapClaims{"type": "file"}), su.TokenKey+secret),
		"unknown id":         hs(claims(jwt.MapClaims{"id": "aaaaaaaaaaaaaaa"}), su.TokenKey+secret),
		"garbage":            "not.a.jwt",
		"tampered payload":   tamper(token, su.ID),
	}
	for name, tok := range forged {
		if _, _, err := app.Superusers().FindByAuthToken(ctx, tok); err != core.ErrInvalidToken {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}

	// A token signed correctly is accepted, and dies with the password.
	if _, _, err := app.Superusers().FindByAuthToken(ctx, hs(claims(nil), su.TokenKey+secret)); err != nil {
		t.Fatalf("hand-signed valid token: %v", err)
	}
	if _, err := app.Superusers().Upsert(ctx, "a@b.co", "Changed12345"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.Superusers().FindByAuthToken(ctx, token); err != core.ErrInvalidToken {
		t.Fatalf("token issued before the password change: %v", err)
	}

	// Expiry follows the App's clock.
	su2, _ := app.Superusers().FindByEmail(ctx, "a@b.co")
	fresh, _ := app.Superusers().NewAuthToken(ctx, su2)
	clock = func() time.Time { return now.Add(86400*time.Second + time.Minute) }
	if _, _, err := app.Superusers().FindByAuthToken(ctx, fresh); err != core.ErrInvalidToken {
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
	// It is not an auth token.
	if _, _, err := app.Superusers().FindByAuthToken(ctx, token); err == nil {
		t.Fatal("install token accepted as an auth token")
	}
	expired, _ := app.Superusers().NewInstallToken(ctx, -time.Second)
	if err := app.Superusers().VerifyInstallToken(ctx, expired); err == nil {
		t.Fatal("expired install token accepted")
	}
	// Creating the first superuser spends it.
	if _, err := app.Superusers().Upsert(ctx, "a@b.co", "Secret12345"); err != nil {
		t.Fatal(err)
	}
	if err := app.Superusers().VerifyInstallToken(ctx, token); err == nil {
		t.Fatal("install token still valid after a superuser exists")
	}
}

// superuserSecret reads the _superusers auth token secret from the database,
// to sign tokens by hand.
func superuserSecret(t *testing.T, app *core.App) string {
	t.Helper()
	var raw core.JSONRaw
	err := app.DB(context.Background()).Table("_collections").Select("options").
		Where(`"id" = ?`, migrations.SuperusersCollectionID).Row().Scan(&raw)
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		AuthToken struct {
			Secret string `json:"secret"`
		} `json:"authToken"`
	}
	if err := json.Unmarshal(raw, &opts); err != nil || opts.AuthToken.Secret == "" {
		t.Fatalf("decode options: %v", err)
	}
	return opts.AuthToken.Secret
}

// tamper swaps the token's payload for one that lives a year, keeping the
// signature.
func tamper(token, id string) string {
	parts := strings.Split(token, ".")
	payload := jwt.MapClaims{"id": id, "type": "auth", "collectionId": migrations.SuperusersCollectionID, "refreshable": true, "exp": time.Now().AddDate(1, 0, 0).Unix()}
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, payload).SigningString()
	return strings.Join(append(strings.Split(forged, ".")[:2], parts[2]), ".")
}
