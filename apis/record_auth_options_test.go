package apis_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// expiresIn returns how many seconds after now the JWT token expires.
func expiresIn(t *testing.T, token string, now time.Time) int64 {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Exp - now.Unix()
}

// tokenInto reads "token" from a JSON answer into dst.
func tokenInto(dst *string) func(t *testing.T, rec *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		var body struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Token == "" {
			t.Fatalf("no token in %s", rec.Body.String())
		}
		*dst = body.Token
	}
}

// The verification, password-reset and email-change mails use the
// collection's templates and placeholders, and every token type lasts the
// collection's duration for it.
func TestAuthFlowsUseCollectionOptions(t *testing.T) {
	t.Parallel()
	clock := &atomic.Int64{}
	clock.Store(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	app := coretest.NewApp(t, coretest.WithAppOptions(core.WithClock(now)))
	e := newEnv(t, app)
	settings := app.Settings()
	settings.Meta.AppName, settings.Meta.AppURL = "Hatch", "https://hatch.example.com/"
	if err := app.SaveSettings(context.Background(), settings); err != nil {
		t.Fatal(err)
	}

	var userToken, fileToken string
	e.run(t, []scenario{
		{name: "collection", method: "POST", path: "/api/collections", token: "superuser", wantStatus: 200,
			body: `{"name":"users","type":"auth","createRule":"","fields":[{"name":"name","type":"text"}],
				"verificationTemplate":{"subject":"Verify {RECORD:name} at {APP_NAME}","body":"<p>Hello {RECORD:name}</p><p>{APP_URL}/verify/{TOKEN}</p>"},
				"resetPasswordTemplate":{"subject":"Reset for {RECORD:name}","body":"<p>{APP_URL}/reset/{TOKEN}</p>"},
				"confirmEmailChangeTemplate":{"subject":"Change for {RECORD:email}","body":"<p>{APP_URL}/change/{TOKEN}</p>"},
				"authToken":{"duration":1000},"verificationToken":{"duration":2000},"passwordResetToken":{"duration":3000},
				"emailChangeToken":{"duration":4000},"fileToken":{"duration":50}}`},
		{name: "sign up", method: "POST", path: "/api/collections/users/records", wantStatus: 200,
			body: `{"email":"ann@example.com","name":"Ann","password":"Secret12345","passwordConfirm":"Secret12345"}`},
		{name: "sign in", method: "POST", path: "/api/collections/users/auth-with-password", wantStatus: 200,
			body: `{"identity":"ann@example.com","password":"Secret12345"}`, check: tokenInto(&userToken)},
	})
	e.run(t, []scenario{{name: "file token", method: "POST", path: "/api/files/token", token: userToken, wantStatus: 200, check: tokenInto(&fileToken)}})
	if got := expiresIn(t, userToken, now()); got != 1000 {
		t.Errorf("auth token lasts %ds, want 1000", got)
	}
	if got := expiresIn(t, fileToken, now()); got != 50 {
		t.Errorf("file token lasts %ds, want 50", got)
	}

	// mailed sends a flow's request and returns its mail to to and the
	// token after the marker in the mail's body.
	mailed := func(s scenario, to, marker string) (core.MailMessage, string) {
		t.Helper()
		s.wantStatus = 204
		m := coretest.AwaitMail(t, app, to, func() { e.run(t, []scenario{s}) })
		token := regexp.MustCompile(regexp.QuoteMeta(marker) + `([\w.-]+)`).FindStringSubmatch(m.HTML)
		if token == nil {
			t.Fatalf("%s: no %s link in %s", s.name, marker, m.HTML)
		}
		return core.MailMessage{Subject: m.Subject, HTML: m.HTML}, token[1]
	}
	verify, verifyToken := mailed(scenario{name: "request verification", method: "POST", path: "/api/collections/users/request-verification",
		body: `{"email":"ann@example.com"}`}, "ann@example.com", "https://hatch.example.com/verify/")
	if verify.Subject != "Verify Ann at Hatch" || !strings.Contains(verify.HTML, "<p>Hello Ann</p>") {
		t.Errorf("verification mail = %q %s", verify.Subject, verify.HTML)
	}
	reset, resetToken := mailed(scenario{name: "request reset", method: "POST", path: "/api/collections/users/request-password-reset",
		body: `{"email":"ann@example.com"}`}, "ann@example.com", "https://hatch.example.com/reset/")
	if reset.Subject != "Reset for Ann" {
		t.Errorf("reset subject = %q", reset.Subject)
	}
	change, changeToken := mailed(scenario{name: "request email change", method: "POST", path: "/api/collections/users/request-email-change",
		token: userToken, body: `{"newEmail":"new@example.com"}`}, "new@example.com", "https://hatch.example.com/change/")
	if change.Subject != "Change for ann@example.com" {
		t.Errorf("email change subject = %q", change.Subject)
	}
	for name, c := range map[string]struct {
		token string
		want  int64
	}{"verification": {verifyToken, 2000}, "password reset": {resetToken, 3000}, "email change": {changeToken, 4000}} {
		if got := expiresIn(t, c.token, now()); got != c.want {
			t.Errorf("%s token lasts %ds, want %d", name, got, c.want)
		}
	}

	// The durations hold: each token works until its own end.
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	advance(51 * time.Second)
	if _, _, err := app.Auth().ParseToken(context.Background(), fileToken, core.TokenTypeFile); !errors.Is(err, core.ErrInvalidToken) {
		t.Errorf("file token after 51s: %v, want invalid", err)
	}
	e.run(t, []scenario{{name: "auth token at 51s", method: "POST", path: "/api/collections/users/auth-refresh", token: userToken, wantStatus: 200}})
	advance(950 * time.Second) // 1001s
	e.run(t, []scenario{{name: "auth token at 1001s", method: "POST", path: "/api/collections/users/auth-refresh", token: userToken, wantStatus: 401}})
	advance(998 * time.Second) // 1999s
	if _, _, err := app.Auth().ParseToken(context.Background(), verifyToken, core.TokenTypeVerification); err != nil {
		t.Errorf("verification token at 1999s: %v", err)
	}
	advance(2 * time.Second) // 2001s
	e.run(t, []scenario{{name: "verification at 2001s", method: "POST", path: "/api/collections/users/confirm-verification",
		body: `{"token":"` + verifyToken + `"}`, wantStatus: 400, wantContent: []string{`"token":{"code":"validation_invalid_token"`}}})
}

// A new secret for one token type revokes the tokens of that type issued
// before it, and only those; an empty secret keeps the stored one.
func TestAuthTokenSecretRotation(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	mustCollection(t, app, `{"name":"users","type":"auth","createRule":""}`)
	rec := mustRecord(t, app, "users", map[string]any{"email": "ann@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345"})
	var authToken string
	e.run(t, []scenario{{name: "sign in", method: "POST", path: "/api/collections/users/auth-with-password", wantStatus: 200,
		body: `{"identity":"ann@example.com","password":"Secret12345"}`, check: tokenInto(&authToken)}})
	fileToken, err := app.Auth().NewToken(rec, core.TokenTypeFile, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	verifyToken, err := app.Auth().NewToken(rec, core.TokenTypeVerification, 0, map[string]any{"email": "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	valid := func(token, typ string) bool {
		_, _, err := app.Auth().ParseToken(context.Background(), token, typ)
		return err == nil
	}

	var newToken string
	e.run(t, []scenario{
		{name: "empty secret keeps it", method: "PATCH", path: "/api/collections/users", token: "superuser",
			body: `{"authToken":{"secret":"","duration":3600}}`, wantStatus: 200, notContent: []string{`"secret"`}},
		{name: "auth token still works", method: "POST", path: "/api/collections/users/auth-refresh", token: authToken, wantStatus: 200},
		{name: "rotate the auth secret", method: "PATCH", path: "/api/collections/users", token: "superuser",
			body: `{"authToken":{"secret":"` + strings.Repeat("r", 50) + `"}}`, wantStatus: 200, notContent: []string{`"secret"`, "rrrrr"}},
		{name: "old auth token revoked", method: "POST", path: "/api/collections/users/auth-refresh", token: authToken, wantStatus: 401},
		{name: "sign in again", method: "POST", path: "/api/collections/users/auth-with-password", wantStatus: 200,
			body: `{"identity":"ann@example.com","password":"Secret12345"}`, check: tokenInto(&newToken)},
	})
	e.run(t, []scenario{{name: "new auth token works", method: "POST", path: "/api/collections/users/auth-refresh", token: newToken, wantStatus: 200}})
	if !valid(fileToken, core.TokenTypeFile) || !valid(verifyToken, core.TokenTypeVerification) {
		t.Fatal("rotating the auth token secret revoked tokens of other types")
	}

	e.run(t, []scenario{
		{name: "rotate the verification secret", method: "PATCH", path: "/api/collections/users", token: "superuser",
			body: `{"verificationToken":{"secret":"` + strings.Repeat("v", 30) + `"}}`, wantStatus: 200},
		{name: "old verification token revoked", method: "POST", path: "/api/collections/users/confirm-verification",
			body: `{"token":"` + verifyToken + `"}`, wantStatus: 400, wantContent: []string{`"token":{"code":"validation_invalid_token"`}},
		{name: "auth token unaffected", method: "POST", path: "/api/collections/users/auth-refresh", token: newToken, wantStatus: 200},
	})
	if !valid(fileToken, core.TokenTypeFile) {
		t.Error("rotating the verification secret revoked a file token")
	}
}
