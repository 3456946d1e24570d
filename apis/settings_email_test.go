package apis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/mailer/smtptest"
)

// TestSettingsTestEmail sends every template through a fake SMTP server
// configured over the settings API.
func TestSettingsTestEmail(t *testing.T) {
	t.Parallel()
	srv := smtptest.NewServer(t, smtptest.Options{Username: "mailer", Password: "s3cret"})
	e := newEnv(t, coretest.NewApp(t, coretest.WithRealMailer()))
	const path = "/api/settings/test/email"
	failed := `"message":"Failed to send the test email."`
	smtpOn := fmt.Sprintf(`{"smtp":{"enabled":true,"host":"%s","port":%d,"username":"mailer","password":"s3cret"},
		"meta":{"appName":"Hatch & Co","appURL":"https://hatch.test","senderName":"Hatch","senderAddress":"noreply@hatch.test"}}`, srv.Host(), srv.Port())

	e.run(t, []scenario{
		{name: "guest", method: "POST", path: path, body: `{"email":"a@example.com","template":"otp"}`, wantStatus: 401},
		{name: "smtp off outside dev mode", method: "POST", path: path, token: "superuser",
			body: `{"email":"a@example.com","template":"otp"}`, wantStatus: 400,
			wantContent: []string{`"message":"Failed to send the test email. Raw error: \nsmtp is not enabled in the mail settings"`}},
		{name: "configure smtp", method: "PATCH", path: "/api/settings", token: "superuser", body: smtpOn, wantStatus: 200,
			wantContent: []string{fmt.Sprintf(`"smtp":{"enabled":true,"port":%d,"host":"127.0.0.1","username":"mailer","authMethod":""`, srv.Port())},
			notContent:  []string{"s3cret"}},
		{name: "empty body", method: "POST", path: path, token: "superuser", body: `{}`, wantStatus: 400,
			wantContent: []string{failed, `"email":{"code":"validation_required","message":"Cannot be blank."}`, `"template":{"code":"validation_required"`}},
		{name: "bad values", method: "POST", path: path, token: "superuser",
			body: `{"email":"Ann <a@example.com>","template":"welcome","collection":"nope"}`, wantStatus: 400,
			wantContent: []string{failed, `"email":{"code":"validation_is_email","message":"Must be a valid email address."}`,
				`"template":{"code":"validation_in_invalid","message":"Must be a valid value."}`,
				`"collection":{"code":"validation_invalid_auth_collection","message":"Must be a valid auth collection id or name."}`}},
		{name: "malformed", method: "POST", path: path, token: "superuser", body: `{"email":`, wantStatus: 400},
		{name: "create users", method: "POST", path: "/api/collections", token: "superuser", wantStatus: 200,
			body: `{"name":"users","type":"auth","fields":[{"name":"name","type":"text"}]}`},
		{name: "create posts", method: "POST", path: "/api/collections", token: "superuser", wantStatus: 200,
			body: `{"name":"posts","type":"base"}`},
		{name: "base collection", method: "POST", path: path, token: "superuser", wantStatus: 400,
			body:        `{"email":"a@example.com","template":"otp","collection":"posts"}`,
			wantContent: []string{`"collection":{"code":"validation_invalid_auth_collection"`}},
	})

	for i, tc := range []struct{ template, collection, subject, body string }{
		{"verification", "", "Confirm your email for Hatch & Co", `href="https://hatch.test/_/#/auth/confirm-verification/TEST_TOKEN"`},
		{"password-reset", "_superusers", "Choose a new Hatch & Co password", `href="https://hatch.test/_/#/auth/confirm-password-reset/TEST_TOKEN"`},
		{"email-change", "users", "Confirm your new Hatch & Co email address", `href="https://hatch.test/_/#/auth/confirm-email-change/TEST_TOKEN"`},
		{"otp", "users", "Your Hatch & Co sign-in code", "<strong>123456</strong>"},
		{"login-alert", "users", "New sign-in to your Hatch & Co account", "127.0.0.1, test browser"},
	} {
		to := fmt.Sprintf("to%d@example.com", i)
		e.run(t, []scenario{{name: "send " + tc.template, method: "POST", path: path, token: "superuser", wantStatus: 204,
			body: fmt.Sprintf(`{"email":%q,"template":%q,"collection":%q}`, to, tc.template, tc.collection),
			check: func(t *testing.T, _ *httptest.ResponseRecorder) {
				got := srv.Last()
				if got == nil || len(got.To) != 1 || got.To[0] != to || got.From != "noreply@hatch.test" || got.User != "mailer" {
					t.Fatalf("received %+v", got)
				}
				if got.Subject() != tc.subject {
					t.Errorf("subject = %q, want %q", got.Subject(), tc.subject)
				}
				html := got.Part("text/html")
				if !strings.Contains(html, tc.body) || !strings.Contains(html, "Hatch &amp; Co") {
					t.Errorf("html lacks %q:\n%s", tc.body, html)
				}
				if got.Part("text/plain") == "" {
					t.Error("no text alternative")
				}
			}}})
	}
	if n := len(srv.Messages()); n != 5 {
		t.Fatalf("server got %d messages, want 5", n)
	}

	// A failure at the server is PocketBase's 400 without the raw error.
	srv.Close()
	e.run(t, []scenario{{name: "server down", method: "POST", path: path, token: "superuser", wantStatus: 400,
		body:        `{"email":"a@example.com","template":"verification"}`,
		wantContent: []string{`{"data":{},"message":"Failed to send the test email.","status":400}`}}})
}

// TestSettingsTestEmailCapturedByDefault sends through the test kit's
// mailbox, with a stored template whose record placeholders the stand-in
// record fills.
func TestSettingsTestEmailCapturedByDefault(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	e := newEnv(t, app)
	e.run(t, []scenario{
		{name: "send", method: "POST", path: "/api/settings/test/email", token: "superuser", wantStatus: 204,
			body: `{"email":"cap@example.com","template":"otp"}`},
		{name: "create users", method: "POST", path: "/api/collections", token: "superuser", wantStatus: 200,
			body: `{"name":"users","type":"auth","fields":[{"name":"name","type":"text"},{"name":"note","type":"text","hidden":true}]}`},
	})
	got, ok := coretest.Mailbox(t, app).LastTo("cap@example.com")
	if !ok || got.Subject != "Your Acme sign-in code" || !strings.Contains(got.HTML, "123456") || !strings.Contains(got.Text, "123456") {
		t.Fatalf("captured %+v %v", got, ok)
	}
	if got.From.Address != "support@example.com" {
		t.Errorf("from = %+v", got.From)
	}

	// Store an OTP template (not yet settable through the collections API).
	users, err := app.Collections().Find("users")
	if err != nil {
		t.Fatal(err)
	}
	auth := *users.Auth
	auth.OTP = json.RawMessage(`{"enabled":true,"emailTemplate":{"subject":"Code for {RECORD:name}","body":"<p>{RECORD:name} {RECORD:note}: {OTP}</p>"}}`)
	opts, _ := json.Marshal(&auth)
	if err := app.DB(ctx).Exec(`UPDATE "_collections" SET "options" = ? WHERE "id" = ?`, string(opts), users.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := app.Collections().Reload(ctx); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{{name: "stored template", method: "POST", path: "/api/settings/test/email", token: "superuser", wantStatus: 204,
		body: `{"email":"rec@example.com","template":"otp","collection":"users"}`}})
	got, _ = coretest.Mailbox(t, app).LastTo("rec@example.com")
	if got.Subject != "Code for __test_name__" || !strings.Contains(got.HTML, "<p>__test_name__ {RECORD:note}: 123456</p>") {
		t.Fatalf("captured %+v", got)
	}
}
