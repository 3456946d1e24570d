package core

import (
	"encoding/json"
	"fmt"
	"html"
	"net/mail"
	"strings"
)

// The placeholders of auth email templates, PocketBase's. Besides these,
// {RECORD:fieldName} stands for a field of the addressed record (hidden
// fields excepted).
const (
	EmailPlaceholderAppName   = "{APP_NAME}"
	EmailPlaceholderAppURL    = "{APP_URL}"
	EmailPlaceholderToken     = "{TOKEN}"
	EmailPlaceholderOTP       = "{OTP}"
	EmailPlaceholderOTPID     = "{OTP_ID}"
	EmailPlaceholderAlertInfo = "{ALERT_INFO}"
)

// AuthEmail names one of the emails an auth collection sends. The values
// are those of the test-email endpoint's "template".
type AuthEmail string

// The auth emails.
const (
	AuthEmailVerification  AuthEmail = "verification"
	AuthEmailPasswordReset AuthEmail = "password-reset"
	AuthEmailEmailChange   AuthEmail = "email-change"
	AuthEmailOTP           AuthEmail = "otp"
	AuthEmailLoginAlert    AuthEmail = "login-alert"
)

// AuthEmails lists every AuthEmail.
func AuthEmails() []AuthEmail {
	return []AuthEmail{AuthEmailVerification, AuthEmailPasswordReset, AuthEmailEmailChange, AuthEmailOTP, AuthEmailLoginAlert}
}

// EmailTemplate is an email's subject and HTML body with placeholders, as
// PocketBase stores it in an auth collection's options.
type EmailTemplate struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// DefaultEmailTemplate returns the template an auth collection uses for
// kind while its own is empty; false for an unknown kind.
func DefaultEmailTemplate(kind AuthEmail) (EmailTemplate, bool) {
	t, ok := defaultEmailTemplates[kind]
	return t, ok
}

// EmailTemplate returns the collection's template for kind: the stored one
// (verificationTemplate, resetPasswordTemplate, confirmEmailChangeTemplate,
// otp.emailTemplate, authAlert.emailTemplate), with the default's subject
// or body standing in for an empty one.
func (o *AuthOptions) EmailTemplate(kind AuthEmail) (EmailTemplate, error) {
	def, ok := DefaultEmailTemplate(kind)
	if !ok {
		return EmailTemplate{}, fmt.Errorf("unknown auth email %q", kind)
	}
	var raw json.RawMessage
	nested := false
	switch kind {
	case AuthEmailVerification:
		raw = o.VerificationTemplate
	case AuthEmailPasswordReset:
		raw = o.ResetPasswordTemplate
	case AuthEmailEmailChange:
		raw = o.ConfirmEmailChangeTemplate
	case AuthEmailOTP:
		raw, nested = o.OTP, true
	case AuthEmailLoginAlert:
		raw, nested = o.AuthAlert, true
	}
	var t EmailTemplate
	if len(raw) > 0 && string(raw) != "null" {
		var err error
		if nested {
			var holder struct {
				EmailTemplate EmailTemplate `json:"emailTemplate"`
			}
			err = json.Unmarshal(raw, &holder)
			t = holder.EmailTemplate
		} else {
			err = json.Unmarshal(raw, &t)
		}
		if err != nil {
			return EmailTemplate{}, fmt.Errorf("%s email template: %w", kind, err)
		}
	}
	if strings.TrimSpace(t.Subject) == "" {
		t.Subject = def.Subject
	}
	if strings.TrimSpace(t.Body) == "" {
		t.Body = def.Body
	}
	return t, nil
}

// RenderAuthEmail renders collection's kind template for record, addressed
// to the record's email and sent from settings.meta's sender. data adds
// or overrides placeholders, keyed with their braces
// (EmailPlaceholderToken: token). Placeholders are replaced in one pass,
// so values are never themselves expanded; in the body every value is
// HTML-escaped, in the subject none is. The body is wrapped in the HTML
// layout. An email-change message goes to the new address: the caller
// replaces To.
func RenderAuthEmail(app *App, collection *Collection, kind AuthEmail, record *Record, data map[string]string) (*MailMessage, error) {
	if collection == nil && record != nil {
		collection = record.Collection()
	}
	if collection == nil || collection.Auth == nil {
		return nil, fmt.Errorf("render %s email: not an auth collection", kind)
	}
	tmpl, err := collection.Auth.EmailTemplate(kind)
	if err != nil {
		return nil, err
	}
	to := ""
	if record != nil {
		to = record.GetString("email")
	}
	if to == "" {
		return nil, fmt.Errorf("render %s email: the record has no email", kind)
	}
	meta := app.Settings().Meta
	values := map[string]string{
		EmailPlaceholderAppName: meta.AppName,
		EmailPlaceholderAppURL:  strings.TrimRight(meta.AppURL, "/"),
	}
	for _, f := range collection.Fields {
		if !f.Hidden {
			values["{RECORD:"+f.Name+"}"] = record.GetString(f.Name)
		}
	}
	for k, v := range data {
		values[k] = v
	}
	return &MailMessage{
		From:    mail.Address{Name: meta.SenderName, Address: meta.SenderAddress},
		To:      []mail.Address{{Address: to}},
		Subject: replacePlaceholders(tmpl.Subject, values, subjectValue),
		HTML:    emailLayout(replacePlaceholders(tmpl.Body, values, html.EscapeString)),
	}, nil
}

// subjectValue keeps a value on the subject's single line.
func subjectValue(v string) string {
	return strings.Join(strings.Fields(v), " ")
}

func replacePlaceholders(s string, values map[string]string, encode func(string) string) string {
	pairs := make([]string, 0, 2*len(values))
	for k, v := range values {
		pairs = append(pairs, k, encode(v))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// emailLayout wraps a rendered body in a minimal, mail-client-friendly
// page. The btn class styles the call-to-action links of the default
// templates (and of PocketBase's, which use the same class).
func emailLayout(body string) string {
	return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{margin:0;padding:24px 12px;background:#f3f4f6;color:#1f2328;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.55}
.hg-card{max-width:560px;margin:0 auto;padding:24px 28px;background:#fff;border-radius:8px}
a{color:#1d4ed8}
.btn{display:inline-block;padding:10px 18px;border-radius:6px;background:#1d4ed8;color:#fff !important;font-weight:600;text-decoration:none}
.hg-code{font-size:24px;letter-spacing:4px}
</style>
</head>
<body>
<div class="hg-card">
` + body + `
</div>
</body>
</html>
`
}

// defaultEmailTemplates are Hatchgrid's own wording around PocketBase's
// placeholders and dashboard confirmation routes.
var defaultEmailTemplates = map[AuthEmail]EmailTemplate{
	AuthEmailVerification: {
		Subject: "Confirm your email for " + EmailPlaceholderAppName,
		Body: `<p>Hi,</p>
<p>Welcome to ` + EmailPlaceholderAppName + `! Please confirm that this email address is yours.</p>
<p><a class="btn" href="` + EmailPlaceholderAppURL + `/_/#/auth/confirm-verification/` + EmailPlaceholderToken + `" target="_blank" rel="noopener">Confirm my email</a></p>
<p>If you did not sign up, you can ignore this message.</p>
<p>The ` + EmailPlaceholderAppName + ` team</p>`,
	},
	AuthEmailPasswordReset: {
		Subject: "Choose a new " + EmailPlaceholderAppName + " password",
		Body: `<p>Hi,</p>
<p>We received a request to reset the password of your ` + EmailPlaceholderAppName + ` account. Use the link below to choose a new one.</p>
<p><a class="btn" href="` + EmailPlaceholderAppURL + `/_/#/auth/confirm-password-reset/` + EmailPlaceholderToken + `" target="_blank" rel="noopener">Choose a new password</a></p>
<p>If you did not ask for this, ignore this message: your password stays as it is.</p>
<p>The ` + EmailPlaceholderAppName + ` team</p>`,
	},
	AuthEmailEmailChange: {
		Subject: "Confirm your new " + EmailPlaceholderAppName + " email address",
		Body: `<p>Hi,</p>
<p>Someone asked to move your ` + EmailPlaceholderAppName + ` account to this email address. Confirm the change with the link below.</p>
<p><a class="btn" href="` + EmailPlaceholderAppURL + `/_/#/auth/confirm-email-change/` + EmailPlaceholderToken + `" target="_blank" rel="noopener">Confirm the new address</a></p>
<p>If you did not ask for this, ignore this message and nothing changes.</p>
<p>The ` + EmailPlaceholderAppName + ` team</p>`,
	},
	AuthEmailOTP: {
		Subject: "Your " + EmailPlaceholderAppName + " sign-in code",
		Body: `<p>Hi,</p>
<p>Here is your one-time code to sign in to ` + EmailPlaceholderAppName + `:</p>
<p class="hg-code"><strong>` + EmailPlaceholderOTP + `</strong></p>
<p>The code works once and only for a short time. If you did not try to sign in, you can ignore this message.</p>
<p>The ` + EmailPlaceholderAppName + ` team</p>`,
	},
	AuthEmailLoginAlert: {
		Subject: "New sign-in to your " + EmailPlaceholderAppName + " account",
		Body: `<p>Hi,</p>
<p>Your ` + EmailPlaceholderAppName + ` account was just used to sign in from a new location:</p>
<p><em>` + EmailPlaceholderAlertInfo + `</em></p>
<p>If this was you, there is nothing to do.</p>
<p><strong>If it was not you, change your ` + EmailPlaceholderAppName + ` password right away.</strong></p>
<p>The ` + EmailPlaceholderAppName + ` team</p>`,
	},
}
