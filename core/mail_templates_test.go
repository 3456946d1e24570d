package core_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestDefaultEmailTemplates(t *testing.T) {
	t.Parallel()
	needs := map[core.AuthEmail][]string{
		core.AuthEmailVerification:  {core.EmailPlaceholderAppURL + "/_/#/auth/confirm-verification/" + core.EmailPlaceholderToken},
		core.AuthEmailPasswordReset: {core.EmailPlaceholderAppURL + "/_/#/auth/confirm-password-reset/" + core.EmailPlaceholderToken},
		core.AuthEmailEmailChange:   {core.EmailPlaceholderAppURL + "/_/#/auth/confirm-email-change/" + core.EmailPlaceholderToken},
		core.AuthEmailOTP:           {core.EmailPlaceholderOTP},
		core.AuthEmailLoginAlert:    {core.EmailPlaceholderAlertInfo},
	}
	for _, kind := range core.AuthEmails() {
		tmpl, ok := core.DefaultEmailTemplate(kind)
		if !ok || tmpl.Subject == "" || !strings.Contains(tmpl.Body, core.EmailPlaceholderAppName) {
			t.Errorf("%s: default = %+v, %v", kind, tmpl, ok)
		}
		for _, want := range needs[kind] {
			if !strings.Contains(tmpl.Body, want) {
				t.Errorf("%s: body lacks %s", kind, want)
			}
		}
		// An auth collection without stored templates uses the defaults.
		got, err := (&core.AuthOptions{}).EmailTemplate(kind)
		if err != nil || got != tmpl {
			t.Errorf("%s: empty options give %+v, %v", kind, got, err)
		}
	}
	if _, ok := core.DefaultEmailTemplate("nope"); ok {
		t.Error("an unknown kind has a default")
	}
}

func TestStoredEmailTemplates(t *testing.T) {
	t.Parallel()
	opts := &core.AuthOptions{
		VerificationTemplate:       json.RawMessage(`{"subject":"V {APP_NAME}","body":"<p>v</p>"}`),
		ResetPasswordTemplate:      json.RawMessage(`{"subject":"","body":"<p>r</p>"}`),
		ConfirmEmailChangeTemplate: json.RawMessage(`null`),
		OTP:                        json.RawMessage(`{"enabled":true,"duration":180,"length":8,"emailTemplate":{"subject":"Code {OTP}","body":""}}`),
		AuthAlert:                  json.RawMessage(`{"enabled":true,"emailTemplate":{"subject":"Alert","body":"<p>{ALERT_INFO}</p>"}}`),
	}
	def := func(kind core.AuthEmail) core.EmailTemplate { d, _ := core.DefaultEmailTemplate(kind); return d }
	for kind, want := range map[core.AuthEmail]core.EmailTemplate{
		core.AuthEmailVerification:  {Subject: "V {APP_NAME}", Body: "<p>v</p>"},
		core.AuthEmailPasswordReset: {Subject: def(core.AuthEmailPasswordReset).Subject, Body: "<p>r</p>"},
		core.AuthEmailEmailChange:   def(core.AuthEmailEmailChange),
		core.AuthEmailOTP:           {Subject: "Code {OTP}", Body: def(core.AuthEmailOTP).Body},
		core.AuthEmailLoginAlert:    {Subject: "Alert", Body: "<p>{ALERT_INFO}</p>"},
	} {
		if got, err := opts.EmailTemplate(kind); err != nil || got != want {
			t.Errorf("%s = %+v, %v; want %+v", kind, got, err, want)
		}
	}
	if _, err := (&core.AuthOptions{OTP: json.RawMessage(`{"emailTemplate":"x"}`)}).EmailTemplate(core.AuthEmailOTP); err == nil {
		t.Error("a malformed template parsed")
	}
	if _, err := opts.EmailTemplate("nope"); err == nil {
		t.Error("an unknown kind rendered")
	}
}

// usersCollection creates an auth collection with a text, a number and a
// hidden field.
func usersCollection(t *testing.T, app *core.App) *core.Collection {
	t.Helper()
	c, err := app.Collections().Create(context.Background(), input(t, `{"name":"users","type":"auth","fields":[
		{"name":"name","type":"text"},{"name":"age","type":"number"},{"name":"note","type":"text","hidden":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRenderAuthEmail(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	s := app.Settings()
	s.Meta.AppName, s.Meta.AppURL = "Hatch & Co", "https://hatch.test/"
	s.Meta.SenderName, s.Meta.SenderAddress = "Hatch Support", "support@hatch.test"
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	c := usersCollection(t, app)
	rec := core.NewRecord(c)
	rec.Set("email", "ann@example.com")
	rec.Set("name", "<b>Ann</b> & {TOKEN}\r\nBcc: x")
	rec.Set("age", 42)
	rec.Set("note", "secret note")

	msg, err := core.RenderAuthEmail(app, c, core.AuthEmailVerification, rec, map[string]string{core.EmailPlaceholderToken: "tok.en-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.To) != 1 || msg.To[0].Address != "ann@example.com" || msg.From.Address != "support@hatch.test" || msg.From.Name != "Hatch Support" {
		t.Fatalf("addresses = %+v -> %+v", msg.From, msg.To)
	}
	if msg.Subject != "Confirm your email for Hatch & Co" {
		t.Errorf("subject = %q", msg.Subject)
	}
	for _, want := range []string{"<!DOCTYPE html>", `href="https://hatch.test/_/#/auth/confirm-verification/tok.en-1"`, "Welcome to Hatch &amp; Co!"} {
		if !strings.Contains(msg.HTML, want) {
			t.Errorf("body lacks %q:\n%s", want, msg.HTML)
		}
	}

	// A stored template with record placeholders: values are escaped in the
	// body, never expanded again, and hidden fields stay unresolved.
	custom := *c
	auth := *c.Auth
	auth.VerificationTemplate = json.RawMessage(`{"subject":"Hi {RECORD:name} ({APP_NAME})",
		"body":"<p>{RECORD:name}, {RECORD:age}, {RECORD:id}, {RECORD:note}, {RECORD:password}, {UNKNOWN}, {OTP}</p>"}`)
	custom.Auth = &auth
	msg, err = core.RenderAuthEmail(app, &custom, core.AuthEmailVerification, rec, map[string]string{core.EmailPlaceholderOTP: "<1>"})
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "Hi <b>Ann</b> & {TOKEN} Bcc: x (Hatch & Co)" {
		t.Errorf("subject = %q", msg.Subject)
	}
	want := "<p>&lt;b&gt;Ann&lt;/b&gt; &amp; {TOKEN}\r\nBcc: x, 42, , {RECORD:note}, {RECORD:password}, {UNKNOWN}, &lt;1&gt;</p>"
	if !strings.Contains(msg.HTML, want) {
		t.Errorf("body lacks %q:\n%s", want, msg.HTML)
	}
	if strings.Contains(msg.HTML, "secret note") {
		t.Error("a hidden field reached the email")
	}

	// The OTP template lives under otp.emailTemplate; a nil collection is
	// the record's.
	msg, err = core.RenderAuthEmail(app, nil, core.AuthEmailOTP, rec, map[string]string{core.EmailPlaceholderOTP: "123456"})
	if err != nil || !strings.Contains(msg.HTML, "<strong>123456</strong>") {
		t.Fatalf("otp = %v %+v", err, msg)
	}
}

func TestRenderAuthEmailErrors(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	users := usersCollection(t, app)
	posts, err := app.Collections().Create(context.Background(), input(t, `{"name":"posts","type":"base"}`))
	if err != nil {
		t.Fatal(err)
	}
	noEmail := core.NewRecord(users)
	withEmail := core.NewRecord(users)
	withEmail.Set("email", "a@example.com")
	for name, call := range map[string]func() (*core.MailMessage, error){
		"base collection": func() (*core.MailMessage, error) {
			return core.RenderAuthEmail(app, posts, core.AuthEmailOTP, core.NewRecord(posts), nil)
		},
		"no record": func() (*core.MailMessage, error) {
			return core.RenderAuthEmail(app, users, core.AuthEmailOTP, nil, nil)
		},
		"no email": func() (*core.MailMessage, error) {
			return core.RenderAuthEmail(app, users, core.AuthEmailOTP, noEmail, nil)
		},
		"unknown kind": func() (*core.MailMessage, error) { return core.RenderAuthEmail(app, users, "welcome", withEmail, nil) },
	} {
		if msg, err := call(); err == nil {
			t.Errorf("%s: rendered %+v", name, msg)
		}
	}
}
